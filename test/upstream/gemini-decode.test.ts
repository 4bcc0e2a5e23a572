import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { StreamEvent } from "../../src/core/types";
import { decodeGeminiResponse, decodeGeminiStream, type GeminiDecodeContext } from "../../src/upstream/gemini/decode";
import { classifyGeminiError, geminiStreamError, parseDuration } from "../../src/upstream/gemini/errors";
import { FunctionNames } from "../../src/upstream/gemini/names";
import { SignatureCache } from "../../src/upstream/gemini/signatures";
import { collect } from "../helpers/async";

// GenerateContentResponse(s) → canonical events, for whole answers and for SSE streams split at
// any byte; finish reasons, usage, function calls, blocked prompts, errors inside a stream.

const ctx = (names = new FunctionNames()): GeminiDecodeContext => ({ providerId: "gem", secret: "AIzaSECRETKEY", model: "gemini-2.5-flash", names });

const enc = new TextEncoder();

async function* bytes(text: string, cuts: number[]): AsyncGenerator<Uint8Array> {
  const all = enc.encode(text);
  let from = 0;
  for (const cut of [...cuts, all.length]) {
    yield all.slice(from, cut);
    from = cut;
  }
}


const sse = (chunks: unknown[]) => chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join("");

const usage = { promptTokenCount: 8, candidatesTokenCount: 6, thoughtsTokenCount: 10, cachedContentTokenCount: 3, totalTokenCount: 24 };

const STREAM = [
  { candidates: [{ content: { role: "model", parts: [{ text: "Planning… ", thought: true }] }, index: 0 }], usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 }, modelVersion: "gemini-2.5-flash-001", responseId: "resp-1" },
  { candidates: [{ content: { role: "model", parts: [{ text: "Héllo " }] }, index: 0 }], usageMetadata: { promptTokenCount: 8, totalTokenCount: 12 }, modelVersion: "gemini-2.5-flash-001", responseId: "resp-1" },
  { candidates: [{ content: { role: "model", parts: [{ text: "wörld 🌍" }, { text: "", thoughtSignature: "TEXTSIG" }] }, finishReason: "STOP", index: 0 }], usageMetadata: usage, modelVersion: "gemini-2.5-flash-001", responseId: "resp-1" },
];

const STREAM_EVENTS: StreamEvent[] = [
  { type: "start", id: "resp-1", model: "gemini-2.5-flash-001", usage: { inputTokens: 8 } },
  { type: "thinking", text: "Planning… " },
  { type: "text", text: "Héllo " },
  { type: "text", text: "wörld 🌍" },
  { type: "finish", reason: "stop" },
  { type: "usage", usage: { inputTokens: 8, outputTokens: 16, cacheReadTokens: 3, reasoningTokens: 10 } },
];

describe("decodeGeminiStream", () => {
  test("the same events wherever the byte stream is split (inside lines, CRLF pairs, UTF-8 characters)", async () => {
    const text = sse(STREAM);
    const length = enc.encode(text).length;
    expect(await collect(decodeGeminiStream(ctx(), bytes(text, [])))).toEqual(STREAM_EVENTS);
    for (let cut = 1; cut < length; cut++) expect(await collect(decodeGeminiStream(ctx(), bytes(text, [cut])))).toEqual(STREAM_EVENTS);
    // Byte by byte.
    const every = Array.from({ length: length - 1 }, (_, i) => i + 1);
    expect(await collect(decodeGeminiStream(ctx(), bytes(text, every)))).toEqual(STREAM_EVENTS);
    // LF-only framing is accepted too.
    expect(await collect(decodeGeminiStream(ctx(), bytes(text.replace(/\r\n/g, "\n"), [])))).toEqual(STREAM_EVENTS);
  });

  test("function calls arrive whole: start + one delta, ids kept or synthesized, signature kept, names mapped back, finish tool_calls", async () => {
    const names = new FunctionNames();
    const wire = names.toWire("fs.read");
    const text = sse([
      { candidates: [{ content: { role: "model", parts: [{ text: "Let me look." }] }, index: 0 }], responseId: "r2" },
      {
        candidates: [
          {
            content: {
              role: "model",
              parts: [
                { functionCall: { name: wire, args: { path: "/tmp" }, id: "fc-1" }, thoughtSignature: "SIG" },
                { functionCall: { name: "now" } },
              ],
            },
            finishReason: "STOP",
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 7, totalTokenCount: 12 },
        responseId: "r2",
      },
    ]);
    const signatures = new SignatureCache();
    const events = await collect(decodeGeminiStream({ ...ctx(names), signatures }, bytes(text, [17, 90])));
    expect(signatures.recall("fc-1")).toBe("SIG");
    expect(signatures.size).toBe(1);
    expect(events.slice(0, 5)).toEqual([
      { type: "start", id: "r2", model: "gemini-2.5-flash" },
      { type: "text", text: "Let me look." },
      { type: "tool_call_start", index: 0, id: "fc-1", name: "fs.read", signature: "SIG" },
      { type: "tool_call_delta", index: 0, arguments: '{"path":"/tmp"}' },
      { type: "tool_call_start", index: 1, id: expect.stringMatching(/^call_[0-9a-f]{24}$/) as unknown as string, name: "now" },
    ]);
    expect(events.slice(5)).toEqual([
      { type: "tool_call_delta", index: 1, arguments: "{}" },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 7 } },
    ]);
  });

  test("finish reasons", async () => {
    const table: [string | undefined, string][] = [
      ["STOP", "stop"],
      ["MAX_TOKENS", "length"],
      ["SAFETY", "content_filter"],
      ["RECITATION", "content_filter"],
      ["BLOCKLIST", "content_filter"],
      ["PROHIBITED_CONTENT", "content_filter"],
      ["SPII", "content_filter"],
      ["LANGUAGE", "content_filter"],
      ["IMAGE_SAFETY", "content_filter"],
      ["MALFORMED_FUNCTION_CALL", "stop"],
      ["OTHER", "stop"],
      ["FINISH_REASON_UNSPECIFIED", "stop"],
      [undefined, "stop"],
    ];
    for (const [reason, expected] of table) {
      const chunk = { candidates: [{ content: { role: "model", parts: [{ text: "x" }] }, ...(reason ? { finishReason: reason } : {}), index: 0 }] };
      const events = await collect(decodeGeminiStream(ctx(), bytes(sse([chunk]), [])));
      expect({ reason, finish: events.find((e) => e.type === "finish") }).toEqual({ reason, finish: { type: "finish", reason: expected as never } });
    }
  });

  test("usage: the last usageMetadata wins", async () => {
    const chunks = [
      { candidates: [{ content: { parts: [{ text: "a" }] } }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 1 } },
      { candidates: [{ content: { parts: [{ text: "b" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2 } },
      { usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 3, thoughtsTokenCount: 0 } },
    ];
    const events = await collect(decodeGeminiStream(ctx(), bytes(sse(chunks), [])));
    expect(events.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 4, outputTokens: 3, reasoningTokens: 0 } });
  });

  test("an error object inside the stream is thrown, classified, key scrubbed", async () => {
    const text = sse([
      { candidates: [{ content: { parts: [{ text: "partial" }] } }] },
      { error: { code: 503, message: "The model is overloaded (key AIzaSECRETKEY).", status: "UNAVAILABLE" } },
    ]);
    const seen: StreamEvent[] = [];
    let caught: unknown;
    try {
      for await (const ev of decodeGeminiStream(ctx(), bytes(text, []))) seen.push(ev);
    } catch (e) {
      caught = e;
    }
    expect(seen.map((e) => e.type)).toEqual(["start", "text"]);
    expect(caught).toBeInstanceOf(GatewayError);
    const err = caught as GatewayError;
    expect(err.kind).toBe("overloaded");
    expect(err.status).toBe(503);
    expect(err.provider).toBe("gem");
    expect(err.message).toBe("gem: The model is overloaded (key ***).");
  });

  test("a blocked prompt is a content_filter error", async () => {
    const text = sse([{ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 9 } }]);
    const err = await collect(decodeGeminiStream(ctx(), bytes(text, []))).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("content_filter");
    expect(err.status).toBe(400);
    expect(err.code).toBe("PROHIBITED_CONTENT");
    expect(err.message).toBe("gem: the prompt was blocked (PROHIBITED_CONTENT)");
  });

  test("broken streams: a chunk that is not JSON, a stream with no chunks", async () => {
    const bad = await collect(decodeGeminiStream(ctx(), bytes("data: {oops\r\n\r\n", []))).catch((e) => e);
    expect(bad.kind).toBe("upstream_error");
    expect(bad.message).toStartWith("gem: sent a stream chunk that is not JSON");
    const empty = await collect(decodeGeminiStream(ctx(), bytes("", []))).catch((e) => e);
    expect(empty.kind).toBe("upstream_error");
    expect(empty.message).toBe("gem: answered with no content");
  });
});

describe("decodeGeminiResponse", () => {
  test("a whole answer folds to the same response as its stream", async () => {
    const whole = {
      candidates: [
        {
          content: { role: "model", parts: [{ text: "Planning… ", thought: true }, { text: "Héllo wörld 🌍" }] },
          finishReason: "STOP",
          index: 0,
        },
      ],
      usageMetadata: usage,
      modelVersion: "gemini-2.5-flash-001",
      responseId: "resp-1",
    };
    const fromWhole = foldEvents(decodeGeminiResponse(ctx(), whole));
    const fromStream = foldEvents(await collect(decodeGeminiStream(ctx(), bytes(sse(STREAM), [33]))));
    expect(fromWhole).toEqual(fromStream);
    expect(fromWhole).toEqual({
      id: "resp-1",
      model: "gemini-2.5-flash-001",
      content: [
        { type: "thinking", text: "Planning… " },
        { type: "text", text: "Héllo wörld 🌍" },
      ],
      finishReason: "stop",
      stopSequence: undefined,
      usage: { inputTokens: 8, outputTokens: 16, cacheReadTokens: 3, reasoningTokens: 10 },
    });
  });

  test("no candidate text but a safety finish; an answer that is not an object", () => {
    const events = decodeGeminiResponse(ctx(), { candidates: [{ finishReason: "SAFETY", index: 0 }], responseId: "r" });
    expect(foldEvents(events).finishReason).toBe("content_filter");
    expect(() => decodeGeminiResponse(ctx(), [1, 2])).toThrow(/gem: answered with a body that is not a GenerateContentResponse/);
  });
});

describe("Gemini errors", () => {
  const info = (message: string, type?: string) => ({ message, type, code: type });

  test("API_KEY_INVALID in details or message → authentication, reported as 401", () => {
    const body = { error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }] } };
    expect(classifyGeminiError(400, info(body.error.message, "INVALID_ARGUMENT"), body)).toEqual({ kind: "authentication", code: "API_KEY_INVALID", status: 401 });
    expect(classifyGeminiError(400, info("Request failed: API_KEY_INVALID"), {})).toEqual({ kind: "authentication", code: "API_KEY_INVALID", status: 401 });
    expect(classifyGeminiError(400, info("Invalid value at 'contents'", "INVALID_ARGUMENT"), {})).toBeUndefined();
  });

  test("429 with RetryInfo → rate_limited with the retry delay", () => {
    const body = {
      error: {
        code: 429,
        message: "You exceeded your current quota.",
        status: "RESOURCE_EXHAUSTED",
        details: [
          { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [] },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "13s" },
        ],
      },
    };
    expect(classifyGeminiError(429, info(body.error.message, "RESOURCE_EXHAUSTED"), body)).toEqual({ kind: "rate_limited", retryAfterMs: 13_000 });
    expect(classifyGeminiError(429, info("quota"), {})).toEqual({ kind: "rate_limited", retryAfterMs: undefined });
    expect(parseDuration("0.5s")).toBe(500);
    expect(parseDuration("1.250s")).toBe(1250);
    expect(parseDuration("soon")).toBeUndefined();
  });

  test("a prompt over the context window → context_length", () => {
    const message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).";
    expect(classifyGeminiError(400, info(message, "INVALID_ARGUMENT"), {})).toEqual({ kind: "context_length" });
  });

  test("stream errors take the status the body carries", () => {
    const err = geminiStreamError({ providerId: "gem" }, { error: { code: 429, message: "slow down", status: "RESOURCE_EXHAUSTED", details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }] } });
    expect([err.kind, err.status, err.retryAfterMs, err.message]).toEqual(["rate_limited", 429, 2000, "gem: slow down"]);
  });
});
