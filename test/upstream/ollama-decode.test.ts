import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { StreamEvent } from "../../src/core/types";
import { OllamaChatDecoder, decodeOllamaStream, syntheticToolCallId } from "../../src/upstream/ollama/decode";

// NDJSON → canonical events, whatever the chunking of the bytes.

const ep = { providerId: "local", signal: new AbortController().signal };
const enc = new TextEncoder();

function response(chunks: Uint8Array[]): Response {
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < chunks.length) c.enqueue(chunks[i++]!);
        else c.close();
      },
    }),
  );
}

async function collect(chunks: Uint8Array[]): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of decodeOllamaStream(ep, response(chunks), "fallback-model")) out.push(ev);
  return out;
}

async function failure(chunks: Uint8Array[]): Promise<{ err: GatewayError; events: StreamEvent[] }> {
  const events: StreamEvent[] = [];
  try {
    for await (const ev of decodeOllamaStream(ep, response(chunks), "fallback-model")) events.push(ev);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return { err: err as GatewayError, events };
  }
  throw new Error("expected the stream to fail");
}

const ndjson = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
const T = "2025-07-07T20:22:19.18Z";

const cases: { name: string; body: string; events: StreamEvent[] }[] = [
  {
    name: "text stream with multi-byte characters, final metrics → finish + usage",
    body: ndjson(
      { model: "llama3.2", created_at: T, message: { role: "assistant", content: "Héllo" }, done: false },
      { model: "llama3.2", created_at: T, message: { role: "assistant", content: " wörld 🌍" }, done: false },
      {
        model: "llama3.2",
        created_at: T,
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: "stop",
        total_duration: 4883583458,
        load_duration: 1334875,
        prompt_eval_count: 26,
        prompt_eval_duration: 342546000,
        eval_count: 282,
        eval_duration: 4535599000,
      },
    ),
    events: [
      { type: "start", model: "llama3.2" },
      { type: "text", text: "Héllo" },
      { type: "text", text: " wörld 🌍" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 26, outputTokens: 282 } },
    ],
  },
  {
    name: "thinking then content; length → length; missing metrics → 0",
    body: ndjson(
      { model: "qwen3:8b", created_at: T, message: { role: "assistant", content: "", thinking: "Hmm, " }, done: false },
      { model: "qwen3:8b", created_at: T, message: { role: "assistant", content: "", thinking: "ok." }, done: false },
      { model: "qwen3:8b", created_at: T, message: { role: "assistant", content: "Yes" }, done: false },
      { model: "qwen3:8b", created_at: T, message: { role: "assistant", content: "" }, done: true, done_reason: "length", eval_count: 3 },
    ),
    events: [
      { type: "start", model: "qwen3:8b" },
      { type: "thinking", text: "Hmm, " },
      { type: "thinking", text: "ok." },
      { type: "text", text: "Yes" },
      { type: "finish", reason: "length" },
      { type: "usage", usage: { inputTokens: 0, outputTokens: 3 } },
    ],
  },
  {
    name: "whole tool calls in a done:false line → start + one full delta each; done_reason stop → tool_calls",
    body: ndjson(
      { model: "llama3.2", created_at: T, message: { role: "assistant", content: "Let me check." }, done: false },
      {
        model: "llama3.2",
        created_at: T,
        message: {
          role: "assistant",
          content: "",
          tool_calls: [
            { id: "call_a", function: { index: 0, name: "get_weather", arguments: { city: "Tokyo", days: 2 } } },
            { id: "call_b", function: { index: 1, name: "get_time", arguments: {} } },
          ],
        },
        done: false,
      },
      { model: "llama3.2", created_at: T, message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 5, eval_count: 9 },
    ),
    events: [
      { type: "start", model: "llama3.2" },
      { type: "text", text: "Let me check." },
      { type: "tool_call_start", index: 0, id: "call_a", name: "get_weather" },
      { type: "tool_call_delta", index: 0, arguments: '{"city":"Tokyo","days":2}' },
      { type: "tool_call_start", index: 1, id: "call_b", name: "get_time" },
      { type: "tool_call_delta", index: 1, arguments: "{}" },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 9 } },
    ],
  },
  {
    name: "CRLF line ends, blank lines, no trailing newline; lines after done are ignored",
    body:
      `${JSON.stringify({ model: "m", created_at: T, message: { role: "assistant", content: "a" }, done: false })}\r\n\r\n` +
      `${JSON.stringify({ model: "m", created_at: T, message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 1, eval_count: 1 })}\r\n` +
      JSON.stringify({ model: "m", message: { content: "late" }, done: false }),
    events: [
      { type: "start", model: "m" },
      { type: "text", text: "a" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 1, outputTokens: 1 } },
    ],
  },
];

describe("decodeOllamaStream", () => {
  for (const c of cases) {
    const bytes = enc.encode(c.body);
    test(`${c.name} (split at every byte offset)`, async () => {
      expect(await collect([bytes])).toEqual(c.events);
      for (let i = 1; i < bytes.length; i++) expect(await collect([bytes.slice(0, i), bytes.slice(i)])).toEqual(c.events);
    });
    test(`${c.name} (one byte per chunk)`, async () => {
      expect(await collect(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(c.events);
    });
  }

  test("missing tool-call ids are synthesized, unique, call_ + alphanumerics", async () => {
    const body = ndjson(
      {
        model: "m",
        message: { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: { a: 1 } } }, { function: { name: "g", arguments: null } }] },
        done: false,
      },
      { model: "m", message: { role: "assistant", content: "" }, done: true, done_reason: "stop" },
    );
    const events = await collect([enc.encode(body)]);
    const starts = events.filter((e) => e.type === "tool_call_start") as Extract<StreamEvent, { type: "tool_call_start" }>[];
    expect(starts.map((s) => s.name)).toEqual(["f", "g"]);
    for (const s of starts) expect(s.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(starts[0]!.id).not.toBe(starts[1]!.id);
    expect(events.filter((e) => e.type === "tool_call_delta").map((e) => (e as { arguments: string }).arguments)).toEqual(['{"a":1}', "{}"]);
    expect(syntheticToolCallId()).not.toBe(syntheticToolCallId());
  });

  test("an {error} line mid-stream is thrown from the iterator after the text already decoded", async () => {
    const body = ndjson(
      { model: "m", created_at: T, message: { role: "assistant", content: "partial" }, done: false },
      { error: "an error was encountered while running the model" },
    );
    const { err, events } = await failure([enc.encode(body)]);
    expect(events).toEqual([
      { type: "start", model: "m" },
      { type: "text", text: "partial" },
    ]);
    expect(err.kind).toBe("upstream_error");
    expect(err.provider).toBe("local");
    expect(err.message).toBe("local: an error was encountered while running the model");
  });

  test("an {error} first line fails before any event", async () => {
    const { err, events } = await failure([enc.encode('{"error":"model runner has unexpectedly stopped"}\n')]);
    expect(events).toEqual([]);
    expect(err.message).toBe("local: model runner has unexpectedly stopped");
  });

  test("a line that is not JSON → upstream_error", async () => {
    const body = `${JSON.stringify({ model: "m", message: { role: "assistant", content: "a" }, done: false })}\n{not json\n`;
    const { err, events } = await failure([enc.encode(body)]);
    expect(events.map((e) => e.type)).toEqual(["start", "text"]);
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("bad_response");
    expect(err.message).toStartWith("local: ");
  });

  test("a JSON line that is not an object → upstream_error", async () => {
    const { err } = await failure([enc.encode("[1,2]\n")]);
    expect(err.kind).toBe("upstream_error");
  });

  test("a body that ends without the done line → upstream_error (a cut connection)", async () => {
    const body = ndjson({ model: "m", message: { role: "assistant", content: "a" }, done: false });
    const { err, events } = await failure([enc.encode(body)]);
    expect(events.map((e) => e.type)).toEqual(["start", "text"]);
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("incomplete_response");
  });

  test("an empty body → upstream_error", async () => {
    const { err } = await failure([]);
    expect(err.code).toBe("incomplete_response");
  });

  test("a tool call without a name → upstream_error", async () => {
    const { err } = await failure([enc.encode(ndjson({ model: "m", message: { tool_calls: [{ function: { arguments: {} } }] }, done: false }))]);
    expect(err.code).toBe("bad_response");
  });

  test("stopping early cancels the upstream body", async () => {
    let cancelled = false;
    const line = enc.encode(ndjson({ model: "m", message: { role: "assistant", content: "x" }, done: false }));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(line);
      },
      cancel() {
        cancelled = true;
      },
    });
    let n = 0;
    for await (const _ of decodeOllamaStream(ep, new Response(body), "m")) if (++n === 3) break;
    expect(cancelled).toBe(true);
  });

  test("the model falls back to the target's when the line has none", async () => {
    const events = await collect([enc.encode(ndjson({ message: { content: "hi" }, done: true, done_reason: "stop" }))]);
    expect(events[0]).toEqual({ type: "start", model: "fallback-model" });
  });
});

describe("OllamaChatDecoder on a non-stream answer", () => {
  test("one object → the same events, folding to a whole answer", () => {
    const d = new OllamaChatDecoder(ep, "m");
    const events = d.push({
      model: "llama3.2",
      created_at: T,
      message: {
        role: "assistant",
        content: "The answer.",
        thinking: "Think.",
        tool_calls: [{ function: { name: "lookup", arguments: { q: "x" } } }],
      },
      done: true,
      done_reason: "stop",
      prompt_eval_count: 12,
      eval_count: 7,
    });
    d.end();
    const res = foldEvents(events);
    expect(res.model).toBe("llama3.2");
    expect(res.finishReason).toBe("tool_calls");
    expect(res.usage).toEqual({ inputTokens: 12, outputTokens: 7 });
    expect(res.content.map((p) => p.type)).toEqual(["thinking", "text", "tool_call"]);
    expect(res.content[2]).toMatchObject({ type: "tool_call", name: "lookup", arguments: '{"q":"x"}' });
  });

  test("a non-stream answer with done:false is incomplete", () => {
    const d = new OllamaChatDecoder(ep, "m");
    d.push({ model: "m", message: { content: "x" }, done: false });
    expect(() => d.end()).toThrow(GatewayError);
  });

  test("an {error} object throws with the provider set", () => {
    const d = new OllamaChatDecoder(ep, "m");
    try {
      d.push({ error: "boom" });
      throw new Error("not thrown");
    } catch (err) {
      expect((err as GatewayError).provider).toBe("local");
      expect((err as GatewayError).message).toBe("local: boom");
    }
  });
});
