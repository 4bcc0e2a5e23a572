import { describe, expect, test } from "bun:test";
import { GatewayError, lmrelayError } from "../../src/core/errors";
import type { StreamEvent } from "../../src/core/types";
import { anthropicErrorResponse } from "../../src/inbound/anthropic/errors";
import { AnthropicStreamEncoder } from "../../src/inbound/anthropic/stream";

// Unit-level pins for the inbound fixes the real-client tests led to (the end-to-end proof is in
// the sibling client tests).

function frames(enc: AnthropicStreamEncoder, events: StreamEvent[]): Record<string, any>[] {
  const text = events.map((ev) => enc.encode(ev)).join("") + enc.end();
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)));
}

describe("Anthropic stream: input tokens in message_start", () => {
  // LangChain's ChatAnthropic takes input tokens from message_start only; upstreams other than
  // Anthropic report usage at the end, so message_start carried 0 and LangChain reported 0.
  const answer: StreamEvent[] = [
    { type: "start", id: "chatcmpl-1", model: "gpt-4o" },
    { type: "text", text: "hi" },
    { type: "finish", reason: "stop" },
    { type: "usage", usage: { inputTokens: 42, outputTokens: 1 } },
  ];

  test("an upstream start without usage: the estimate announces input tokens; message_delta has the real count", () => {
    let estimates = 0;
    const enc = new AnthropicStreamEncoder({
      model: "gpt-4o",
      estimateInputTokens: () => {
        estimates++;
        return 40;
      },
    });
    const out = frames(enc, answer);
    expect(out[0]!.message.usage).toEqual({ input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 });
    expect(out.find((f) => f.type === "message_delta")!.usage).toEqual({ input_tokens: 42, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 });
    expect(estimates).toBe(1);
  });

  test("the upstream's own start count wins and the estimate is never computed", () => {
    const enc = new AnthropicStreamEncoder({
      model: "claude",
      estimateInputTokens: () => {
        throw new Error("estimate computed needlessly");
      },
    });
    const out = frames(enc, [{ type: "start", id: "msg_1", usage: { inputTokens: 30, cacheReadTokens: 10 } }, ...answer.slice(1)]);
    expect(out[0]!.message.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 10 });
  });

  test("no usage ever reported: message_delta repeats the estimate rather than contradict it with 0", () => {
    const enc = new AnthropicStreamEncoder({ model: "m", estimateInputTokens: () => 7 });
    const out = frames(enc, [{ type: "text", text: "hi" }, { type: "finish", reason: "stop" }]);
    expect(out[0]!.message.usage.input_tokens).toBe(7);
    expect(out.find((f) => f.type === "message_delta")!.usage.input_tokens).toBe(7);
  });
});

describe("Anthropic error answers say whether to retry", () => {
  // Claude Code retries a 401 ten times with backoff unless told not to; the SDKs obey the header.
  test.each([
    ["401 bad key", "false", lmrelayError("authentication", "invalid API key"), 401],
    ["400 bad field", "false", lmrelayError("invalid_request", "max_tokens: field required"), 400],
    ["404 unknown model", "false", lmrelayError("not_found", "unknown model"), 404],
    ["429 over a limit", "true", lmrelayError("rate_limited", "over rpm", { retryAfterMs: 2000 }), 429],
    ["529 upstream overloaded", "true", new GatewayError("overloaded", "claude: Overloaded", { status: 529, provider: "claude" }), 529],
    ["503 no candidate left", "true", lmrelayError("unavailable", "every candidate failed"), 503],
    ["502 upstream rejected its key (the error says so)", "false", lmrelayError("upstream_error", "upstream a rejected its key", { status: 502, headers: { "x-should-retry": "false" } }), 502],
  ] as const)("%s → x-should-retry: %s", (_label, retry, err, status) => {
    const res = anthropicErrorResponse(err, "req_1");
    expect(res.status).toBe(status);
    expect(res.headers.get("x-should-retry")).toBe(retry);
  });
});
