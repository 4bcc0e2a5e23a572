import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { foldEvents } from "../../src/core/fold";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import { anthropicAdapter } from "../../src/upstream/anthropic";
import { adapterFor } from "../../src/upstream/registry";
import type { UpstreamCall } from "../../src/upstream/types";
import { type AnthropicFake, anthropicErrorBody, startAnthropicFake } from "../fakes/anthropic";
import { collect, rejection } from "../helpers/async";

// The adapter end to end against the fake Anthropic API: HTTP and headers, stream and non-stream
// decoding, the pitfall repairs accepted by the API's own checks, errors, model listing.

const KEY = "sk-ant-secret-key-4242";
let fake: AnthropicFake;

beforeAll(async () => {
  fake = await startAnthropicFake({ keys: [KEY] });
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({});
});

function call(opts: { key?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): UpstreamCall {
  const cfg = resolveConfig({ providers: { claude: { type: "anthropic", baseUrl: `${fake.url}/`, keys: [opts.key ?? KEY], headers: opts.headers } } });
  const provider = cfg.providers.get("claude")!;
  return { target: { provider, key: provider.keys[0], model: "claude-test-1" }, signal: opts.signal ?? AbortSignal.timeout(5000) };
}

const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "claude/claude-test-1",
  system: [{ type: "text", text: "Be brief." }],
  messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
  stream: false,
  ...over,
});



const weather = { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

test("the registry maps the anthropic provider type to this adapter, which has no embeddings", () => {
  expect(adapterFor("anthropic")).toBe(anthropicAdapter);
  expect(anthropicAdapter.embed).toBeUndefined();
});

describe("request", () => {
  test("POST /v1/messages with x-api-key, anthropic-version, content-type and configured headers", async () => {
    await collect((await anthropicAdapter.chat(req(), call({ headers: { "X-Team": "a" } }))).events);
    const r = fake.requests[0]!;
    expect(r.method).toBe("POST");
    expect(r.path).toBe("/v1/messages");
    expect(r.headers["x-api-key"]).toBe(KEY);
    expect(r.headers["anthropic-version"]).toBe("2023-06-01");
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["x-team"]).toBe("a");
    expect(r.headers.authorization).toBeUndefined();
    expect(r.headers["anthropic-beta"]).toBeUndefined();
    expect(r.body).toEqual({ model: "claude-test-1", system: [{ type: "text", text: "Be brief." }], messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }], max_tokens: 4096 });
  });

  test("anthropic-beta: the client's flags only when it spoke Anthropic, joined with configured ones", async () => {
    const fromAnthropic = req({ passthrough: { protocol: "anthropic", fields: { "anthropic-beta": "context-1m-2025-08-07", service_tier: "auto" } } });
    await collect((await anthropicAdapter.chat(fromAnthropic, call({ headers: { "anthropic-beta": "interleaved-thinking-2025-05-14" } }))).events);
    expect(fake.requests[0]!.headers["anthropic-beta"]).toBe("interleaved-thinking-2025-05-14,context-1m-2025-08-07");
    expect(fake.requests[0]!.body.service_tier).toBe("auto");
    expect(fake.requests[0]!.body["anthropic-beta"]).toBeUndefined();
    const fromOllama = req({ passthrough: { protocol: "ollama", fields: { "anthropic-beta": "x", keep_alive: "5m" } } });
    await collect((await anthropicAdapter.chat(fromOllama, call())).events);
    expect(fake.requests[1]!.headers["anthropic-beta"]).toBeUndefined();
    expect(fake.requests[1]!.body.keep_alive).toBeUndefined();
  });

  test("a history full of pitfalls is repaired into something the API accepts", async () => {
    const messy = req({
      temperature: 1.6,
      stop: ["  "],
      user: "someone@example.com",
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "text", text: "" }] },
        { role: "assistant", content: [{ type: "text", text: "" }, { type: "tool_call", id: "call:1", name: "get_weather", arguments: '{"city":"Paris"}' }, { type: "tool_call", id: "call:2", name: "get_weather", arguments: "" }] },
        { role: "user", content: [{ type: "text", text: "Also:" }, { type: "tool_result", toolCallId: "call:1", content: [{ type: "text", text: "18C" }] }] },
        { role: "user", content: [{ type: "tool_result", toolCallId: "call:9", content: [{ type: "text", text: "lost" }] }] },
      ],
    });
    const res = foldEvents(await collect((await anthropicAdapter.chat(messy, call())).events));
    expect(res.content).toEqual([{ type: "text", text: "Hello from the Anthropic fake" }]);
    expect(fake.requests[0]!.body.tools).toEqual([{ name: "get_weather", input_schema: { type: "object", properties: {} } }]);
  });
});

describe("answers", () => {
  for (const stream of [false, true])
    test(`${stream ? "stream" : "non-stream"}: thinking, text, tool calls, cache usage`, async () => {
      fake.reply({ text: "Checking.", toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: { city: "Paris" } }], usage: { input: 200, output: 30, cached: 120 }, cacheWrite: 50 });
      const reply = await anthropicAdapter.chat(req({ stream, tools: [weather], reasoning: { enabled: true, effort: "low" } }), call());
      expect(reply.headers?.get("request-id")).toStartWith("req_");
      const res = foldEvents(await collect(reply.events));
      expect(res.id).toStartWith("msg_");
      expect(res.model).toBe("claude-test-1");
      expect(res.content).toEqual([
        { type: "thinking", text: "Let me think about this.", signature: expect.stringMatching(/^sig_/) },
        { type: "text", text: "Checking." },
        { type: "tool_call", id: "toolu_1", name: "get_weather", arguments: '{"city":"Paris"}' },
      ]);
      expect(res.finishReason).toBe("tool_calls");
      expect(res.usage).toEqual({ inputTokens: 200, outputTokens: 30, cacheReadTokens: 120, cacheWriteTokens: 50 });
      expect(fake.requests[0]!.headers.accept).toBe(stream ? "text/event-stream" : "application/json");
    });

  for (const stream of [false, true])
    test(`${stream ? "stream" : "non-stream"}: JSON mode answer comes back as text with finish stop`, async () => {
      fake.reply({ toolCalls: [{ id: "toolu_j", name: "json_tool_call", arguments: { city: "Paris", temp: 18 } }] });
      const res = foldEvents(await collect((await anthropicAdapter.chat(req({ stream, responseFormat: { type: "json" } }), call())).events));
      expect(res.content).toEqual([{ type: "text", text: '{"city":"Paris","temp":18}' }]);
      expect(res.finishReason).toBe("stop");
    });

  test("a stream request answered with one JSON body (some proxies) is decoded all the same", async () => {
    const message = { id: "msg_p", type: "message", role: "assistant", model: "claude-test-1", content: [{ type: "text", text: "whole" }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } };
    fake.fail({ kind: "status", status: 200, body: message });
    const res = foldEvents(await collect((await anthropicAdapter.chat(req({ stream: true }), call())).events));
    expect(res.content).toEqual([{ type: "text", text: "whole" }]);
    expect(res.usage).toEqual({ inputTokens: 3, outputTokens: 1 });
  });

  test("stop sequence reported with its string", async () => {
    fake.reply({ text: "one two", finishReason: "stop_sequence" });
    const res = foldEvents(await collect((await anthropicAdapter.chat(req({ stream: true, stop: ["END"] }), call())).events));
    expect(res.finishReason).toBe("stop_sequence");
    expect(res.stopSequence).toBe("END");
  });
});

describe("errors", () => {
  test("401: authentication, faithful status, provider-labelled message without the key", async () => {
    const err = await rejection(anthropicAdapter.chat(req(), call({ key: "sk-ant-wrong-key-0000" })));
    expect(err.kind).toBe("authentication");
    expect(err.status).toBe(401);
    expect(err.provider).toBe("claude");
    expect(err.code).toBe("authentication_error");
    expect(err.message).toBe("claude: invalid x-api-key");
  });

  test("429 with retry-after → rate_limited with retryAfterMs", async () => {
    fake.fail({ kind: "status", status: 429, body: anthropicErrorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), headers: { "retry-after": "12" } });
    const err = await rejection(anthropicAdapter.chat(req(), call()));
    expect(err.kind).toBe("rate_limited");
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBe(12_000);
    expect(err.code).toBe("rate_limit_error");
    expect(err.message).toBe("claude: Number of request tokens has exceeded your per-minute rate limit");
  });

  test("spend limit and exhausted credit → insufficient_quota", async () => {
    const spend = { type: "error", error: { type: "rate_limit_error", message: "spend limit reached", details: { error_code: "enforced_spend_limit_reached" } } };
    fake.fail({ kind: "status", status: 429, body: spend });
    const err = await rejection(anthropicAdapter.chat(req(), call()));
    expect([err.kind, err.code]).toEqual(["rate_limited", "insufficient_quota"]);
    fake.fail({ kind: "status", status: 400, body: anthropicErrorBody("invalid_request_error", "Your credit balance is too low to access the Anthropic API.") });
    const credit = await rejection(anthropicAdapter.chat(req(), call()));
    expect([credit.kind, credit.code, credit.status]).toEqual(["rate_limited", "insufficient_quota", 400]);
  });

  test("529 overloaded keeps status 529", async () => {
    fake.fail({ kind: "status", status: 529, body: anthropicErrorBody("overloaded_error", "Overloaded") });
    const err = await rejection(anthropicAdapter.chat(req({ stream: true }), call()));
    expect([err.kind, err.status, err.code, err.message]).toEqual(["overloaded", 529, "overloaded_error", "claude: Overloaded"]);
  });

  test("400 from the API's own validation is invalid_request with its message", async () => {
    const err = await rejection(anthropicAdapter.chat(req({ tools: [weather], toolChoice: { type: "tool", name: "missing" } }), call()));
    expect(err.kind).toBe("invalid_request");
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_request_error");
    expect(err.message).toBe("claude: tool_choice: tool 'missing' not found in tools");
  });

  test("400 prompt too long is context_length", async () => {
    fake.fail({ kind: "status", status: 400, body: anthropicErrorBody("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum") });
    expect((await rejection(anthropicAdapter.chat(req(), call()))).kind).toBe("context_length");
  });

  test("an error body echoing the key never shows it", async () => {
    fake.fail({ kind: "status", status: 403, body: anthropicErrorBody("permission_error", `key ${KEY} may not use this model`) });
    const err = await rejection(anthropicAdapter.chat(req(), call()));
    expect(err.kind).toBe("permission");
    expect(err.message).not.toContain(KEY);
  });

  test("an error event right after the 200 fails the attempt itself, before any content", async () => {
    fake.reply({ midStreamError: { type: "overloaded_error", message: "Overloaded" } });
    const reply = await anthropicAdapter.chat(req({ stream: true }), call());
    const seen: StreamEvent[] = [];
    const err = await rejection(
      (async () => {
        for await (const ev of reply.events) seen.push(ev);
      })(),
    );
    expect(seen.map((e) => e.type)).toEqual(["start"]);
    expect([err.kind, err.status, err.code]).toEqual(["overloaded", 529, "overloaded_error"]);
  });

  test("a stream cut mid-answer throws upstream_error from the iterator", async () => {
    // Paced chunks, so the first ones leave the fake before the cut.
    fake.reply({ text: "one two three four five", chunkDelayMs: 15 });
    fake.fail({ kind: "cut", afterChunks: 4 });
    const reply = await anthropicAdapter.chat(req({ stream: true }), call());
    const seen: StreamEvent[] = [];
    const err = await rejection(
      (async () => {
        for await (const ev of reply.events) seen.push(ev);
      })(),
    );
    expect(seen[0]?.type).toBe("start");
    expect(err.kind).toBe("upstream_error");
    expect(err.provider).toBe("claude");
  });

  test("a 200 that is not JSON is a broken answer", async () => {
    fake.fail({ kind: "badJson" });
    const err = await rejection(anthropicAdapter.chat(req(), call()));
    expect(err.kind).toBe("upstream_error");
    expect(err.message).toStartWith("claude: ");
  });

  test("a hung upstream is abandoned when the call's signal fires", async () => {
    fake.fail({ kind: "hang" });
    const started = performance.now();
    const err = await rejection(anthropicAdapter.chat(req({ stream: true }), call({ signal: AbortSignal.timeout(150) })));
    expect(err.kind).toBe("timeout");
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test("a connection refused is an upstream_error labelled with the provider", async () => {
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = dead.port;
    await dead.stop(true);
    const cfg = resolveConfig({ providers: { claude: { type: "anthropic", baseUrl: `http://127.0.0.1:${port}`, keys: [KEY] } } });
    const provider = cfg.providers.get("claude")!;
    const err = await rejection(anthropicAdapter.chat(req(), { target: { provider, key: provider.keys[0], model: "m" }, signal: AbortSignal.timeout(5000) }));
    expect([err.kind, err.code]).toEqual(["upstream_error", "connection_error"]);
  });
});

describe("listModels", () => {
  test("follows has_more/last_id across pages of 1000", async () => {
    const all = Array.from({ length: 2345 }, (_, i) => `claude-m-${String(i).padStart(4, "0")}`);
    fake.models = all;
    const { provider, key } = call().target;
    const ids = await anthropicAdapter.listModels!(provider, key, AbortSignal.timeout(5000));
    expect(ids).toEqual(all);
    expect(fake.requests.map((r) => r.url)).toEqual(["/v1/models?limit=1000", "/v1/models?limit=1000&after_id=claude-m-0999", "/v1/models?limit=1000&after_id=claude-m-1999"]);
    expect(fake.requests[0]!.headers["x-api-key"]).toBe(KEY);
    expect(fake.requests[0]!.headers["anthropic-version"]).toBe("2023-06-01");
  });

  test("a wrong key fails with authentication", async () => {
    const { provider, key } = call({ key: "sk-ant-nope-nope" }).target;
    const err = await rejection(anthropicAdapter.listModels!(provider, key, AbortSignal.timeout(5000)));
    expect(err.kind).toBe("authentication");
  });
});

describe("countTokens", () => {
  test("POST /v1/messages/count_tokens with a count body only (no max_tokens, sampling, stream or metadata)", async () => {
    fake.reply({ usage: { input: 321, output: 1 } });
    const tokens = await anthropicAdapter.countTokens!(req({ stream: true, maxTokens: 100, temperature: 0.5, user: "u1", stop: ["x"] }), call());
    expect(tokens).toBe(321);
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages/count_tokens");
    expect(sent.headers["x-api-key"]).toBe(KEY);
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(Object.keys(sent.body).sort()).toEqual(["messages", "model", "system"]);
  });

  test("a refusal is an error of the usual kind; a key the API does not know is an authentication error", async () => {
    expect((await rejection(anthropicAdapter.countTokens!(req(), call({ key: "sk-ant-unknown" })))).kind).toBe("authentication");
    fake.fail({ kind: "status", status: 529, body: anthropicErrorBody("overloaded_error", "Overloaded") });
    expect((await rejection(anthropicAdapter.countTokens!(req(), call()))).kind).toBe("overloaded");
  });
});
