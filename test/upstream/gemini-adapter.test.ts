import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import type { ResolvedProvider } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import { geminiAdapter } from "../../src/upstream/gemini/adapter";
import { geminiFunctionName } from "../../src/upstream/gemini/names";
import { adapterFor } from "../../src/upstream/registry";
import type { UpstreamCall } from "../../src/upstream/types";
import { FAKE_GEMINI_KEY, FAKE_THOUGHT_SIGNATURE, type GeminiFake, geminiErrorBody, startGeminiFake } from "../fakes/gemini";
import { collect, rejection } from "../helpers/async";

// The adapter against the fake Gemini API over real HTTP: URLs, headers, streaming and whole
// answers, tool-call round trips, every fault, error classification, embeddings, model list.

let fake: GeminiFake;
let provider: ResolvedProvider;

beforeAll(async () => {
  fake = await startGeminiFake();
  const cfg = resolveConfig({
    providers: { gem: { type: "gemini", baseUrl: fake.url, keys: [FAKE_GEMINI_KEY, "AIza-revoked"], headers: { "x-team": "blue" } } },
  });
  provider = cfg.providers.get("gem")!;
});
afterAll(() => fake.stop());

const call = (model = "gemini-2.5-flash", keyIndex = 0, signal = AbortSignal.timeout(5_000)): UpstreamCall => ({
  target: { provider, key: provider.keys[keyIndex], model },
  signal,
});

const ask = (text: string, over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "gem/gemini-2.5-flash",
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  stream: false,
  ...over,
});



describe("gemini adapter", () => {
  test("is registered for the gemini provider type", () => {
    expect(adapterFor("gemini")).toBe(geminiAdapter);
  });

  test("non-stream chat: URL, key header, provider headers, answer and usage", async () => {
    fake.reply({ text: "Bonjour !", usage: { input: 11, output: 3, cached: 2 } });
    const reply = await geminiAdapter.chat(ask("Say hi", { system: [{ type: "text", text: "French only." }], maxTokens: 20 }), call());
    const res = foldEvents(await collect(reply.events));
    expect(res.content).toEqual([{ type: "text", text: "Bonjour !" }]);
    expect(res.finishReason).toBe("stop");
    expect(res.model).toBe("gemini-2.5-flash");
    expect(res.usage).toEqual({ inputTokens: 11, outputTokens: 3, cacheReadTokens: 2 });
    const sent = fake.requests.at(-1)!;
    expect(sent.url).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(sent.headers["x-goog-api-key"]).toBe(FAKE_GEMINI_KEY);
    expect(sent.headers["x-team"]).toBe("blue");
    expect(sent.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Say hi" }] }],
      systemInstruction: { parts: [{ text: "French only." }] },
      generationConfig: { maxOutputTokens: 20 },
    });
  });

  test("streamed chat: SSE, one event per chunk, usage last", async () => {
    fake.reply({ text: "one two three", usage: { input: 4, output: 3 }, thinking: "counting", chunkDelayMs: 1 });
    const reply = await geminiAdapter.chat(ask("count", { stream: true, reasoning: { enabled: true, effort: "medium" } }), call());
    const events = await collect(reply.events);
    expect(fake.requests.at(-1)!.url).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    expect(fake.requests.at(-1)!.headers.accept).toBe("text/event-stream");
    expect(events.filter((e) => e.type === "text").map((e) => (e as { text: string }).text)).toEqual(["one ", "two ", "three"]);
    expect(events.filter((e) => e.type === "thinking")).toEqual([{ type: "thinking", text: "counting" }]);
    expect(events[0]).toMatchObject({ type: "start", model: "gemini-2.5-flash", usage: { inputTokens: 4 } });
    expect(events.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 4, outputTokens: 4, reasoningTokens: 1 } },
    ]);
    expect(reply.headers?.get("content-type")).toBe("text/event-stream");
  });

  test("tool round trip: a call with id and signature comes back accepted by a Gemini 3 model", async () => {
    const tools = [{ name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    fake.reply({ toolCalls: [{ id: "fc-9", name: "get_weather", arguments: { city: "Paris" } }] });
    const first = foldEvents(await collect((await geminiAdapter.chat(ask("weather?", { tools, stream: true }), call("gemini-3-pro-preview"))).events));
    expect(first.finishReason).toBe("tool_calls");
    expect(first.content).toEqual([{ type: "tool_call", id: "fc-9", name: "get_weather", arguments: '{"city":"Paris"}', signature: FAKE_THOUGHT_SIGNATURE }]);

    fake.reply({ text: "18°C." });
    const history: ChatRequest = ask("weather?", { tools });
    history.messages.push(
      { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", toolCallId: "fc-9", content: [{ type: "text", text: '{"temp_c":18}' }] }] },
    );
    const second = foldEvents(await collect((await geminiAdapter.chat(history, call("gemini-3-pro-preview"))).events));
    expect(second.content).toEqual([{ type: "text", text: "18°C." }]);
    expect(fake.requests.at(-1)!.body.contents.slice(1)).toEqual([
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" }, id: "fc-9" }, thoughtSignature: FAKE_THOUGHT_SIGNATURE }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp_c: 18 }, id: "fc-9" } }] },
    ]);
  });

  test("calls without ids get synthesized ones; rewritten names come back as the client's", async () => {
    const tools = [{ name: "fs.read", parameters: { type: "object", properties: { p: { type: "string" } } } }];
    // The fake answers with whatever name it is told: the name the adapter declares to Gemini.
    const wire = geminiFunctionName("fs.read");
    fake.reply({ toolCalls: [{ name: wire, arguments: { p: "/" } }], noCallIds: true });
    const res = foldEvents(await collect((await geminiAdapter.chat(ask("read /", { tools }), call())).events));
    expect(fake.requests.at(-1)!.body.tools[0].functionDeclarations[0].name).toBe(wire);
    const tc = res.content[0] as { id: string; name: string; arguments: string };
    expect(tc.name).toBe("fs.read");
    expect(tc.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(tc.arguments).toBe('{"p":"/"}');
  });

  test("image URLs are downloaded and inlined (data: URL, no network)", async () => {
    fake.reply({ text: "a red dot" });
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    const req = ask("what is it?");
    req.messages[0]!.content.push({ type: "image", source: { kind: "url", url: `data:image/png;base64,${png}` } });
    await collect((await geminiAdapter.chat(req, call())).events);
    expect(fake.requests.at(-1)!.body.contents[0].parts[1]).toEqual({ inlineData: { mimeType: "image/png", data: png } });
    // A URL that cannot be fetched is the client's problem, reported before anything is sent.
    const sentBefore = fake.requests.length;
    const bad = ask("x");
    bad.messages[0]!.content.push({ type: "image", source: { kind: "url", url: "http://127.0.0.1:1/cat.png" } });
    const err = await rejection(geminiAdapter.chat(bad, call()));
    expect(err.kind).toBe("invalid_request");
    expect(err.message).toStartWith("lmrelay: could not fetch image");
    expect(fake.requests.length).toBe(sentBefore);
  });

  test("a blocked prompt is a content_filter error before the answer begins", async () => {
    fake.reply({ blockReason: "SAFETY" });
    const err = await rejection(geminiAdapter.chat(ask("bad"), call()));
    expect([err.kind, err.status, err.code, err.provider]).toEqual(["content_filter", 400, "SAFETY", "gem"]);
    fake.reply({});
  });
});

describe("gemini adapter errors", () => {
  test("a bad key (400 API_KEY_INVALID) → authentication, 401, key never in the message", async () => {
    const err = await rejection(geminiAdapter.chat(ask("hi"), call("gemini-2.5-flash", 1)));
    expect(err.kind).toBe("authentication");
    expect(err.status).toBe(401);
    expect(err.code).toBe("API_KEY_INVALID");
    expect(err.provider).toBe("gem");
    expect(err.message).toBe("gem: API key not valid. Please pass a valid API key.");
    expect(err.message).not.toContain("AIza-revoked");
  });

  test("429 RESOURCE_EXHAUSTED with RetryInfo → rate_limited with the delay", async () => {
    fake.fail({
      kind: "status",
      status: 429,
      body: geminiErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded for metric generate_content_free_tier_requests.", [
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "13s" },
      ]),
    });
    const err = await rejection(geminiAdapter.chat(ask("hi", { stream: true }), call()));
    expect([err.kind, err.status, err.retryAfterMs]).toEqual(["rate_limited", 429, 13_000]);
    expect(err.message).toBe("gem: Quota exceeded for metric generate_content_free_tier_requests.");
  });

  test("503 UNAVAILABLE → overloaded; 504 → timeout; 500 → upstream_error; 404 model → not_found", async () => {
    fake.fail(
      { kind: "status", status: 503, body: geminiErrorBody(503, "UNAVAILABLE", "The model is overloaded. Please try again later.") },
      { kind: "status", status: 504, body: geminiErrorBody(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.") },
      { kind: "status", status: 500, body: geminiErrorBody(500, "INTERNAL", "An internal error has occurred.") },
    );
    const kinds = [];
    for (let i = 0; i < 3; i++) {
      const err = await rejection(geminiAdapter.chat(ask("hi"), call()));
      kinds.push([err.kind, err.status]);
    }
    expect(kinds).toEqual([
      ["overloaded", 503],
      ["timeout", 504],
      ["upstream_error", 500],
    ]);
    const missing = await rejection(geminiAdapter.chat(ask("hi"), call("gemini-9-ultra")));
    expect([missing.kind, missing.status]).toEqual(["not_found", 404]);
    expect(missing.message).toStartWith("gem: models/gemini-9-ultra is not found");
  });

  test("a request Gemini refuses is invalid_request with Gemini's message", async () => {
    fake.fail({ kind: "status", status: 400, body: geminiErrorBody(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified") });
    const err = await rejection(geminiAdapter.chat(ask("hi"), call()));
    expect([err.kind, err.status]).toEqual(["invalid_request", 400]);
    expect(err.message).toContain("contents is not specified");
  });

  test("six stop sequences are cut to the five Gemini takes, and the reply names the change", async () => {
    fake.reply({ text: "ok" });
    const reply = await geminiAdapter.chat(ask("hi", { stop: ["a", "b", "c", "d", "e", "f"], maxTokens: 100_000 }), call());
    await collect(reply.events);
    expect(reply.adjusted).toEqual(["maxOutputTokens 100000->65536", "stopSequences 6->5"]);
    const sent = fake.requests.at(-1)!.body as { generationConfig: { stopSequences: string[]; maxOutputTokens: number } };
    expect(sent.generationConfig.stopSequences).toEqual(["a", "b", "c", "d", "e"]);
    expect(sent.generationConfig.maxOutputTokens).toBe(65_536);
  });

  test("a stream cut mid-way throws from the iterator after the first events", async () => {
    // Paced chunks, so the first ones leave the fake before the socket drops.
    fake.reply({ text: "a b c d e f", chunkDelayMs: 15 });
    fake.fail({ kind: "cut", afterChunks: 2 });
    const reply = await geminiAdapter.chat(ask("hi", { stream: true }), call());
    const seen: StreamEvent[] = [];
    const err = await (async () => {
      for await (const ev of reply.events) seen.push(ev);
    })().catch((e) => e);
    expect(seen[0]?.type).toBe("start");
    expect(seen.some((e) => e.type === "finish")).toBe(false);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_error");
    expect(err.provider).toBe("gem");
  });

  test("a non-stream body cut or not JSON → upstream_error", async () => {
    fake.fail({ kind: "cut", afterChunks: 1 }, { kind: "badJson" });
    const cut = await rejection(geminiAdapter.chat(ask("hi"), call()));
    expect(cut.kind).toBe("upstream_error");
    const bad = await rejection(geminiAdapter.chat(ask("hi"), call()));
    expect([bad.kind, bad.code]).toEqual(["upstream_error", "bad_response"]);
  });

  test("a hung upstream ends with the call's signal", async () => {
    fake.fail({ kind: "hang" });
    const err = await rejection(geminiAdapter.chat(ask("hi"), call("gemini-2.5-flash", 0, AbortSignal.timeout(150))));
    expect(err.kind).toBe("timeout");
  });

  test("a refused connection is an upstream_error the router can fail over from", async () => {
    const dead = { ...provider, baseUrl: "http://127.0.0.1:1" };
    const err = await rejection(geminiAdapter.chat(ask("hi"), { target: { provider: dead, key: provider.keys[0], model: "gemini-2.5-flash" }, signal: AbortSignal.timeout(2_000) }));
    expect([err.kind, err.code]).toEqual(["upstream_error", "connection_error"]);
  });
});

describe("gemini embeddings and models", () => {
  test("one input → embedContent", async () => {
    const res = await geminiAdapter.embed!({ model: "gemini-embedding-001", input: ["hello world"], dimensions: 4 }, call("gemini-embedding-001"));
    expect(res.vectors.length).toBe(1);
    expect(res.vectors[0]!.length).toBe(4);
    expect(res.usage.inputTokens).toBe(3);
    expect(res.model).toBe("gemini-embedding-001");
    const sent = fake.requests.at(-1)!;
    expect(sent.url).toBe("/v1beta/models/gemini-embedding-001:embedContent");
    expect(sent.body).toEqual({ content: { parts: [{ text: "hello world" }] }, outputDimensionality: 4 });
  });

  test("several inputs → batchEmbedContents, in batches of 100, order kept", async () => {
    const input = Array.from({ length: 150 }, (_, i) => `text ${i}`);
    const before = fake.requests.length;
    const res = await geminiAdapter.embed!({ model: "gemini-embedding-001", input }, call("gemini-embedding-001"));
    expect(res.vectors.length).toBe(150);
    const sent = fake.requests.slice(before);
    expect(sent.map((r) => [r.url, r.body.requests.length])).toEqual([
      ["/v1beta/models/gemini-embedding-001:batchEmbedContents", 100],
      ["/v1beta/models/gemini-embedding-001:batchEmbedContents", 50],
    ]);
    expect(sent[0]!.body.requests[0]).toEqual({ model: "models/gemini-embedding-001", content: { parts: [{ text: "text 0" }] } });
    // Same text, same vector: the order survived batching.
    const single = await geminiAdapter.embed!({ model: "gemini-embedding-001", input: ["text 120"] }, call("gemini-embedding-001"));
    expect(res.vectors[120]).toEqual(single.vectors[0]!);
  });

  test("embedding errors are classified like chat errors", async () => {
    const err = await rejection(geminiAdapter.embed!({ model: "gemini-embedding-001", input: ["a", "b"] }, call("gemini-embedding-001", 1)));
    expect(err.kind).toBe("authentication");
  });

  test("listModels follows nextPageToken and strips models/; non-chat models are left out", async () => {
    const saved = fake.models;
    fake.models = Array.from({ length: 1203 }, (_, i) => `gemini-fake-${i}`).concat(["imagen-4.0-generate-001", "gemini-embedding-001"]);
    try {
      const before = fake.requests.length;
      const names = await geminiAdapter.listModels!(provider, provider.keys[0], AbortSignal.timeout(5_000));
      expect(names.length).toBe(1204);
      expect(names[0]).toBe("gemini-fake-0");
      expect(names.at(-1)).toBe("gemini-embedding-001");
      expect(names).not.toContain("imagen-4.0-generate-001");
      const urls = fake.requests.slice(before).map((r) => r.url);
      expect(urls.length).toBe(2);
      expect(urls[0]).toBe("/v1beta/models?pageSize=1000");
      expect(urls[1]).toStartWith("/v1beta/models?pageSize=1000&pageToken=");
      expect(fake.requests.at(-1)!.headers["x-goog-api-key"]).toBe(FAKE_GEMINI_KEY);
    } finally {
      fake.models = saved;
    }
  });
});

describe("countTokens", () => {
  test("models/{m}:countTokens with the whole generateContentRequest (model named, system and tools included)", async () => {
    fake.reply({ usage: { input: 55, output: 1 } });
    const before = fake.requests.length;
    const req = ask("count me", {
      system: [{ type: "text", text: "Be brief." }],
      tools: [{ name: "lookup", parameters: { type: "object", properties: { word: { type: "string" } } } }],
      maxTokens: 50,
      temperature: 0.2,
    });
    expect(await geminiAdapter.countTokens!(req, call())).toBe(55);
    const sent = fake.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(["/v1beta/models/gemini-2.5-flash:countTokens"]);
    expect(sent[0]!.headers["x-goog-api-key"]).toBe(FAKE_GEMINI_KEY);
    expect(Object.keys(sent[0]!.body)).toEqual(["generateContentRequest"]);
    expect(Object.keys(sent[0]!.body.generateContentRequest).sort()).toEqual(["contents", "model", "systemInstruction", "tools"]);
    expect(sent[0]!.body.generateContentRequest.model).toBe("models/gemini-2.5-flash");
    fake.reply({});
  });

  test("a key Google does not know is an authentication error (so the router disables it)", async () => {
    expect((await rejection(geminiAdapter.countTokens!(ask("x"), call("gemini-2.5-flash", 1)))).kind).toBe("authentication");
  });
});
