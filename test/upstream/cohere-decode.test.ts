import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { StreamEvent } from "../../src/core/types";
import { decodeCohereResponse, decodeCohereStream, mapUsage } from "../../src/upstream/cohere/decode";

// Cohere answers → canonical events: SSE split anywhere (every byte offset, inside a UTF-8
// character, one byte a chunk), tool_plan as text, finish reasons, usage, errors.

const ctx = { providerId: "co", secret: "sk-cohere-secret", model: "command-a-03-2025" };

const frame = (ev: Record<string, unknown>, withEvent = true) =>
  `${withEvent ? `event: ${ev.type}\n` : ""}data: ${JSON.stringify(ev)}\n\n`;

const usage = { billed_units: { input_tokens: 3, output_tokens: 2 }, tokens: { input_tokens: 69, output_tokens: 2 }, cached_tokens: 0 };

const TEXT_STREAM = [
  { id: "m-1", type: "message-start", delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } } },
  { type: "content-start", index: 0, delta: { message: { content: { type: "text", text: "" } } } },
  { type: "content-delta", index: 0, delta: { message: { content: { text: "Héllo" } } } },
  { type: "content-delta", index: 0, delta: { message: { content: { text: " wörld 🌍" } } } },
  { type: "citation-start", index: 0, delta: { message: { citations: { start: 0, end: 5, text: "Héllo", sources: [] } } } },
  { type: "citation-end", index: 0 },
  { type: "content-end", index: 0 },
  { id: "m-1", type: "message-end", delta: { finish_reason: "COMPLETE", usage } },
];

const TOOL_STREAM = [
  { id: "m-2", type: "message-start", delta: { message: { role: "assistant" } } },
  { type: "content-start", index: 0, delta: { message: { content: { type: "thinking", thinking: "" } } } },
  { type: "content-delta", index: 0, delta: { message: { content: { thinking: "Need weather." } } } },
  { type: "content-end", index: 0 },
  { type: "tool-plan-delta", delta: { message: { tool_plan: "I will" } } },
  { type: "tool-plan-delta", delta: { message: { tool_plan: " call get_weather." } } },
  { type: "tool-call-start", index: 0, delta: { message: { tool_calls: { id: "gw_1", type: "function", function: { name: "get_weather", arguments: "" } } } } },
  { type: "tool-call-delta", index: 0, delta: { message: { tool_calls: { function: { arguments: '{"city":' } } } } },
  { type: "tool-call-delta", index: 0, delta: { message: { tool_calls: { function: { arguments: ' "Paris"}' } } } } },
  { type: "tool-call-end", index: 0 },
  { type: "tool-call-start", index: 1, delta: { message: { tool_calls: { id: "gt_2", type: "function", function: { name: "get_time", arguments: "{}" } } } } },
  { type: "tool-call-end", index: 1 },
  { type: "message-end", delta: { finish_reason: "TOOL_CALL", usage: { ...usage, cached_tokens: 40 } } },
];

const TEXT_EVENTS: StreamEvent[] = [
  { type: "start", id: "m-1", model: "command-a-03-2025" },
  { type: "text", text: "Héllo" },
  { type: "text", text: " wörld 🌍" },
  { type: "finish", reason: "stop" },
  { type: "usage", usage: { inputTokens: 69, outputTokens: 2 } },
];

const TOOL_EVENTS: StreamEvent[] = [
  { type: "start", id: "m-2", model: "command-a-03-2025" },
  { type: "thinking", text: "Need weather." },
  { type: "text", text: "I will" },
  { type: "text", text: " call get_weather." },
  { type: "tool_call_start", index: 0, id: "gw_1", name: "get_weather" },
  { type: "tool_call_delta", index: 0, arguments: '{"city":' },
  { type: "tool_call_delta", index: 0, arguments: ' "Paris"}' },
  { type: "tool_call_start", index: 1, id: "gt_2", name: "get_time" },
  { type: "tool_call_delta", index: 1, arguments: "{}" },
  { type: "finish", reason: "tool_calls" },
  { type: "usage", usage: { inputTokens: 69, outputTokens: 2, cacheReadTokens: 40 } },
];

async function* chunks(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

async function decode(parts: Uint8Array[]): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of decodeCohereStream(ctx, chunks(parts))) out.push(ev);
  return out;
}

async function decodeError(text: string): Promise<GatewayError> {
  try {
    await decode([new TextEncoder().encode(text)]);
  } catch (e) {
    return e as GatewayError;
  }
  throw new Error("expected the stream to fail");
}

describe("decodeCohereStream", () => {
  const table: { name: string; text: string; expected: StreamEvent[] }[] = [
    { name: "text with event: lines", text: TEXT_STREAM.map((e) => frame(e)).join(""), expected: TEXT_EVENTS },
    { name: "text, data-only framing", text: TEXT_STREAM.map((e) => frame(e, false)).join(""), expected: TEXT_EVENTS },
    { name: "text, CRLF and keep-alive comments", text: `: ping\r\n\r\n${TEXT_STREAM.map((e) => frame(e).replaceAll("\n", "\r\n")).join("")}`, expected: TEXT_EVENTS },
    { name: "tool plan, thinking and two tool calls", text: TOOL_STREAM.map((e) => frame(e)).join(""), expected: TOOL_EVENTS },
    { name: "a trailing [DONE] is tolerated", text: `${TEXT_STREAM.map((e) => frame(e, false)).join("")}data: [DONE]\n\n`, expected: TEXT_EVENTS },
  ];

  for (const c of table) {
    test(`${c.name}: split at every byte offset`, async () => {
      const bytes = new TextEncoder().encode(c.text);
      for (let i = 0; i <= bytes.length; i++) expect(await decode([bytes.slice(0, i), bytes.slice(i)])).toEqual(c.expected);
    });
    test(`${c.name}: one byte a chunk`, async () => {
      const bytes = new TextEncoder().encode(c.text);
      expect(await decode([...bytes].map((b) => Uint8Array.of(b)))).toEqual(c.expected);
    });
  }

  test("type comes from the event: line when the data lacks it", async () => {
    const text = TEXT_STREAM.map((e) => {
      const { type, ...rest } = e;
      return `event: ${type}\ndata: ${JSON.stringify(rest)}\n\n`;
    }).join("");
    expect(await decode([new TextEncoder().encode(text)])).toEqual(TEXT_EVENTS);
  });

  test("tool-call deltas without an index go to the last started call; unknown events are ignored", async () => {
    const text = [
      { type: "message-start", id: "x" },
      { type: "debug", prompt: "secret template" },
      { type: "tool-call-start", delta: { message: { tool_calls: { id: "a", type: "function", function: { name: "f", arguments: "" } } } } },
      { type: "tool-call-delta", delta: { message: { tool_calls: { function: { arguments: "{}" } } } } },
      { type: "something-new", delta: {} },
      { type: "message-end", delta: { finish_reason: "TOOL_CALL" } },
    ]
      .map((e) => frame(e))
      .join("");
    expect(await decode([new TextEncoder().encode(text)])).toEqual([
      { type: "start", id: "x", model: "command-a-03-2025" },
      { type: "tool_call_start", index: 0, id: "a", name: "f" },
      { type: "tool_call_delta", index: 0, arguments: "{}" },
      { type: "finish", reason: "tool_calls" },
    ]);
  });

  test("the folded stream is the whole answer, tool_plan as text before the calls", async () => {
    const events = await decode([new TextEncoder().encode(TOOL_STREAM.map((e) => frame(e)).join(""))]);
    expect(foldEvents(events).content).toEqual([
      { type: "thinking", text: "Need weather." },
      { type: "text", text: "I will call get_weather." },
      { type: "tool_call", id: "gw_1", name: "get_weather", arguments: '{"city": "Paris"}' },
      { type: "tool_call", id: "gt_2", name: "get_time", arguments: "{}" },
    ]);
  });

  const finishes: [string, string][] = [
    ["COMPLETE", "stop"],
    ["STOP_SEQUENCE", "stop"],
    ["MAX_TOKENS", "length"],
    ["TOOL_CALL", "tool_calls"],
    ["SOMETHING_NEW", "stop"],
  ];
  for (const [cohere, canonical] of finishes) {
    test(`finish ${cohere} → ${canonical}`, async () => {
      const text = frame({ type: "message-start" }) + frame({ type: "message-end", delta: { finish_reason: cohere } });
      expect((await decode([new TextEncoder().encode(text)])).find((e) => e.type === "finish")).toEqual({ type: "finish", reason: canonical as any });
    });
  }

  test("finish ERROR → upstream_error thrown with Cohere's message", async () => {
    const err = await decodeError(
      frame({ type: "message-start" }) + frame({ type: "message-end", delta: { finish_reason: "ERROR", error: "internal model failure" } }),
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_error");
    expect(err.provider).toBe("co");
    expect(err.message).toBe("co: internal model failure");
  });

  test("finish TIMEOUT → timeout thrown", async () => {
    const err = await decodeError(frame({ type: "message-start" }) + frame({ type: "message-end", delta: { finish_reason: "TIMEOUT" } }));
    expect(err.kind).toBe("timeout");
    expect(err.message).toBe("co: generation timed out");
  });

  test("a stream that ends before message-end is an upstream error", async () => {
    const err = await decodeError(TEXT_STREAM.slice(0, 3).map((e) => frame(e)).join(""));
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("truncated_stream");
  });

  test("an event that is not JSON is an upstream error", async () => {
    const err = await decodeError(`${frame({ type: "message-start" })}event: content-delta\ndata: {nope\n\n`);
    expect(err.kind).toBe("upstream_error");
    expect(err.message).toStartWith("co: sent a stream event that is not JSON");
  });

  test("a bare error object mid-stream is thrown, key scrubbed", async () => {
    const err = await decodeError(`${frame({ type: "message-start" })}data: {"message":"bad key sk-cohere-secret"}\n\n`);
    expect(err.message).toBe("co: bad key ***");
  });

  test("an `event: error` frame is thrown with its message", async () => {
    const err = await decodeError(`${frame({ type: "message-start" })}event: error\ndata: {"error":{"message":"overloaded"}}\n\n`);
    expect([err.kind, err.code, err.message]).toEqual(["upstream_error", "stream_error", "co: overloaded"]);
  });
});

describe("usage", () => {
  test("tokens win over billed units; cached tokens are a subset", () => {
    expect(mapUsage({ billed_units: { input_tokens: 3, output_tokens: 2 }, tokens: { input_tokens: 900, output_tokens: 52 }, cached_tokens: 100 })).toEqual({
      inputTokens: 900,
      outputTokens: 52,
      cacheReadTokens: 100,
    });
  });
  test("billed units when tokens are absent", () => {
    expect(mapUsage({ billed_units: { input_tokens: 37, output_tokens: 21 } })).toEqual({ inputTokens: 37, outputTokens: 21 });
  });
  test("nothing usable → undefined", () => {
    expect(mapUsage(undefined)).toBeUndefined();
    expect(mapUsage({ cached_tokens: 3 })).toBeUndefined();
  });
});

describe("decodeCohereResponse", () => {
  test("tool answer: tool_plan becomes text before the calls", () => {
    const res = decodeCohereResponse(ctx, {
      id: "c14c",
      finish_reason: "TOOL_CALL",
      message: {
        role: "assistant",
        tool_plan: "I will look up the weather.",
        tool_calls: [{ id: "gw_k88", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
        content: [],
        citations: [],
      },
      usage: { billed_units: { input_tokens: 37, output_tokens: 21 }, tokens: { input_tokens: 912, output_tokens: 52 }, cached_tokens: 0 },
    });
    expect(res).toEqual({
      id: "c14c",
      model: "command-a-03-2025",
      content: [
        { type: "text", text: "I will look up the weather." },
        { type: "tool_call", id: "gw_k88", name: "get_weather", arguments: '{"city":"Paris"}' },
      ],
      finishReason: "tool_calls",
      usage: { inputTokens: 912, outputTokens: 52 },
    });
  });

  test("text answer with thinking", () => {
    const res = decodeCohereResponse(ctx, {
      id: "t1",
      finish_reason: "MAX_TOKENS",
      message: { role: "assistant", content: [{ type: "thinking", thinking: "ponder" }, { type: "text", text: "Hello!" }] },
    });
    expect(res.content).toEqual([
      { type: "thinking", text: "ponder" },
      { type: "text", text: "Hello!" },
    ]);
    expect(res.finishReason).toBe("length");
    expect(res.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  test("ERROR finish is thrown", () => {
    expect(() => decodeCohereResponse(ctx, { id: "e", finish_reason: "ERROR", message: { role: "assistant", content: [] } })).toThrow("co: generation failed");
  });

  test("a body without a message is an upstream error", () => {
    expect(() => decodeCohereResponse(ctx, { message: "oops" })).toThrow("co: answered without a message");
  });
});
