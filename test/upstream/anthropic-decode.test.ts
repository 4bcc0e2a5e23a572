import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { StreamEvent } from "../../src/core/types";
import { type DecodeOptions, decodeAnthropicMessage, decodeAnthropicStream, toUsage } from "../../src/upstream/anthropic/decode";

// Anthropic SSE / JSON → canonical events, as tables.

const enc = new TextEncoder();
const opts: DecodeOptions = { providerId: "claude", jsonMode: false };

async function* bytes(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function decode(sse: string | Uint8Array[], o = opts): Promise<StreamEvent[]> {
  const chunks = typeof sse === "string" ? [enc.encode(sse)] : sse;
  const out: StreamEvent[] = [];
  for await (const ev of decodeAnthropicStream(bytes(...chunks), o)) out.push(ev);
  return out;
}

async function decodeError(sse: string, o = opts): Promise<GatewayError> {
  try {
    await decode(sse, o);
  } catch (e) {
    return e as GatewayError;
  }
  throw new Error("expected the stream to fail");
}

const ev = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
const start = (usage: Record<string, unknown> = { input_tokens: 25, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }) =>
  ev({ type: "message_start", message: { id: "msg_01X", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: null, stop_sequence: null, usage } });
const blockStart = (index: number, content_block: Record<string, unknown>) => ev({ type: "content_block_start", index, content_block });
const delta = (index: number, d: Record<string, unknown>) => ev({ type: "content_block_delta", index, delta: d });
const stop = (index: number) => ev({ type: "content_block_stop", index });
const msgDelta = (stop_reason: string | null, usage: Record<string, unknown>, stop_sequence: string | null = null) => ev({ type: "message_delta", delta: { stop_reason, stop_sequence }, usage });
const end = ev({ type: "message_stop" });

// The exact sequence from anthropic.md (with ping), text then a tool call.
const DOC_STREAM =
  start() +
  blockStart(0, { type: "text", text: "" }) +
  ev({ type: "ping" }) +
  delta(0, { type: "text_delta", text: "Hello" }) +
  delta(0, { type: "text_delta", text: "!" }) +
  stop(0) +
  blockStart(1, { type: "tool_use", id: "toolu_01B", name: "get_weather", input: {} }) +
  delta(1, { type: "input_json_delta", partial_json: "" }) +
  delta(1, { type: "input_json_delta", partial_json: '{"city": "Pa' }) +
  delta(1, { type: "input_json_delta", partial_json: 'ris"}' }) +
  stop(1) +
  msgDelta("tool_use", { output_tokens: 42 }) +
  end;

const DOC_EVENTS: StreamEvent[] = [
  { type: "start", id: "msg_01X", model: "claude-sonnet-4-5", usage: { inputTokens: 25, outputTokens: 1 } },
  { type: "text", text: "Hello" },
  { type: "text", text: "!" },
  { type: "tool_call_start", index: 0, id: "toolu_01B", name: "get_weather" },
  { type: "tool_call_delta", index: 0, arguments: '{"city": "Pa' },
  { type: "tool_call_delta", index: 0, arguments: 'ris"}' },
  { type: "finish", reason: "tool_calls" },
  { type: "usage", usage: { inputTokens: 25, outputTokens: 42 } },
];

describe("decodeAnthropicStream", () => {
  test("the documented sequence: text, pings skipped, tool index over tool_use blocks only, empty fragments skipped", async () => {
    expect(await decode(DOC_STREAM)).toEqual(DOC_EVENTS);
  });

  test("split at every byte offset (CRLF framing, a multi-byte character) gives the same events", async () => {
    const sse = DOC_STREAM.replace('"Hello"', '"Héllo → 世界"').replace(/\n/g, "\r\n");
    const raw = enc.encode(sse);
    const expected = await decode([raw]);
    expect(expected[1]).toEqual({ type: "text", text: "Héllo → 世界" });
    for (let cut = 1; cut < raw.length; cut++) expect(await decode([raw.slice(0, cut), raw.slice(cut)])).toEqual(expected);
  });

  test("unknown events, unknown deltas, server-tool blocks and comments are ignored", async () => {
    const sse =
      ": keep-alive\n\n" +
      start() +
      ev({ type: "some_future_event", foo: 1 }) +
      blockStart(0, { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} }) +
      delta(0, { type: "input_json_delta", partial_json: '{"q":"x"}' }) +
      stop(0) +
      blockStart(1, { type: "text", text: "" }) +
      delta(1, { type: "citations_delta", citation: { type: "char_location" } }) +
      delta(1, { type: "text_delta", text: "ok" }) +
      stop(1) +
      blockStart(2, { type: "tool_use", id: "toolu_2", name: "f", input: {} }) +
      stop(2) +
      ev({ type: "ping" }) +
      msgDelta("end_turn", { output_tokens: 3 }) +
      end;
    expect(await decode(sse)).toEqual([
      { type: "start", id: "msg_01X", model: "claude-sonnet-4-5", usage: { inputTokens: 25, outputTokens: 1 } },
      { type: "text", text: "ok" },
      { type: "tool_call_start", index: 0, id: "toolu_2", name: "f" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 25, outputTokens: 3 } },
    ]);
  });

  test("thinking, signature and redacted thinking", async () => {
    const sse =
      start() +
      blockStart(0, { type: "thinking", thinking: "" }) +
      delta(0, { type: "thinking_delta", thinking: "Let me " }) +
      delta(0, { type: "thinking_delta", thinking: "think." }) +
      delta(0, { type: "signature_delta", signature: "EqQB" }) +
      stop(0) +
      blockStart(1, { type: "redacted_thinking", data: "ENC" }) +
      stop(1) +
      blockStart(2, { type: "text", text: "" }) +
      delta(2, { type: "text_delta", text: "Answer" }) +
      stop(2) +
      msgDelta("end_turn", { output_tokens: 10 }) +
      end;
    const events = await decode(sse);
    expect(events.slice(1, -2)).toEqual([
      { type: "thinking", text: "Let me " },
      { type: "thinking", text: "think." },
      { type: "thinking_signature", signature: "EqQB" },
      { type: "redacted_thinking", data: "ENC" },
      { type: "text", text: "Answer" },
    ]);
    expect(foldEvents(events).content).toEqual([
      { type: "thinking", text: "Let me think.", signature: "EqQB" },
      { type: "thinking", text: "", redacted: "ENC" },
      { type: "text", text: "Answer" },
    ]);
  });

  const finishes: [string | null, string | undefined, StreamEvent][] = [
    ["end_turn", undefined, { type: "finish", reason: "stop" }],
    ["pause_turn", undefined, { type: "finish", reason: "stop" }],
    ["stop_sequence", "END", { type: "finish", reason: "stop_sequence", stopSequence: "END" }],
    ["max_tokens", undefined, { type: "finish", reason: "length" }],
    ["model_context_window_exceeded", undefined, { type: "finish", reason: "length" }],
    ["tool_use", undefined, { type: "finish", reason: "tool_calls" }],
    ["refusal", undefined, { type: "finish", reason: "content_filter" }],
    ["something_new", undefined, { type: "finish", reason: "stop" }],
    [null, undefined, { type: "finish", reason: "stop" }],
  ];
  for (const [reason, seq, expected] of finishes)
    test(`stop_reason ${reason} → ${(expected as { reason: string }).reason}`, async () => {
      const events = await decode(start() + msgDelta(reason, { output_tokens: 1 }, seq ?? null) + end);
      expect(events.at(-2)).toEqual(expected);
    });

  test("cache tokens: input = uncached + read + written, counted once even when message_delta repeats them", async () => {
    const sse =
      start({ input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 30, cache_read_input_tokens: 60 }) +
      msgDelta(null, { output_tokens: 5 }) +
      msgDelta("end_turn", { output_tokens: 12, input_tokens: 10, cache_creation_input_tokens: 30, cache_read_input_tokens: 60, output_tokens_details: { thinking_tokens: 4 } }) +
      end;
    const events = await decode(sse);
    expect(events[0]).toEqual({ type: "start", id: "msg_01X", model: "claude-sonnet-4-5", usage: { inputTokens: 100, outputTokens: 1, cacheReadTokens: 60, cacheWriteTokens: 30 } });
    expect(events.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 100, outputTokens: 12, cacheReadTokens: 60, cacheWriteTokens: 30, reasoningTokens: 4 } });
  });

  test("toUsage tolerates nulls and missing fields", () => {
    expect(toUsage({ input_tokens: 3, output_tokens: 2, cache_creation_input_tokens: null, cache_read_input_tokens: null })).toEqual({ inputTokens: 3, outputTokens: 2 });
    expect(toUsage({})).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  const errors: [string, string, number, string][] = [
    ["overloaded_error", "overloaded", 529, "Overloaded"],
    ["rate_limit_error", "rate_limited", 429, "Slow down"],
    ["api_error", "upstream_error", 502, "Internal error"],
    ["invalid_request_error", "invalid_request", 400, "Bad"],
    ["brand_new_error", "upstream_error", 502, "Huh"],
  ];
  for (const [type, kind, status, message] of errors)
    test(`event: error ${type} → GatewayError ${kind}`, async () => {
      const sse = start() + blockStart(0, { type: "text", text: "" }) + delta(0, { type: "text_delta", text: "par" }) + ev({ type: "error", error: { type, message } });
      const err = await decodeError(sse);
      expect(err).toBeInstanceOf(GatewayError);
      expect(err.kind).toBe(kind as GatewayError["kind"]);
      expect(err.status).toBe(status);
      expect(err.code).toBe(type);
      expect(err.provider).toBe("claude");
      expect(err.message).toBe(`claude: ${message}`);
    });

  test("a key echoed in an error event is scrubbed", async () => {
    const err = await decodeError(start() + ev({ type: "error", error: { type: "api_error", message: "bad key sk-ant-secret-99" } }), { providerId: "claude", secret: "sk-ant-secret-99", jsonMode: false });
    expect(err.message).toBe("claude: bad key ***");
  });

  test("a stream cut before message_stop fails instead of ending quietly", async () => {
    const err = await decodeError(start() + blockStart(0, { type: "text", text: "" }) + delta(0, { type: "text_delta", text: "half" }));
    expect(err.kind).toBe("upstream_error");
    expect(err.message).toBe("claude: stream ended before message_stop");
  });

  test("a data line that is not JSON is a broken answer", async () => {
    const err = await decodeError(start() + "event: content_block_delta\ndata: {oops\n\n");
    expect(err.kind).toBe("upstream_error");
    expect(err.message).toStartWith("claude: ");
  });

  test("pitfall 15: JSON mode streams the forced tool's input as text and finishes with stop", async () => {
    const sse =
      start() +
      blockStart(0, { type: "tool_use", id: "toolu_j", name: "json_tool_call", input: {} }) +
      delta(0, { type: "input_json_delta", partial_json: "" }) +
      delta(0, { type: "input_json_delta", partial_json: '{"n":' }) +
      delta(0, { type: "input_json_delta", partial_json: "1}" }) +
      stop(0) +
      msgDelta("tool_use", { output_tokens: 5 }) +
      end;
    const events = await decode(sse, { providerId: "claude", jsonMode: true });
    expect(events.slice(1)).toEqual([
      { type: "text", text: '{"n":' },
      { type: "text", text: "1}" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 25, outputTokens: 5 } },
    ]);
    // Without JSON mode the same tool is an ordinary tool call.
    expect((await decode(sse)).filter((e) => e.type === "tool_call_start")).toHaveLength(1);
  });

  test("JSON mode next to a real tool call keeps the real call and tool_calls", async () => {
    const sse =
      start() +
      blockStart(0, { type: "tool_use", id: "toolu_j", name: "json_tool_call", input: {} }) +
      delta(0, { type: "input_json_delta", partial_json: "{}" }) +
      stop(0) +
      blockStart(1, { type: "tool_use", id: "toolu_r", name: "real", input: {} }) +
      stop(1) +
      msgDelta("tool_use", { output_tokens: 5 }) +
      end;
    const events = await decode(sse, { providerId: "claude", jsonMode: true });
    expect(events.slice(1, -1)).toEqual([
      { type: "text", text: "{}" },
      { type: "tool_call_start", index: 0, id: "toolu_r", name: "real" },
      { type: "finish", reason: "tool_calls" },
    ]);
  });
});

describe("decodeAnthropicMessage", () => {
  const message = {
    id: "msg_01XFD",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: [
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "toolu_01B", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "toolu_01C", name: "now", input: {} },
    ],
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: { input_tokens: 412, output_tokens: 58, cache_creation_input_tokens: 8, cache_read_input_tokens: 100, service_tier: "standard" },
  };

  test("the documented response folds to the same answer the stream would give", () => {
    expect(foldEvents(decodeAnthropicMessage(message, opts))).toEqual({
      id: "msg_01XFD",
      model: "claude-sonnet-4-5-20250929",
      content: [
        { type: "thinking", text: "hmm", signature: "sig" },
        { type: "text", text: "Let me check." },
        { type: "tool_call", id: "toolu_01B", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "tool_call", id: "toolu_01C", name: "now", arguments: "{}" },
      ],
      finishReason: "tool_calls",
      stopSequence: undefined,
      usage: { inputTokens: 520, outputTokens: 58, cacheReadTokens: 100, cacheWriteTokens: 8 },
    });
  });

  test("the stream and the JSON body of the same answer fold identically", async () => {
    const streamed = foldEvents(await decode(DOC_STREAM));
    const whole = foldEvents(
      decodeAnthropicMessage(
        {
          id: "msg_01X",
          model: "claude-sonnet-4-5",
          content: [{ type: "text", text: "Hello!" }, { type: "tool_use", id: "toolu_01B", name: "get_weather", input: { city: "Paris" } }],
          stop_reason: "tool_use",
          usage: { input_tokens: 25, output_tokens: 42 },
        },
        opts,
      ),
    );
    expect({ ...whole, content: whole.content.map((p) => (p.type === "tool_call" ? { ...p, arguments: JSON.parse(p.arguments) } : p)) }).toEqual({
      ...streamed,
      content: streamed.content.map((p) => (p.type === "tool_call" ? { ...p, arguments: JSON.parse(p.arguments) } : p)),
    });
  });

  test("JSON mode: the forced tool's input becomes the text answer, finish stop", () => {
    const res = foldEvents(
      decodeAnthropicMessage(
        { id: "m", model: "x", content: [{ type: "tool_use", id: "t", name: "json_tool_call", input: { n: 1 } }], stop_reason: "tool_use", usage: { input_tokens: 1, output_tokens: 1 } },
        { providerId: "claude", jsonMode: true },
      ),
    );
    expect(res.content).toEqual([{ type: "text", text: '{"n":1}' }]);
    expect(res.finishReason).toBe("stop");
  });

  test("stop_sequence carries the matched string", () => {
    const res = foldEvents(decodeAnthropicMessage({ id: "m", model: "x", content: [{ type: "text", text: "a" }], stop_reason: "stop_sequence", stop_sequence: "END", usage: {} }, opts));
    expect(res.finishReason).toBe("stop_sequence");
    expect(res.stopSequence).toBe("END");
  });

  test("a body that is not a Messages object is a broken answer", () => {
    expect(() => decodeAnthropicMessage({ hello: 1 }, opts)).toThrow("claude: answer is not a Messages object");
    expect(() => decodeAnthropicMessage(null, opts)).toThrow(GatewayError);
  });
});
