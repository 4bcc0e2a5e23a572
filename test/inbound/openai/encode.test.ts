import { describe, expect, test } from "bun:test";
import { lmrelayError } from "../../../src/core/errors";
import { foldEvents } from "../../../src/core/fold";
import type { ChatResponse, StreamEvent } from "../../../src/core/types";
import { decodeEmbedRequest, encodeEmbeddings, vectorToBase64 } from "../../../src/inbound/openai/embeddings";
import { encodeChatCompletion, encodeTextCompletion, openaiUsage } from "../../../src/inbound/openai/encode";
import { openaiErrorBody, openaiErrorResponse } from "../../../src/inbound/openai/errors";

const meta = { fallbackId: "chatcmpl-req1", fallbackModel: "routed-model", created: 1724000000 };

describe("encodeChatCompletion: canonical → wire", () => {
  const cases: { name: string; res: ChatResponse; want: unknown }[] = [
    {
      name: "text answer",
      res: { id: "up-1", model: "gpt-x", content: [{ type: "text", text: "Hello!" }], finishReason: "stop", usage: { inputTokens: 9, outputTokens: 3 } },
      want: {
        id: "up-1",
        object: "chat.completion",
        created: 1724000000,
        model: "gpt-x",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello!", refusal: null }, logprobs: null, finish_reason: "stop" }],
        usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
      },
    },
    {
      name: "only tool calls: content null, arguments JSON strings, finish tool_calls, fallbacks for id/model",
      res: {
        id: "",
        model: "",
        content: [
          { type: "tool_call", id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { type: "tool_call", id: "call_2", name: "get_time", arguments: "{}" },
        ],
        finishReason: "tool_calls",
        usage: { inputTokens: 82, outputTokens: 17 },
      },
      want: {
        id: "chatcmpl-req1",
        object: "chat.completion",
        created: 1724000000,
        model: "routed-model",
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: null,
              refusal: null,
              tool_calls: [
                { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
                { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
              ],
            },
            logprobs: null,
            finish_reason: "tool_calls",
          },
        ],
        usage: { prompt_tokens: 82, completion_tokens: 17, total_tokens: 99 },
      },
    },
    {
      name: "thinking → reasoning_content only, never in content; stop_sequence → stop; cache and reasoning usage",
      res: {
        id: "msg_1",
        model: "claude",
        content: [
          { type: "thinking", text: "Let me think", signature: "sig" },
          { type: "text", text: "42" },
        ],
        finishReason: "stop_sequence",
        stopSequence: "END",
        usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 60, cacheWriteTokens: 10, reasoningTokens: 5 },
      },
      want: {
        id: "msg_1",
        object: "chat.completion",
        created: 1724000000,
        model: "claude",
        choices: [{ index: 0, message: { role: "assistant", content: "42", refusal: null, reasoning_content: "Let me think" }, logprobs: null, finish_reason: "stop" }],
        usage: {
          prompt_tokens: 100,
          completion_tokens: 20,
          total_tokens: 120,
          prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 },
          completion_tokens_details: { reasoning_tokens: 5 },
        },
      },
    },
    {
      name: "empty answer: content is an empty string, length",
      res: { id: "x", model: "m", content: [], finishReason: "length", usage: { inputTokens: 1, outputTokens: 0 } },
      want: {
        id: "x",
        object: "chat.completion",
        created: 1724000000,
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: "length" }],
        usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 },
      },
    },
  ];
  for (const c of cases) test(c.name, () => expect(encodeChatCompletion(c.res, meta)).toEqual(c.want as never));

  test("the non-stream body is the fold of the stream's events", () => {
    const events: StreamEvent[] = [
      { type: "start", id: "a1", model: "m1" },
      { type: "text", text: "Hel" },
      { type: "text", text: "lo" },
      { type: "tool_call_start", index: 0, id: "c1", name: "f" },
      { type: "tool_call_delta", index: 0, arguments: '{"x":' },
      { type: "tool_call_delta", index: 0, arguments: "1}" },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 6 } },
    ];
    const body = encodeChatCompletion(foldEvents(events), meta);
    expect(body.choices[0]!.message).toEqual({
      role: "assistant",
      content: "Hello",
      refusal: null,
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
    });
  });

  test("usage: cached_tokens alone", () => {
    expect(openaiUsage({ inputTokens: 10, outputTokens: 1, cacheReadTokens: 4 })).toEqual({
      prompt_tokens: 10,
      completion_tokens: 1,
      total_tokens: 11,
      prompt_tokens_details: { cached_tokens: 4 },
    });
  });
});

describe("encodeTextCompletion (legacy)", () => {
  test("text_completion object with the answer's text", () => {
    const res: ChatResponse = { id: "", model: "", content: [{ type: "thinking", text: "t" }, { type: "text", text: " world" }], finishReason: "length", usage: { inputTokens: 1, outputTokens: 2 } };
    expect(encodeTextCompletion(res, { ...meta, fallbackId: "cmpl-req1" })).toEqual({
      id: "cmpl-req1",
      object: "text_completion",
      created: 1724000000,
      model: "routed-model",
      choices: [{ text: " world", index: 0, logprobs: null, finish_reason: "length" }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
  });
});

describe("errors in OpenAI shape", () => {
  const cases: { name: string; err: ReturnType<typeof lmrelayError>; status: number; type: string; code: string | null }[] = [
    { name: "bad request", err: lmrelayError("invalid_request", "x", { param: "model" }), status: 400, type: "invalid_request_error", code: null },
    { name: "auth", err: lmrelayError("authentication", "bad key"), status: 401, type: "invalid_request_error", code: "invalid_api_key" },
    { name: "forbidden", err: lmrelayError("permission", "no"), status: 403, type: "permission_error", code: null },
    { name: "unknown model", err: lmrelayError("not_found", 'model "x" is not known', { code: "model_not_found" }), status: 404, type: "invalid_request_error", code: "model_not_found" },
    { name: "unknown route", err: lmrelayError("not_found", "no route for POST /v1/x"), status: 404, type: "invalid_request_error", code: null },
    { name: "rate limited", err: lmrelayError("rate_limited", "slow down", { retryAfterMs: 1500 }), status: 429, type: "requests", code: "rate_limit_exceeded" },
    { name: "quota", err: lmrelayError("rate_limited", "no money", { code: "insufficient_quota" }), status: 429, type: "insufficient_quota", code: "insufficient_quota" },
    { name: "context length", err: lmrelayError("context_length", "too long"), status: 400, type: "invalid_request_error", code: "context_length_exceeded" },
    { name: "Anthropic 529 → 503", err: lmrelayError("overloaded", "busy", { status: 529 }), status: 503, type: "server_error", code: null },
    { name: "upstream broken", err: lmrelayError("upstream_error", "bad gateway"), status: 502, type: "server_error", code: null },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const res = openaiErrorResponse(c.err, "req_42");
      expect(res.status).toBe(c.status);
      expect(res.headers.get("x-request-id")).toBe("req_42");
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({ error: { message: c.err.message, type: c.type, param: c.err.param ?? null, code: c.code } });
    });
  }
  test("retry-after in whole seconds, rounded up", () => {
    const res = openaiErrorResponse(lmrelayError("rate_limited", "x", { retryAfterMs: 1500 }), "r");
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("retry-after-ms")).toBe("1500");
    expect(openaiErrorResponse(lmrelayError("internal", "x"), "r").headers.get("retry-after")).toBeNull();
  });
  test("in-stream body", () => {
    expect(openaiErrorBody(lmrelayError("upstream_error", "cut"))).toEqual({ error: { message: "lmrelay: cut", type: "server_error", param: null, code: null } });
  });
});

describe("embeddings", () => {
  test("decode: string input, dimensions, default float", () => {
    expect(decodeEmbedRequest({ model: "e", input: "hi", dimensions: 4 })).toEqual({ request: { model: "e", input: ["hi"], dimensions: 4 }, format: "float" });
    expect(decodeEmbedRequest({ model: "e", input: ["a", "b"], encoding_format: "base64" })).toEqual({ request: { model: "e", input: ["a", "b"] }, format: "base64" });
  });
  for (const [name, body, param, message] of [
    ["token ids", { model: "e", input: [1, 2] }, "input", /token ids/],
    ["nested token ids", { model: "e", input: [[1, 2]] }, "input", /token ids/],
    ["missing input", { model: "e" }, "input", /required/],
    ["empty input array", { model: "e", input: [] }, "input", /empty/],
    ["bad encoding", { model: "e", input: "x", encoding_format: "int8" }, "encoding_format", /float/],
    ["bad dimensions", { model: "e", input: "x", dimensions: 0 }, "dimensions", /at least 1/],
  ] as const) {
    test(`decode rejects ${name}`, () => {
      expect(() => decodeEmbedRequest(body)).toThrow(expect.objectContaining({ param, status: 400, message: expect.stringMatching(message) }));
    });
  }
  test("base64 is little-endian float32 bytes", () => {
    const b64 = vectorToBase64([1, -2.5, 0.25]);
    const bytes = Buffer.from(b64, "base64");
    expect(bytes.length).toBe(12);
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual([1, -2.5, 0.25]);
    expect(b64).toBe("AACAPwAAIMAAAIA+");
  });
  test("encode: float and base64 bodies", () => {
    const res = { model: "", vectors: [[0.5, 1]], usage: { inputTokens: 3 } };
    expect(encodeEmbeddings(res, "float", "emb-1")).toEqual({
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: [0.5, 1] }],
      model: "emb-1",
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(encodeEmbeddings(res, "base64", "emb-1").data[0]!.embedding).toBe("AAAAPwAAgD8=");
  });
});
