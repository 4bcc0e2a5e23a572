import { describe, expect, test } from "bun:test";
import { GatewayError, lmrelayError } from "../../../src/core/errors";
import type { ChatResponse, FinishReason } from "../../../src/core/types";
import { encodeMessage, stopReason, toolInput, toolUseId } from "../../../src/inbound/anthropic/encode";
import { anthropicErrorResponse } from "../../../src/inbound/anthropic/errors";

describe("encodeMessage", () => {
  test("every block kind, usage with cache subsets taken out of input_tokens", () => {
    const res: ChatResponse = {
      id: "msg_up1",
      model: "up-model",
      content: [
        { type: "thinking", text: "let me think", signature: "sig" },
        { type: "thinking", text: "", redacted: "opaque" },
        { type: "text", text: "Let me check." },
        { type: "text", text: "" },
        { type: "tool_call", id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "tool_call", id: "call.2/x", name: "noargs", arguments: "" },
      ],
      finishReason: "tool_calls",
      usage: { inputTokens: 500, outputTokens: 58, cacheReadTokens: 80, cacheWriteTokens: 8 },
    };
    expect(encodeMessage(res, "fallback")).toEqual({
      id: "msg_up1",
      type: "message",
      role: "assistant",
      model: "up-model",
      content: [
        { type: "thinking", thinking: "let me think", signature: "sig" },
        { type: "redacted_thinking", data: "opaque" },
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "call_2_x", name: "noargs", input: {} },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 412, cache_creation_input_tokens: 8, cache_read_input_tokens: 80, output_tokens: 58 },
    });
  });

  test("foreign ids become msg_ ids; a missing model falls back to the upstream model", () => {
    const out = encodeMessage({ id: "chatcmpl-9", model: "", content: [], finishReason: "stop", usage: { inputTokens: 3, outputTokens: 0 } }, "gpt-4o") as Record<string, unknown>;
    expect(out.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(out.model).toBe("gpt-4o");
    expect(out.content).toEqual([]);
    expect(out.stop_reason).toBe("end_turn");
  });
});

describe("stopReason (translation.md §6)", () => {
  const cases: [FinishReason, string | undefined, string, string | null][] = [
    ["stop", undefined, "end_turn", null],
    ["stop", "END", "stop_sequence", "END"],
    ["stop_sequence", "END", "stop_sequence", "END"],
    ["length", undefined, "max_tokens", null],
    ["tool_calls", undefined, "tool_use", null],
    ["content_filter", undefined, "refusal", null],
  ];
  for (const [reason, seq, want, wantSeq] of cases) {
    test(`${reason}${seq ? ` (${seq})` : ""} → ${want}`, () => {
      expect(stopReason(reason, seq)).toEqual({ stop_reason: want as never, stop_sequence: wantSeq });
    });
  }
});

describe("tool helpers", () => {
  test("toolInput parses objects only; anything else is an error naming the tool, never {}", () => {
    expect(toolInput("t", '{"a":1}')).toEqual({ a: 1 });
    expect(toolInput("t", "")).toEqual({});
    for (const bad of ["not json", "[1,2]", "42", '{"a":'])
      expect(() => toolInput("lookup", bad)).toThrow(`lmrelay: the model called tool "lookup" with arguments that are not a JSON object (Anthropic's tool_use input must be an object): ${JSON.stringify(bad)}`);
  });
  test("toolUseId keeps valid ids, rewrites others stably, invents missing ones", () => {
    expect(toolUseId("toolu_01A-b")).toBe("toolu_01A-b");
    expect(toolUseId("fc:1.2")).toBe("fc_1_2");
    expect(toolUseId("fc:1.2")).toBe(toolUseId("fc:1.2"));
    expect(toolUseId("")).toMatch(/^toolu_[0-9a-f]{32}$/);
  });
});

describe("anthropicErrorResponse", () => {
  const cases: { err: GatewayError; status: number; type: string }[] = [
    { err: lmrelayError("invalid_request", "bad"), status: 400, type: "invalid_request_error" },
    { err: lmrelayError("context_length", "too long"), status: 400, type: "invalid_request_error" },
    { err: lmrelayError("authentication", "who"), status: 401, type: "authentication_error" },
    { err: new GatewayError("invalid_request", "p: pay", { status: 402 }), status: 402, type: "billing_error" },
    { err: lmrelayError("permission", "no"), status: 403, type: "permission_error" },
    { err: lmrelayError("not_found", "where"), status: 404, type: "not_found_error" },
    { err: lmrelayError("request_too_large", "big"), status: 413, type: "request_too_large" },
    { err: lmrelayError("rate_limited", "slow down"), status: 429, type: "rate_limit_error" },
    { err: lmrelayError("internal", "bug"), status: 500, type: "api_error" },
    { err: new GatewayError("upstream_error", "p: bad gateway"), status: 502, type: "api_error" },
    { err: new GatewayError("overloaded", "p: busy", { status: 503 }), status: 529, type: "overloaded_error" },
    { err: new GatewayError("overloaded", "p: busy", { status: 529 }), status: 529, type: "overloaded_error" },
    { err: lmrelayError("unavailable", "nothing to try"), status: 503, type: "overloaded_error" },
    { err: lmrelayError("timeout", "slow"), status: 504, type: "timeout_error" },
    { err: new GatewayError("timeout", "p: timeout", { status: 408 }), status: 408, type: "timeout_error" },
    { err: new GatewayError("invalid_request", "p: unprocessable", { status: 422 }), status: 422, type: "invalid_request_error" },
  ];
  for (const c of cases) {
    test(`${c.err.kind}/${c.err.status} → ${c.status} ${c.type}`, async () => {
      const res = anthropicErrorResponse(c.err, "req_7");
      expect(res.status).toBe(c.status);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("x-request-id")).toBe("req_7");
      expect(res.headers.get("request-id")).toBe("req_7");
      expect(res.headers.get("retry-after")).toBeNull();
      expect(await res.json()).toEqual({ type: "error", error: { type: c.type, message: c.err.message }, request_id: "req_7" });
    });
  }

  test("retry-after in whole seconds (rounded up) and retry-after-ms", () => {
    const res = anthropicErrorResponse(lmrelayError("rate_limited", "wait", { retryAfterMs: 1500 }), "r");
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("retry-after-ms")).toBe("1500");
  });
});
