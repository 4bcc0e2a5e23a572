import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { foldEvents } from "../../src/core/fold";
import { openaiAdapter } from "../../src/upstream/openai";
import { adapterFor } from "../../src/upstream/registry";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { callTo, chatRequest, collect, providerOf } from "./openai-helpers";

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ keys: ["sk-test"] });
});
afterAll(() => fake.stop());

const openai = () => providerOf({ type: "openai", baseUrl: `${fake.url}/v1`, keys: ["sk-test"], headers: { "OpenAI-Project": "proj_1" } }, "oai");

describe("openai adapter against the fake", () => {
  test("registered for the openai wire", () => {
    expect(adapterFor("openai")).toBe(openaiAdapter);
    expect(adapterFor("groq")).toBe(openaiAdapter);
    expect(adapterFor("openai-compatible")).toBe(openaiAdapter);
  });

  test("non-stream: path, auth, provider headers, body; answer decoded", async () => {
    fake.reply({ text: "Bonjour", usage: { input: 11, output: 2, cached: 5 } });
    const reply = await openaiAdapter.chat(chatRequest({ system: [{ type: "text", text: "sys" }], maxTokens: 5 }), callTo(openai(), "gpt-4o-mini"));
    const r = foldEvents(await collect(reply.events));
    expect(r.content).toEqual([{ type: "text", text: "Bonjour" }]);
    expect(r.model).toBe("gpt-4o-mini");
    expect(r.id).toMatch(/^chatcmpl-fake/);
    expect(r.finishReason).toBe("stop");
    expect(r.usage).toEqual({ inputTokens: 11, outputTokens: 2, cacheReadTokens: 5 });
    expect(reply.headers).toBeInstanceOf(Headers);
    const req = fake.requests.at(-1)!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.headers.authorization).toBe("Bearer sk-test");
    expect(req.headers["openai-project"]).toBe("proj_1");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.body).toEqual({ model: "gpt-4o-mini", messages: [{ role: "system", content: "sys" }, { role: "user", content: "hi" }], max_completion_tokens: 5 });
  });

  test("stream: always asks for usage; text arrives piece by piece; usage last", async () => {
    fake.reply({ text: "one two three", usage: { input: 4, output: 3 } });
    const reply = await openaiAdapter.chat(chatRequest({ stream: true, includeUsage: false }), callTo(openai(), "gpt-4o-mini"));
    const events = await collect(reply.events);
    expect(fake.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    expect(fake.requests.at(-1)!.headers.accept).toBe("text/event-stream");
    expect(events.filter((e) => e.type === "text").map((e) => (e as { text: string }).text)).toEqual(["one ", "two ", "three"]);
    expect(events.at(-2)).toEqual({ type: "finish", reason: "stop" });
    expect(events.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 4, outputTokens: 3 } });
  });

  test("stream with tool calls and reasoning", async () => {
    fake.reply({ reasoning: "I should call it", toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }, { id: "call_2", name: "get_time", arguments: {} }] });
    const req = chatRequest({ stream: true, tools: [{ name: "get_weather", parameters: { type: "object" } }, { name: "get_time", parameters: { type: "object" } }] });
    const r = foldEvents(await collect((await openaiAdapter.chat(req, callTo(openai(), "gpt-4o"))).events));
    expect(r.content).toEqual([
      { type: "thinking", text: "I should call it" },
      { type: "tool_call", id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "tool_call", id: "call_2", name: "get_time", arguments: "{}" },
    ]);
    expect(r.finishReason).toBe("tool_calls");
  });

  test("stream asked, JSON answered (server ignored stream:true): decoded all the same", async () => {
    // The fake honours stream; a queued 200 JSON body stands in for a server that does not.
    const whole = { id: "c1", object: "chat.completion", model: "m", choices: [{ index: 0, message: { role: "assistant", content: "whole" }, finish_reason: "stop" }] };
    fake.fail({ kind: "status", status: 200, body: whole });
    const r = foldEvents(await collect((await openaiAdapter.chat(chatRequest({ stream: true }), callTo(openai(), "m"))).events));
    expect(r.content).toEqual([{ type: "text", text: "whole" }]);
  });

  test("stopping early releases the stream without error", async () => {
    fake.reply({ text: "a b c d e f g h", chunkDelayMs: 5 });
    const reply = await openaiAdapter.chat(chatRequest({ stream: true }), callTo(openai(), "m"));
    let seen = 0;
    for await (const ev of reply.events) if (ev.type === "text" && ++seen === 2) break;
    expect(seen).toBe(2);
  });

  test("embeddings: float asked, vectors in input order, usage", async () => {
    const res = await openaiAdapter.embed!({ model: "e", input: ["hello", "world!"], dimensions: 4 }, callTo(openai(), "text-embedding-3-small"));
    const req = fake.requests.at(-1)!;
    expect(req.path).toBe("/v1/embeddings");
    expect(req.body).toEqual({ model: "text-embedding-3-small", input: ["hello", "world!"], encoding_format: "float", dimensions: 4 });
    expect(res.vectors).toHaveLength(2);
    expect(res.vectors[0]).toHaveLength(4);
    expect(res.vectors[0]).not.toEqual(res.vectors[1]);
    expect(res.model).toBe("text-embedding-3-small");
    expect(res.usage.inputTokens).toBe(4);
  });

  test("embeddings: out-of-order data sorted by index; base64 decoded", async () => {
    const f32 = new Float32Array([0.5, -1.25]);
    fake.fail({
      kind: "status",
      status: 200,
      body: { object: "list", model: "e", data: [{ index: 1, embedding: [3, 4] }, { index: 0, embedding: Buffer.from(f32.buffer).toString("base64") }], usage: { prompt_tokens: 2, total_tokens: 2 } },
    });
    const res = await openaiAdapter.embed!({ model: "e", input: ["a", "b"] }, callTo(openai(), "e"));
    expect(res.vectors).toEqual([[0.5, -1.25], [3, 4]]);
  });

  test("embeddings: wrong count → upstream_error", async () => {
    fake.fail({ kind: "status", status: 200, body: { object: "list", data: [{ index: 0, embedding: [1] }] } });
    const err = await openaiAdapter.embed!({ model: "e", input: ["a", "b"] }, callTo(openai(), "e")).catch((e) => e);
    expect(err.kind).toBe("upstream_error");
  });

  test("listModels: {data:[…]} and a bare array", async () => {
    expect(await openaiAdapter.listModels!(openai(), openai().keys[0], AbortSignal.timeout(5000))).toEqual(fake.models);
    expect(fake.requests.at(-1)!.path).toBe("/v1/models");
    expect(fake.requests.at(-1)!.headers.authorization).toBe("Bearer sk-test");
    const bare = await startOpenAIFake({ keys: [], modelsShape: "bare", models: ["a/b", "c/d"] });
    try {
      const p = providerOf({ type: "openai-compatible", baseUrl: `${bare.url}/v1` });
      expect(await openaiAdapter.listModels!(p, undefined, AbortSignal.timeout(5000))).toEqual(["a/b", "c/d"]);
      expect(bare.requests.at(-1)!.headers.authorization).toBeUndefined();
    } finally {
      await bare.stop();
    }
  });

  test("keyless openai-compatible server: no Authorization header, max_tokens, top_k", async () => {
    const open = await startOpenAIFake({ keys: [] });
    try {
      const p = providerOf({ type: "openai-compatible", baseUrl: `${open.url}/v1`, models: ["qwen"] });
      const reply = await openaiAdapter.chat(chatRequest({ maxTokens: 9, topK: 20 }), callTo(p, "qwen"));
      await collect(reply.events);
      const req = open.requests.at(-1)!;
      expect(req.headers.authorization).toBeUndefined();
      expect(req.body.max_tokens).toBe(9);
      expect(req.body.top_k).toBe(20);
    } finally {
      await open.stop();
    }
  });
});
