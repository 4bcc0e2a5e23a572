#!/usr/bin/env bun
// A minimal, fast fake LLM upstream for the benchmark (not the test fakes: those record and
// validate every request, which would make the upstream the bottleneck). Every answer is built
// once at start-up, so the per-request cost is reading the body and writing prebuilt bytes (a
// stream chunk adds one small string: its time stamp).
//
//   POST [/s/<chunks>/<delayMs>]/v1/chat/completions   OpenAI: JSON, or SSE when `"stream":true`
//   POST [/s/<chunks>/<delayMs>]/v1/messages           Anthropic: JSON, or SSE when `"stream":true`
//   POST [/s/<chunks>/<delayMs>]/api/chat              Ollama: NDJSON unless `"stream":false`
//
// A stream sends its first chunk with the headers, then one chunk every `delayMs` (0 = as fast as
// the socket takes them), each flushed as its own write. Content chunk i carries the text
// `tok_<i>@<epoch ms> `, so a client can count how many upstream chunks each received write
// carried and how long each took to arrive.
// Prints `{"port":N}` on stdout once listening.

const DEFAULT_CHUNKS = 50;
const CREATED = 1_700_000_000;

interface Shape {
  chunks: number;
  delayMs: number;
}

/** `/s/50/5/v1/chat/completions` → { chunks: 50, delayMs: 5 }, rest "/v1/chat/completions". */
function parsePath(path: string): { shape: Shape; rest: string } {
  if (!path.startsWith("/s/")) return { shape: { chunks: DEFAULT_CHUNKS, delayMs: 0 }, rest: path };
  const [, , chunks, delay, ...rest] = path.split("/");
  const n = Math.min(Math.max(Number(chunks) || DEFAULT_CHUNKS, 1), 100_000);
  return { shape: { chunks: n, delayMs: Math.max(Number(delay) || 0, 0) }, rest: `/${rest.join("/")}` };
}

/** Content chunk i: its index and the epoch time (ms, µs precision) it was written at, so the
 *  client can tell how long each chunk took to reach it. */
const stamp = (i: number) => `tok_${i}@${(performance.timeOrigin + performance.now()).toFixed(3)} `;

/** How one wire frames a stream: content chunk i (chunk 0 also opens the answer), and the end. */
interface Framer {
  chunk(i: number, text: string): string;
  tail(chunks: number): string;
}

// ---- OpenAI ------------------------------------------------------------------------------------

const openaiJson = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: CREATED,
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
});

const OPENAI_HEAD = `{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":${CREATED},"model":"bench-model","choices":`;
const openaiFramer: Framer = {
  chunk(i, text) {
    const delta = i === 0 ? `{"role":"assistant","content":"${text}"}` : `{"content":"${text}"}`;
    return `data: ${OPENAI_HEAD}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]}\n\n`;
  },
  tail: (chunks) =>
    `data: ${OPENAI_HEAD}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n` +
    `data: ${OPENAI_HEAD}[],"usage":{"prompt_tokens":42,"completion_tokens":${chunks},"total_tokens":${42 + chunks}}}\n\n` +
    "data: [DONE]\n\n",
};

// ---- Anthropic ---------------------------------------------------------------------------------

const anthropicJson = JSON.stringify({
  id: "msg_bench",
  type: "message",
  role: "assistant",
  model: "bench-claude",
  content: [{ type: "text", text: "Hello from the bench upstream." }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 42, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
});

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const ANTHROPIC_OPEN =
  sse("message_start", {
    type: "message_start",
    message: { id: "msg_bench", type: "message", role: "assistant", model: "bench-claude", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 42, output_tokens: 1 } },
  }) + sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });

const anthropicFramer: Framer = {
  chunk(i, text) {
    const delta = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}\n\n`;
    return i === 0 ? ANTHROPIC_OPEN + delta : delta;
  },
  tail: (chunks) =>
    sse("content_block_stop", { type: "content_block_stop", index: 0 }) +
    sse("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: chunks } }) +
    sse("message_stop", { type: "message_stop" }),
};

// ---- Ollama ------------------------------------------------------------------------------------

const OLLAMA_AT = "2025-01-01T00:00:00.000000Z";
const ollamaDone = (chunks: number) =>
  `"done":true,"done_reason":"stop","total_duration":1000000,"load_duration":1000,"prompt_eval_count":42,"prompt_eval_duration":1000,"eval_count":${chunks},"eval_duration":1000000}`;

const ollamaJson = `{"model":"bench-llama","created_at":"${OLLAMA_AT}","message":{"role":"assistant","content":"Hello from the bench upstream."},${ollamaDone(7)}\n`;

const ollamaFramer: Framer = {
  chunk: (_i, text) => `{"model":"bench-llama","created_at":"${OLLAMA_AT}","message":{"role":"assistant","content":"${text}"},"done":false}\n`,
  tail: (chunks) => `{"model":"bench-llama","created_at":"${OLLAMA_AT}","message":{"role":"assistant","content":""},${ollamaDone(chunks)}\n`,
};

// ---- serving -----------------------------------------------------------------------------------

type Wire = "openai" | "anthropic" | "ollama";
const FRAMERS: Record<Wire, Framer> = { openai: openaiFramer, anthropic: anthropicFramer, ollama: ollamaFramer };
const STREAM_TYPE: Record<Wire, string> = {
  openai: "text/event-stream",
  anthropic: "text/event-stream",
  ollama: "application/x-ndjson",
};

function streamResponse(wire: Wire, shape: Shape, signal: AbortSignal): Response {
  const framer = FRAMERS[wire];
  const stream = new ReadableStream({
    type: "direct",
    async pull(ctrl: ReadableStreamDirectController) {
      try {
        for (let i = 0; i < shape.chunks; i++) {
          if (i > 0 && shape.delayMs > 0) await Bun.sleep(shape.delayMs);
          if (signal.aborted) return;
          ctrl.write(framer.chunk(i, stamp(i)));
          await ctrl.flush();
        }
        ctrl.write(framer.tail(shape.chunks));
        await ctrl.flush();
        ctrl.close();
      } catch {
        // The client went away mid-stream: nothing to clean up.
      }
    },
  });
  return new Response(stream, { headers: { "content-type": STREAM_TYPE[wire], "cache-control": "no-cache" } });
}

const JSON_HEADERS = { "content-type": "application/json" };

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.BENCH_UPSTREAM_PORT ?? 0),
  // Slow streams stay quiet for a second between chunks; never time a connection out.
  idleTimeout: 0,
  async fetch(req, srv) {
    srv.timeout(req, 0);
    const url = req.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const { shape, rest } = parsePath(url.slice(pathStart));
    if (req.method === "GET") {
      if (rest === "/v1/models") return Response.json({ object: "list", data: [{ id: "bench-model", object: "model", created: CREATED, owned_by: "bench" }] });
      if (rest === "/api/tags") return Response.json({ models: [{ name: "bench-llama:latest", model: "bench-llama:latest" }] });
      if (rest === "/" || rest === "/healthz") return new Response("ok");
      return new Response("not found", { status: 404 });
    }
    const text = await req.text();
    switch (rest) {
      case "/v1/chat/completions":
        return text.includes('"stream":true') ? streamResponse("openai", shape, req.signal) : new Response(openaiJson, { headers: JSON_HEADERS });
      case "/v1/messages":
        return text.includes('"stream":true') ? streamResponse("anthropic", shape, req.signal) : new Response(anthropicJson, { headers: JSON_HEADERS });
      case "/api/chat":
        return text.includes('"stream":false') ? new Response(ollamaJson, { headers: JSON_HEADERS }) : streamResponse("ollama", shape, req.signal);
      default:
        return new Response(JSON.stringify({ error: { message: `no route ${rest}`, type: "invalid_request_error" } }), { status: 404, headers: JSON_HEADERS });
    }
  },
});

process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
