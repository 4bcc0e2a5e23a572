import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ResolvedKey, ResolvedProvider } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import { ollamaAdapter, ollamaModelMatches } from "../../src/upstream/ollama";
import { adapterFor } from "../../src/upstream/registry";
import type { UpstreamCall } from "../../src/upstream/types";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";

// The adapter against the fake Ollama server: HTTP shape, decoding, errors, embed, model list.

let fake: OllamaFake;
beforeAll(async () => {
  fake = await startOllamaFake();
});
afterAll(() => fake.stop());

function provider(baseUrl: string, over: Partial<ResolvedProvider> = {}): ResolvedProvider {
  return {
    id: "local",
    type: "ollama",
    baseUrl,
    keys: [],
    headers: {},
    priority: 0,
    weight: 1,
    free: true,
    pricing: {},
    deployments: {},
    ...over,
  };
}

const key = (secret: string): ResolvedKey => ({ secret, name: "k", fingerprint: "fp", allowsModel: () => true, weight: 1 });

function call(model: string, over: { p?: ResolvedProvider; key?: ResolvedKey; signal?: AbortSignal } = {}): UpstreamCall {
  return { target: { provider: over.p ?? provider(fake.url), key: over.key, model }, signal: over.signal ?? AbortSignal.timeout(5_000) };
}

const request = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "local/llama3.2",
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  stream: true,
  ...over,
});

async function events(req: ChatRequest, c: UpstreamCall): Promise<StreamEvent[]> {
  const reply = await ollamaAdapter.chat(req, c);
  const out: StreamEvent[] = [];
  for await (const ev of reply.events) out.push(ev);
  return out;
}

async function gatewayError(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error("expected a GatewayError");
}

describe("ollama adapter: chat", () => {
  test("is registered for the ollama wire", () => {
    expect(adapterFor("ollama")).toBe(ollamaAdapter);
  });

  test("stream: POST /api/chat with the encoded body, NDJSON decoded into events", async () => {
    fake.reply({ text: "Hello there", usage: { input: 26, output: 2 } });
    const evs = await events(request({ system: [{ type: "text", text: "Be brief." }], temperature: 0.1 }), call("llama3.2:latest"));
    expect(evs).toEqual([
      { type: "start", model: "llama3.2:latest" },
      { type: "text", text: "Hello " },
      { type: "text", text: "there" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 26, outputTokens: 2 } },
    ]);
    const sent = fake.requests.at(-1)!;
    expect(sent.method).toBe("POST");
    expect(sent.path).toBe("/api/chat");
    expect(sent.headers["content-type"]).toBe("application/json");
    expect(sent.headers.accept).toBe("application/x-ndjson");
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      model: "llama3.2:latest",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      options: { temperature: 0.1 },
      stream: true,
    });
  });

  test("non-stream: stream:false, one JSON object, same events", async () => {
    fake.reply({ text: "Whole answer.", usage: { input: 5, output: 3 } });
    const reply = await ollamaAdapter.chat(request({ stream: false }), call("llama3.2"));
    expect(reply.headers?.get("content-type")).toContain("application/json");
    const evs: StreamEvent[] = [];
    for await (const ev of reply.events) evs.push(ev);
    const res = foldEvents(evs);
    expect(res.content).toEqual([{ type: "text", text: "Whole answer." }]);
    expect(res.usage).toEqual({ inputTokens: 5, outputTokens: 3 });
    expect(fake.requests.at(-1)!.body.stream).toBe(false);
  });

  test("tool calls: whole calls, ids synthesized, finish tool_calls; the round trip is accepted", async () => {
    fake.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Tokyo" } }] });
    const tools = [{ name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];
    const res = foldEvents(await events(request({ tools }), call("llama3.2")));
    expect(res.finishReason).toBe("tool_calls");
    const tc = res.content[0] as Extract<(typeof res.content)[number], { type: "tool_call" }>;
    expect(tc).toMatchObject({ type: "tool_call", name: "get_weather", arguments: '{"city":"Tokyo"}' });
    expect(tc.id).toMatch(/^call_/);

    fake.reply({ text: "It is 18C in Tokyo." });
    const follow = request({
      tools,
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather?" }] },
        { role: "assistant", content: [tc] },
        { role: "user", content: [{ type: "tool_result", toolCallId: tc.id, content: [{ type: "text", text: "18C" }] }] },
      ],
    });
    expect(foldEvents(await events(follow, call("llama3.2"))).content).toEqual([{ type: "text", text: "It is 18C in Tokyo." }]);
    expect(fake.requests.at(-1)!.body.messages.slice(1)).toEqual([
      { role: "assistant", content: "", tool_calls: [{ id: tc.id, function: { name: "get_weather", arguments: { city: "Tokyo" } } }] },
      { role: "tool", content: "18C", tool_name: "get_weather", tool_call_id: tc.id },
    ]);
  });

  test("thinking is decoded; a think level the model refuses is retried as think:true", async () => {
    fake.reply({ text: "42", thinking: "Hmm." });
    const before = fake.requests.length;
    const res = foldEvents(await events(request({ reasoning: { enabled: true, effort: "high" } }), call("qwen3:8b")));
    expect(res.content).toEqual([
      { type: "thinking", text: "Hmm." },
      { type: "text", text: "42" },
    ]);
    const sent = fake.requests.slice(before).map((r) => r.body.think);
    expect(sent).toEqual(["high", true]);
  });

  test("think on a model that cannot think is retried without think", async () => {
    fake.reply({ text: "plain" });
    const before = fake.requests.length;
    const res = foldEvents(await events(request({ reasoning: { enabled: true } }), call("llama3.2")));
    expect(res.content).toEqual([{ type: "text", text: "plain" }]);
    const sent = fake.requests.slice(before).map((r) => r.body);
    expect(sent.map((b) => "think" in b)).toEqual([true, false]);
  });

  test("a think level the model takes is sent once", async () => {
    const before = fake.requests.length;
    await events(request({ reasoning: { enabled: true, effort: "low" } }), call("gpt-oss:20b"));
    expect(fake.requests.slice(before).map((r) => r.body.think)).toEqual(["low"]);
  });

  test("Ollama passthrough options reach the upstream", async () => {
    await events(request({ passthrough: { protocol: "ollama", fields: { options: { num_ctx: 8192 }, keep_alive: "10m" } } }), call("llama3.2"));
    const body = fake.requests.at(-1)!.body;
    expect(body.options).toEqual({ num_ctx: 8192 });
    expect(body.keep_alive).toBe("10m");
  });

  test("a data: URL image is inlined as raw base64", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";
    await events(
      request({ messages: [{ role: "user", content: [{ type: "text", text: "what?" }, { type: "image", source: { kind: "url", url: `data:image/png;base64,${png}` } }] }] }),
      call("llama3.2"),
    );
    expect(fake.requests.at(-1)!.body.messages).toEqual([{ role: "user", content: "what?", images: [png] }]);
  });

  test("an image URL on a private address is refused before anything is sent upstream", async () => {
    const before = fake.requests.length;
    const err = await gatewayError(
      ollamaAdapter.chat(
        request({ messages: [{ role: "user", content: [{ type: "image", source: { kind: "url", url: `${fake.url}/x.png` } }] }] }),
        call("llama3.2"),
      ),
    );
    expect(err.kind).toBe("invalid_request");
    expect(err.message).toStartWith("lmrelay: could not fetch image");
    expect(fake.requests.length).toBe(before);
  });

  test("a key is sent as Bearer, replacing a provider-wide Authorization; provider headers are sent", async () => {
    const hosted = await startOllamaFake({ keys: ["sk-ollama-1"] });
    try {
      const p = provider(hosted.url, { id: "cloud", headers: { "X-Team": "a", Authorization: "Bearer stale" } });
      await events(request(), call("llama3.2", { p, key: key("sk-ollama-1") }));
      expect(hosted.requests.at(-1)!.headers.authorization).toBe("Bearer sk-ollama-1");
      expect(hosted.requests.at(-1)!.headers["x-team"]).toBe("a");

      const err = await gatewayError(ollamaAdapter.chat(request(), call("llama3.2", { p, key: key("sk-wrong-secret") })));
      expect(err.kind).toBe("authentication");
      expect(err.status).toBe(401);
      expect(err.provider).toBe("cloud");
      expect(err.message).toBe("cloud: unauthorized");
      expect(err.message).not.toContain("sk-wrong-secret");
    } finally {
      await hosted.stop();
    }
  });
});

describe("ollama adapter: errors", () => {
  test("unknown model → not_found 404 with Ollama's message", async () => {
    const err = await gatewayError(ollamaAdapter.chat(request(), call("nope")));
    expect(err.kind).toBe("not_found");
    expect(err.status).toBe(404);
    expect(err.provider).toBe("local");
    expect(err.message).toBe("local: model 'nope' not found");
  });

  test.each([
    [400, "invalid_request"],
    [429, "rate_limited"],
    [500, "upstream_error"],
    [502, "upstream_error"],
    [503, "overloaded"],
  ] as const)("HTTP %d → %s, faithful status", async (status, kind) => {
    fake.fail({ kind: "status", status, body: { error: `failure ${status}` }, headers: { "retry-after": "7" } });
    const err = await gatewayError(ollamaAdapter.chat(request(), call("llama3.2")));
    expect(err.kind).toBe(kind);
    expect(err.status).toBe(status);
    expect(err.message).toBe(`local: failure ${status}`);
    expect(err.retryAfterMs).toBe(7_000);
  });

  test("connection refused → upstream_error connection_error", async () => {
    const gone = await startOllamaFake();
    await gone.stop();
    const err = await gatewayError(ollamaAdapter.chat(request(), call("llama3.2", { p: provider(gone.url) })));
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("connection_error");
    expect(err.provider).toBe("local");
  });

  test("a hanging upstream ends with the call's timeout", async () => {
    fake.fail({ kind: "hang" });
    const err = await gatewayError(ollamaAdapter.chat(request(), call("llama3.2", { signal: AbortSignal.timeout(100) })));
    expect(err.kind).toBe("timeout");
  });

  test("a stream cut mid-way throws from the iterator", async () => {
    // Spaced chunks: the first lines must leave the server before the socket drops.
    fake.reply({ text: "one two three four", chunkDelayMs: 20 });
    fake.fail({ kind: "cut", afterChunks: 2 });
    const reply = await ollamaAdapter.chat(request(), call("llama3.2"));
    const seen: StreamEvent[] = [];
    const err = await gatewayError(
      (async () => {
        for await (const ev of reply.events) seen.push(ev);
      })(),
    );
    expect(err.kind).toBe("upstream_error");
    // What was sent before the cut is decoded; the answer never finishes.
    expect(seen.slice(0, 2).map((e) => e.type)).toEqual(["start", "text"]);
    expect(seen.some((e) => e.type === "finish")).toBe(false);
  });

  test("an {error} line mid-stream throws from the iterator", async () => {
    fake.reply({ text: "one two three" });
    fake.failMidStream("an error was encountered while running the model", 2);
    const err = await gatewayError(events(request(), call("llama3.2")));
    expect(err.message).toBe("local: an error was encountered while running the model");
    expect(err.provider).toBe("local");
  });

  test("a 200 that is not JSON → upstream_error, stream and non-stream", async () => {
    fake.fail({ kind: "badJson" });
    expect((await gatewayError(ollamaAdapter.chat(request({ stream: false }), call("llama3.2")))).kind).toBe("upstream_error");
    fake.fail({ kind: "badJson" });
    expect((await gatewayError(events(request(), call("llama3.2")))).kind).toBe("upstream_error");
  });

  test("a non-stream {error} body with status 200 is thrown before the answer", async () => {
    fake.fail({ kind: "status", status: 200, body: { error: "model runner crashed" } });
    const err = await gatewayError(ollamaAdapter.chat(request({ stream: false }), call("llama3.2")));
    expect(err.message).toBe("local: model runner crashed");
  });
});

describe("ollama adapter: embed", () => {
  test("POST /api/embed with input array, dimensions and truncate → vectors and usage", async () => {
    const res = await ollamaAdapter.embed!({ model: "local/all-minilm", input: ["a", "b c"], dimensions: 4, truncate: false }, call("all-minilm"));
    expect(res.model).toBe("all-minilm");
    expect(res.vectors).toHaveLength(2);
    expect(res.vectors[0]).toHaveLength(4);
    expect(res.usage).toEqual({ inputTokens: 3 });
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe("/api/embed");
    expect(sent.body).toEqual({ model: "all-minilm", input: ["a", "b c"], dimensions: 4, truncate: false });
  });

  test("errors: unknown model, wrong number of vectors", async () => {
    expect((await gatewayError(ollamaAdapter.embed!({ model: "x", input: ["a"] }, call("nope")))).kind).toBe("not_found");
    fake.fail({ kind: "status", status: 200, body: { model: "all-minilm", embeddings: [] } });
    const err = await gatewayError(ollamaAdapter.embed!({ model: "x", input: ["a"] }, call("all-minilm")));
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("bad_response");
  });
});

describe("ollama adapter: listModels", () => {
  test("GET /api/tags → names", async () => {
    const names = await ollamaAdapter.listModels!(provider(fake.url), undefined, AbortSignal.timeout(2_000));
    expect(names).toEqual(fake.models);
    expect(fake.requests.at(-1)!.path).toBe("/api/tags");
  });

  test("a key is sent; a refused key is an authentication error", async () => {
    const hosted = await startOllamaFake({ keys: ["sk-1"], models: ["gpt-oss:120b"] });
    try {
      expect(await ollamaAdapter.listModels!(provider(hosted.url), key("sk-1"), AbortSignal.timeout(2_000))).toEqual(["gpt-oss:120b"]);
      const err = await gatewayError(ollamaAdapter.listModels!(provider(hosted.url), key("sk-2"), AbortSignal.timeout(2_000)));
      expect(err.kind).toBe("authentication");
    } finally {
      await hosted.stop();
    }
  });

  test("a body without a models array → upstream_error", async () => {
    const odd = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ data: [] }) });
    try {
      const err = await gatewayError(ollamaAdapter.listModels!(provider(`http://127.0.0.1:${odd.port}`), undefined, AbortSignal.timeout(2_000)));
      expect(err.kind).toBe("upstream_error");
    } finally {
      await odd.stop(true);
    }
  });
});

describe("ollamaModelMatches", () => {
  test.each([
    ["llama3.2", "llama3.2:latest", true],
    ["llama3.2:latest", "llama3.2", true],
    ["llama3.2", "llama3.2", true],
    ["Llama3.2", "llama3.2:latest", true],
    ["llama3.2:1b", "llama3.2:latest", false],
    ["llama3.2:1b", "llama3.2:1b", true],
    ["llama3", "llama3.2:latest", false],
    ["user/model", "user/model:latest", true],
    ["registry.local:5000/model", "registry.local:5000/model:latest", true],
    ["hf.co/org/repo:Q4_K_M", "hf.co/org/repo:q4_k_m", true],
  ])("%s vs %s → %p", (requested, available, expected) => {
    expect(ollamaModelMatches(requested, available)).toBe(expected);
  });
});
