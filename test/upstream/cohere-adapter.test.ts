import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { foldEvents } from "../../src/core/fold";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import { cohereAdapter } from "../../src/upstream/cohere/adapter";
import { adapterFor } from "../../src/upstream/registry";
import type { UpstreamCall } from "../../src/upstream/types";
import { type CohereFake, startCohereFake } from "../fakes/cohere";
import { collect, rejection } from "../helpers/async";

// The adapter end to end against the fake Cohere API: HTTP, auth, stream and non-stream decoding,
// error classification, embed batching, model listing.

const KEY = "co-secret-key-123";
let fake: CohereFake;

beforeAll(async () => {
  fake = await startCohereFake({ keys: [KEY] });
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({});
});

function providerFor(baseUrl: string, key = KEY) {
  const cfg = resolveConfig({ providers: { co: { type: "cohere", baseUrl, keys: [key], headers: { "X-Client-Name": "lmrelay-test" } } } });
  return cfg.providers.get("co")!;
}

function call(opts: { key?: string; baseUrl?: string; signal?: AbortSignal; model?: string } = {}): UpstreamCall {
  const provider = providerFor(opts.baseUrl ?? fake.url, opts.key ?? KEY);
  return { target: { provider, key: provider.keys[0], model: opts.model ?? "command-a-03-2025" }, signal: opts.signal ?? AbortSignal.timeout(5000) };
}

const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "co/command-a-03-2025",
  system: [{ type: "text", text: "Be brief." }],
  messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
  stream: false,
  ...over,
});



test("the registry maps the cohere provider type to this adapter", () => {
  expect(adapterFor("cohere")).toBe(cohereAdapter);
});

describe("chat", () => {
  test("non-stream: POST /v2/chat with Bearer auth and provider headers; answer decoded", async () => {
    fake.reply({ text: "Hello there", usage: { input: 40, output: 3, cached: 8 } });
    const reply = await cohereAdapter.chat(req({ maxTokens: 20 }), call());
    const answer = foldEvents(await collect(reply.events));
    expect(answer.content).toEqual([{ type: "text", text: "Hello there" }]);
    expect(answer.finishReason).toBe("stop");
    expect(answer.model).toBe("command-a-03-2025");
    expect(answer.usage).toEqual({ inputTokens: 40, outputTokens: 3, cacheReadTokens: 8 });
    expect(reply.headers?.get("content-type")).toContain("application/json");
    const sent = fake.requests[0]!;
    expect(sent.method).toBe("POST");
    expect(sent.path).toBe("/v2/chat");
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.headers["x-client-name"]).toBe("lmrelay-test");
    expect(sent.body).toEqual({
      model: "command-a-03-2025",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
      stream: false,
      max_tokens: 20,
    });
  });

  test("stream: SSE decoded into events, the same answer as the fold", async () => {
    fake.reply({ text: "one two three", usage: { input: 11, output: 3 } });
    const reply = await cohereAdapter.chat(req({ stream: true }), call());
    const events = await collect(reply.events);
    expect(events[0]).toMatchObject({ type: "start", model: "command-a-03-2025" });
    expect(events.filter((e) => e.type === "text").map((e: any) => e.text)).toEqual(["one ", "two ", "three"]);
    expect(events.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 11, outputTokens: 3 } },
    ]);
    expect(fake.requests[0]!.body.stream).toBe(true);
    expect(fake.requests[0]!.headers.accept).toBe("text/event-stream");
  });

  for (const stream of [false, true]) {
    test(`tools (${stream ? "stream" : "non-stream"}): tool_plan → text, tool calls with canonical indexes`, async () => {
      fake.reply({
        toolCalls: [
          { id: "get_weather_1", name: "get_weather", arguments: { city: "Paris" } },
          { id: "get_time_2", name: "get_time", arguments: {} },
        ],
      });
      const reply = await cohereAdapter.chat(
        req({ stream, tools: [{ name: "get_weather", parameters: { type: "object" } }, { name: "get_time", parameters: { type: "object" } }] }),
        call(),
      );
      const answer = foldEvents(await collect(reply.events));
      expect(answer.content).toEqual([
        { type: "text", text: "I will call get_weather, get_time." },
        { type: "tool_call", id: "get_weather_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "tool_call", id: "get_time_2", name: "get_time", arguments: "{}" },
      ]);
      expect(answer.finishReason).toBe("tool_calls");
    });

    test(`thinking (${stream ? "stream" : "non-stream"}) when reasoning is on`, async () => {
      fake.reply({ text: "42", thinking: "Six times seven." });
      // A reasoning model: command-a-03-2025 does not think, and gets no `thinking` (model-rules.test.ts).
      const reply = await cohereAdapter.chat(req({ stream, reasoning: { enabled: true } }), call({ model: "command-a-reasoning-08-2025" }));
      const answer = foldEvents(await collect(reply.events));
      expect(answer.content).toEqual([
        { type: "thinking", text: "Six times seven." },
        { type: "text", text: "42" },
      ]);
      expect(fake.requests[0]!.body.thinking).toEqual({ type: "enabled" });
    });

    test(`MAX_TOKENS (${stream ? "stream" : "non-stream"}) → length`, async () => {
      fake.reply({ text: "cut", finishReason: "MAX_TOKENS" });
      const answer = foldEvents(await collect((await cohereAdapter.chat(req({ stream }), call())).events));
      expect(answer.finishReason).toBe("length");
    });
  }

  test("non-stream ERROR finish is thrown before the answer begins (the router can fail over)", async () => {
    fake.reply({ text: "x", finishReason: "ERROR" });
    const err = await rejection(cohereAdapter.chat(req(), call()));
    expect(err.kind).toBe("upstream_error");
    expect(err.provider).toBe("co");
  });

  test("stream ERROR finish is thrown from the iterator", async () => {
    fake.reply({ text: "x", finishReason: "ERROR" });
    const reply = await cohereAdapter.chat(req({ stream: true }), call());
    const err = await rejection(collect(reply.events));
    expect(err.message).toBe("co: generation failed");
  });
});

describe("errors", () => {
  test("wrong key → 401 authentication, message from Cohere, key never shown", async () => {
    const err = await rejection(cohereAdapter.chat(req(), call({ key: "wrong-key-abcdef" })));
    expect(err.kind).toBe("authentication");
    expect(err.status).toBe(401);
    expect(err.provider).toBe("co");
    expect(err.message).toBe("co: invalid api token");
    expect(err.message).not.toContain("wrong-key-abcdef");
  });

  test("429 with Retry-After → rate_limited with retryAfterMs", async () => {
    fake.fail({ kind: "status", status: 429, body: { message: "You are past the per minute request limit" }, headers: { "retry-after": "7" } });
    const err = await rejection(cohereAdapter.chat(req(), call()));
    expect(err.kind).toBe("rate_limited");
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBe(7000);
    expect(err.message).toBe("co: You are past the per minute request limit");
  });

  test("429 trial-key limit carries a code", async () => {
    fake.fail({ kind: "status", status: 429, body: { message: "You are using a Trial key, which is limited to 1000 API calls / month." } });
    expect((await rejection(cohereAdapter.chat(req(), call()))).code).toBe("trial_key_limit");
  });

  test("498 invalid token → authentication", async () => {
    fake.fail({ kind: "status", status: 498, body: { message: "invalid api token" } });
    const err = await rejection(cohereAdapter.chat(req(), call()));
    expect(err.kind).toBe("authentication");
    expect(err.status).toBe(498);
  });

  test("400 from Cohere → invalid_request with Cohere's message", async () => {
    fake.fail({ kind: "status", status: 400, body: { id: "x", message: "invalid request: message must not be empty in a turn" } });
    const err = await rejection(cohereAdapter.chat(req(), call()));
    expect(err.kind).toBe("invalid_request");
    expect(err.message).toBe("co: invalid request: message must not be empty in a turn");
  });

  test("400 too many tokens → context_length", async () => {
    fake.fail({ kind: "status", status: 400, body: { message: "too many tokens: total number of tokens in the prompt cannot exceed 256000" } });
    expect((await rejection(cohereAdapter.chat(req(), call()))).kind).toBe("context_length");
  });

  test("500, 503 and 402 keep their status", async () => {
    fake.fail(
      { kind: "status", status: 500, body: { message: "internal server error" } },
      { kind: "status", status: 503, body: { message: "service unavailable" } },
      { kind: "status", status: 402, body: { message: "Please add a payment method" } },
    );
    const e500 = await rejection(cohereAdapter.chat(req(), call()));
    expect([e500.kind, e500.status]).toEqual(["upstream_error", 500]);
    const e503 = await rejection(cohereAdapter.chat(req(), call()));
    expect([e503.kind, e503.status]).toEqual(["overloaded", 503]);
    const e402 = await rejection(cohereAdapter.chat(req(), call()));
    expect([e402.kind, e402.status, e402.code]).toEqual(["rate_limited", 402, "insufficient_quota"]);
  });

  test("a 200 that is not JSON → upstream_error", async () => {
    fake.fail({ kind: "badJson" });
    const err = await rejection(cohereAdapter.chat(req(), call()));
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("bad_response");
  });

  test("a stream asked for but a JSON body answered → upstream_error from the iterator", async () => {
    fake.fail({ kind: "badJson" });
    const reply = await cohereAdapter.chat(req({ stream: true }), call());
    expect((await rejection(collect(reply.events))).kind).toBe("upstream_error");
  });

  test("a stream cut mid-way → upstream_error from the iterator after the first events", async () => {
    fake.reply({ text: "a b c d e f", chunkDelayMs: 5 });
    fake.fail({ kind: "cut", afterChunks: 3 });
    const reply = await cohereAdapter.chat(req({ stream: true }), call());
    const seen: StreamEvent[] = [];
    const err = await rejection(
      (async () => {
        for await (const ev of reply.events) seen.push(ev);
      })(),
    );
    expect(err.kind).toBe("upstream_error");
    expect(seen[0]?.type).toBe("start");
    expect(seen.some((e) => e.type === "finish")).toBe(false);
  });

  test("a hanging upstream → timeout when the attempt's signal times out", async () => {
    fake.fail({ kind: "hang" });
    const err = await rejection(cohereAdapter.chat(req(), call({ signal: AbortSignal.timeout(150) })));
    expect(err.kind).toBe("timeout");
  });

  test("nothing listening → upstream_error connection_error", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const deadUrl = `http://127.0.0.1:${probe.port}`;
    await probe.stop(true);
    const err = await rejection(cohereAdapter.chat(req(), call({ baseUrl: deadUrl })));
    expect([err.kind, err.code]).toEqual(["upstream_error", "connection_error"]);
  });
});

describe("embed", () => {
  test("POST /v2/embed with search_document, float, output_dimension; vectors and billed tokens", async () => {
    const res = await cohereAdapter.embed!({ model: "co/embed-v4.0", input: ["hello", "big world"], dimensions: 4 }, call({ model: "embed-v4.0" }));
    expect(res.model).toBe("embed-v4.0");
    expect(res.vectors).toHaveLength(2);
    expect(res.vectors[0]).toHaveLength(4);
    expect(res.usage).toEqual({ inputTokens: 3 });
    const sent = fake.requests[0]!;
    expect(sent.path).toBe("/v2/embed");
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.body).toEqual({
      model: "embed-v4.0",
      texts: ["hello", "big world"],
      input_type: "search_document",
      embedding_types: ["float"],
      output_dimension: 4,
    });
  });

  test("more than 96 texts go in batches, in order; truncate maps to END/NONE", async () => {
    const input = Array.from({ length: 200 }, (_, i) => `text number ${i}`);
    const res = await cohereAdapter.embed!({ model: "embed-v4.0", input, truncate: false }, call({ model: "embed-v4.0" }));
    expect(fake.requests.map((r) => r.body.texts.length)).toEqual([96, 96, 8]);
    expect(fake.requests[0]!.body.truncate).toBe("NONE");
    expect(res.vectors).toHaveLength(200);
    expect(res.usage.inputTokens).toBe(600);
    const single = await cohereAdapter.embed!({ model: "embed-v4.0", input: [input[150]!] }, call({ model: "embed-v4.0" }));
    expect(res.vectors[150]).toEqual(single.vectors[0]!);
  });

  test("errors are classified like chat errors", async () => {
    fake.fail({ kind: "status", status: 429, body: { message: "slow down" }, headers: { "retry-after": "2" } });
    const err = await rejection(cohereAdapter.embed!({ model: "embed-v4.0", input: ["x"] }, call()));
    expect([err.kind, err.retryAfterMs, err.message]).toEqual(["rate_limited", 2000, "co: slow down"]);
  });
});

describe("listModels", () => {
  test("GET /v1/models: chat and embed models, every page", async () => {
    const saved = fake.models;
    fake.models = [...Array.from({ length: 1500 }, (_, i) => `command-x-${i}`), "embed-v4.0", "rerank-v3.5"];
    try {
      const provider = providerFor(fake.url);
      const names = await cohereAdapter.listModels!(provider, provider.keys[0], AbortSignal.timeout(5000));
      expect(names).toHaveLength(1501);
      expect(names.at(-1)).toBe("embed-v4.0");
      expect(names).not.toContain("rerank-v3.5");
      expect(fake.requests.map((r) => r.url)).toEqual(["/v1/models?page_size=1000", "/v1/models?page_size=1000&page_token=1000"]);
      expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    } finally {
      fake.models = saved;
    }
  });

  test("a bad key is an authentication error", async () => {
    const provider = providerFor(fake.url, "bad-key-000");
    const err = await rejection(cohereAdapter.listModels!(provider, provider.keys[0], AbortSignal.timeout(5000)));
    expect(err.kind).toBe("authentication");
  });
});
