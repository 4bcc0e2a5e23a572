import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// The commit and idle rules (SPEC §5, issues 14 and 16), one test per rule and client protocol, on
// both attempt kinds: the OpenAI client's request to an `openai` provider is forwarded as it is
// (same-format passthrough: the answer comes back as the upstream's own bytes); to a `mistral`
// provider it is translated; the Anthropic and Ollama clients' requests are always translated.
//  - An answer is committed at its first content, never at the role chunk: a role chunk followed
//    by an in-band error (OpenRouter streams errors this way, with status 200) fails over.
//  - Every upstream byte resets the idle timer: keep-alive comments for longer than the limit
//    between two chunks keep the stream alive; a genuinely silent stream is still cut, with the
//    client protocol's error event.

// Wide margins, for a busy machine (where the bytes of a fetch can arrive in bursts): a keep-alive
// every twentieth of the limit, for one and a half limits; silence for three.
const IDLE_MS = 1_000;
const KEEPALIVE_EVERY_MS = IDLE_MS / 20;
const KEEPALIVE_FOR_MS = 1.5 * IDLE_MS;
const SILENCE_MS = 3 * IDLE_MS;
const SLOW = { timeout: 20_000 };

const enc = new TextEncoder();
const chunk = (model: string, delta: object, finish: string | null = null, extra: object = {}) =>
  `data: ${JSON.stringify({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1700000000, model, system_fingerprint: "fp_scripted", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
const usage = (model: string) =>
  `data: ${JSON.stringify({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1700000000, model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } })}\n\n`;

/** What the scripted upstream was asked, per upstream model name. */
const asked = new Map<string, number>();
/** How long the upstream sent nothing but keep-alive comments, per request of the `keepalive` model. */
const keepaliveMs: number[] = [];
let cancelled = 0;

/** One OpenAI-wire upstream whose behaviour the model name picks. */
function scriptedUpstream() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as { model?: string; stream?: boolean; messages?: unknown[] };
      // What the real API refuses (openai.md): no model, no messages.
      if (typeof body.model !== "string" || !Array.isArray(body.messages) || body.messages.length === 0)
        return Response.json({ error: { message: "model and messages are required", type: "invalid_request_error" } }, { status: 400 });
      const model = body.model;
      asked.set(model, (asked.get(model) ?? 0) + 1);
      if (!body.stream) return Response.json({ error: { message: "this fake streams only", type: "invalid_request_error" } }, { status: 400 });
      let stop = false;
      const stream = new ReadableStream<Uint8Array>({
        async start(c) {
          const send = (s: string) => {
            if (!stop) c.enqueue(enc.encode(s));
          };
          const role = chunk(model, { role: "assistant", content: "" });
          if (model === "ok") {
            for (const s of [role, chunk(model, { content: "Fallback" }), chunk(model, { content: " answer" }, "stop"), usage(model), "data: [DONE]\n\n"]) send(s);
          } else if (model === "role-error") {
            // OpenRouter's mid-stream error (openrouter.ai/docs/api-reference/errors, "Error during
            // streaming"): a chunk with a top-level `error` and finish_reason "error", status 200.
            send(role);
            await Bun.sleep(20);
            send(chunk(model, { content: "" }, "error", { error: { code: 502, message: "Provider returned error" } }));
          } else if (model === "keepalive") {
            send(role);
            send(chunk(model, { content: "Hel" }));
            let n = 0;
            const t0 = performance.now();
            while (!stop && performance.now() - t0 < KEEPALIVE_FOR_MS && n < 100) {
              await Bun.sleep(KEEPALIVE_EVERY_MS);
              send(": OPENROUTER PROCESSING\n\n");
              n++;
            }
            keepaliveMs.push(performance.now() - t0);
            for (const s of [chunk(model, { content: "lo" }, "stop"), usage(model), "data: [DONE]\n\n"]) send(s);
          } else if (model === "silent") {
            send(role);
            send(chunk(model, { content: "Hel" }));
            await Bun.sleep(SILENCE_MS);
            for (const s of [chunk(model, { content: "lo" }, "stop"), usage(model), "data: [DONE]\n\n"]) send(s);
          }
          if (!stop) c.close();
        },
        cancel() {
          stop = true;
          cancelled++;
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  });
}

let upstream: ReturnType<typeof Bun.serve>;
let gw: TestGateway;

beforeAll(async () => {
  upstream = scriptedUpstream();
  const baseUrl = `http://127.0.0.1:${upstream.port}/v1`;
  const models = ["role-error", "keepalive", "silent"];
  gw = await startGateway({
    providers: {
      // `openai`: an OpenAI client's request is forwarded as it is. `mistral` (tool ids rewritten):
      // always translated. Same upstream behind both.
      pt: { type: "openai", baseUrl, keys: ["sk-pt"], models },
      tr: { type: "mistral", baseUrl, keys: ["sk-tr"], models },
      good: { type: "openai-compatible", baseUrl, models: ["ok"] },
    },
    models: {
      "pt-error": ["pt/role-error", "good/ok"],
      "tr-error": ["tr/role-error", "good/ok"],
    },
    routing: { strategy: "priority" },
    health: { probeIntervalMs: 0, failureThreshold: 50, firstByteTimeoutMs: IDLE_MS },
  });
});
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

const openai = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "x", maxRetries: 0 });
const anthropic = () => new Anthropic({ baseURL: gw.url, apiKey: "x", maxRetries: 0 });
const ollama = () => new Ollama({ host: gw.url });
const hi = [{ role: "user" as const, content: "Hi" }];

/** An OpenAI client's stream: its text, the fingerprint the chunks carried (the upstream's own
 *  bytes keep it; the translation writes none), and the served provider. */
async function openaiStream(model: string) {
  const { data, response } = await openai().chat.completions.create({ model, messages: hi, stream: true }).withResponse();
  let text = "";
  let fingerprint: string | undefined;
  for await (const c of data) {
    text += c.choices[0]?.delta.content ?? "";
    fingerprint ??= c.system_fingerprint ?? undefined;
  }
  return { text, fingerprint, provider: response.headers.get("x-lmrelay-provider") };
}

async function anthropicStream(model: string) {
  const { data, response } = await anthropic().messages.create({ model, max_tokens: 64, messages: hi, stream: true }).withResponse();
  let text = "";
  for await (const ev of data) if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
  return { text, provider: response.headers.get("x-lmrelay-provider") };
}

async function ollamaStream(model: string) {
  let text = "";
  for await (const part of await ollama().chat({ model, messages: hi, stream: true })) text += part.message.content;
  return { text };
}

/** The error a stream ends with, from the client library's own reading of the protocol's error event. */
async function streamError(read: () => Promise<unknown>): Promise<Error> {
  try {
    await read();
  } catch (e) {
    return e as Error;
  }
  throw new Error("the stream ended without an error");
}

function askedDelta(model: string, run: () => Promise<void>): Promise<number> {
  const before = asked.get(model) ?? 0;
  return run().then(() => (asked.get(model) ?? 0) - before);
}

describe("committed at the first content: a role chunk then an in-band error fails over", () => {
  test("OpenAI client, forwarded as it is (openai provider)", async () => {
    let got: Awaited<ReturnType<typeof openaiStream>> | undefined;
    const tried = await askedDelta("role-error", async () => {
      got = await openaiStream("pt-error");
    });
    expect(tried).toBe(1);
    expect(got).toEqual({ text: "Fallback answer", fingerprint: "fp_scripted", provider: "good" });
  });

  test("OpenAI client, translated (mistral provider)", async () => {
    let got: Awaited<ReturnType<typeof openaiStream>> | undefined;
    const tried = await askedDelta("role-error", async () => {
      got = await openaiStream("tr-error");
    });
    expect(tried).toBe(1);
    expect(got?.text).toBe("Fallback answer");
    expect(got?.provider).toBe("good");
  });

  test("Anthropic client", async () => {
    let got: Awaited<ReturnType<typeof anthropicStream>> | undefined;
    const tried = await askedDelta("role-error", async () => {
      got = await anthropicStream("pt-error");
    });
    expect(tried).toBe(1);
    expect(got).toEqual({ text: "Fallback answer", provider: "good" });
  });

  test("Ollama client", async () => {
    let got: Awaited<ReturnType<typeof ollamaStream>> | undefined;
    const tried = await askedDelta("role-error", async () => {
      got = await ollamaStream("pt-error");
    });
    expect(tried).toBe(1);
    expect(got).toEqual({ text: "Fallback answer" });
  });
});

describe("keep-alive comments for longer than the idle limit keep the stream alive", () => {
  const kept = () => {
    // The fake really sent comments, and only comments, for longer than the limit.
    expect(keepaliveMs.at(-1)!).toBeGreaterThan(IDLE_MS);
  };

  test("OpenAI client, forwarded as it is", async () => {
    const got = await openaiStream("pt/keepalive");
    expect(got).toEqual({ text: "Hello", fingerprint: "fp_scripted", provider: "pt" });
    kept();
  }, SLOW);

  test("OpenAI client, translated", async () => {
    const got = await openaiStream("tr/keepalive");
    expect(got.text).toBe("Hello");
    expect(got.provider).toBe("tr");
    kept();
  }, SLOW);

  test("Anthropic client", async () => {
    expect(await anthropicStream("pt/keepalive")).toEqual({ text: "Hello", provider: "pt" });
    kept();
  }, SLOW);

  test("Ollama client", async () => {
    expect(await ollamaStream("pt/keepalive")).toEqual({ text: "Hello" });
    kept();
  }, SLOW);
});

describe("a silent stream is still cut, with the protocol's error event", () => {
  const stalled = /stalled \(nothing for 1000 ms\)/;

  test("OpenAI client, forwarded as it is", async () => {
    const before = cancelled;
    const err = await streamError(() => openaiStream("pt/silent"));
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.message).toMatch(stalled);
    // The upstream request is aborted too (its body cancelled), not left running.
    for (let i = 0; i < 100 && cancelled === before; i++) await Bun.sleep(20);
    expect(cancelled).toBeGreaterThan(before);
  }, SLOW);

  test("OpenAI client, translated", async () => {
    const err = await streamError(() => openaiStream("tr/silent"));
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.message).toMatch(stalled);
  }, SLOW);

  test("Anthropic client", async () => {
    const err = await streamError(() => anthropicStream("pt/silent"));
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.message).toMatch(stalled);
  }, SLOW);

  test("Ollama client", async () => {
    const err = await streamError(() => ollamaStream("pt/silent"));
    expect(err.message).toMatch(stalled);
  }, SLOW);
});
