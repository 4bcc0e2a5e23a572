import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";

// The fake is only useful if it is right: the official `ollama` client must accept everything it says.

let fake: OllamaFake;
let client: Ollama;

beforeAll(async () => {
  fake = await startOllamaFake();
  client = new Ollama({ host: fake.url });
});
afterAll(() => fake.stop());

describe("fake Ollama through the official client", () => {
  test("chat, streamed by default: text pieces then a done line with counts and ns durations", async () => {
    fake.reply({ text: "Hello there, friend", usage: { input: 26, output: 4 } });
    const parts: string[] = [];
    let last: any;
    for await (const chunk of await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "Hi" }], stream: true })) {
      if (!chunk.done) parts.push(chunk.message.content);
      last = chunk;
    }
    expect(parts).toEqual(["Hello ", "there, ", "friend"]);
    expect(last.done).toBe(true);
    expect(last.done_reason).toBe("stop");
    expect(last.prompt_eval_count).toBe(26);
    expect(last.eval_count).toBe(4);
    expect(Number.isInteger(last.total_duration) && last.total_duration > 0).toBe(true);
    expect(last.model).toBe("llama3.2");
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe("/api/chat");
    expect(sent.body.stream).toBe(true);
  });

  test("chat non-stream: one object with the whole message", async () => {
    fake.reply({ text: "Whole answer." });
    const res = await client.chat({ model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }] });
    expect(res.done).toBe(true);
    expect(res.message).toEqual({ role: "assistant", content: "Whole answer." });
    expect(res.prompt_eval_count).toBeGreaterThan(0);
  });

  test("tool calls arrive whole, arguments as objects", async () => {
    fake.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Tokyo" } }] });
    const tools = [
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
    ];
    const res = await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "Weather?" }], tools: tools as never });
    expect(res.message.tool_calls).toEqual([{ function: { index: 0, name: "get_weather", arguments: { city: "Tokyo" } } } as never]);
    expect(res.done_reason).toBe("stop");

    const calls: unknown[] = [];
    for await (const chunk of await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "Weather?" }], tools: tools as never, stream: true }))
      if (chunk.message.tool_calls) calls.push(...chunk.message.tool_calls);
    expect(calls).toEqual([{ function: { index: 0, name: "get_weather", arguments: { city: "Tokyo" } } }]);
  });

  test("thinking models stream message.thinking when think is set", async () => {
    fake.reply({ text: "42", thinking: "Deep thought." });
    const res = await client.chat({ model: "qwen3:8b", messages: [{ role: "user", content: "?" }], think: true });
    expect(res.message.thinking).toBe("Deep thought.");
    expect(res.message.content).toBe("42");
    // ...and refuse it like Ollama on a model that cannot think.
    await expect(client.chat({ model: "llama3.2", messages: [{ role: "user", content: "?" }], think: true })).rejects.toMatchObject({
      status_code: 400,
      error: '"llama3.2" does not support thinking',
    });
  });

  test("generate, streamed and not", async () => {
    fake.reply({ text: "Once upon a time" });
    const res = await client.generate({ model: "llama3.2", prompt: "Tell a story" });
    expect(res.response).toBe("Once upon a time");
    expect(res.done).toBe(true);
    expect(res.context).toEqual([1, 2, 3]);
    let text = "";
    for await (const chunk of await client.generate({ model: "llama3.2", prompt: "Tell a story", stream: true })) text += chunk.response;
    expect(text).toBe("Once upon a time");
  });

  test("embed and the legacy embeddings", async () => {
    const res = await client.embed({ model: "all-minilm", input: ["a", "b c"] });
    expect(res.embeddings).toHaveLength(2);
    expect(res.embeddings[0]).toHaveLength(8);
    expect(res.prompt_eval_count).toBe(3);
    const legacy = await client.embeddings({ model: "all-minilm", prompt: "a" });
    expect(legacy.embedding).toEqual(res.embeddings[0]!);
  });

  test("list, show, ps, version", async () => {
    const list = await client.list();
    expect(list.models.map((m) => m.name)).toEqual(fake.models);
    expect(list.models[0]!.details.format).toBe("gguf");
    const show = await client.show({ model: "qwen3:8b" });
    expect(show.capabilities).toContain("thinking");
    expect(show.details.family).toBe("qwen");
    expect((await client.ps()).models).toHaveLength(1);
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    const root = await fetch(fake.url);
    expect(await root.text()).toBe("Ollama is running");
  });

  test("unknown model → 404 in Ollama's words", async () => {
    await expect(client.chat({ model: "nope", messages: [] })).rejects.toMatchObject({ status_code: 404, error: "model 'nope' not found" });
    await expect(client.show({ model: "nope" })).rejects.toMatchObject({ status_code: 404 });
  });

  test("rejects the shapes real Ollama rejects", async () => {
    const post = (body: unknown) => fetch(`${fake.url}/api/chat`, { method: "POST", body: JSON.stringify(body) });
    const array = await post({ model: "llama3.2", messages: [{ role: "user", content: [{ type: "text", text: "x" }] }], stream: false });
    expect(array.status).toBe(400);
    expect(((await array.json()) as { error: string }).error).toContain("of type string");
    const dataUri = await post({ model: "llama3.2", messages: [{ role: "user", content: "x", images: ["data:image/png;base64,AAAA"] }] });
    expect(dataUri.status).toBe(400);
    const stringArgs = await post({
      model: "llama3.2",
      messages: [{ role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: '{"a":1}' } }] }],
    });
    expect(stringArgs.status).toBe(400);
    const noModel = await post({ messages: [] });
    expect(await noModel.json()).toEqual({ error: "model is required" });
  });

  test("faults: status, cut, badJson, mid-stream error", async () => {
    fake.reply({ text: "one two three four" });
    fake.fail({ kind: "status", status: 500, body: { error: "llama runner process has terminated" } });
    await expect(client.chat({ model: "llama3.2", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ status_code: 500 });

    fake.fail({ kind: "cut", afterChunks: 2 });
    const cut = async () => {
      for await (const _ of await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "x" }], stream: true }));
    };
    await expect(cut()).rejects.toBeDefined();

    fake.failMidStream("an error was encountered while running the model", 1);
    const seen: string[] = [];
    const mid = async () => {
      for await (const c of await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "x" }], stream: true })) seen.push(c.message.content);
    };
    await expect(mid()).rejects.toThrow("an error was encountered while running the model");
    expect(seen).toEqual(["one "]);

    fake.fail({ kind: "badJson" });
    const bad = await fetch(`${fake.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "llama3.2", messages: [], stream: false }) });
    await expect(bad.json()).rejects.toBeDefined();
  });

  test("hosted mode checks the Bearer key", async () => {
    const hosted = await startOllamaFake({ keys: ["k-1"] });
    try {
      await expect(new Ollama({ host: hosted.url }).list()).rejects.toMatchObject({ status_code: 401 });
      const ok = new Ollama({ host: hosted.url, headers: { Authorization: "Bearer k-1" } });
      expect((await ok.list()).models.length).toBeGreaterThan(0);
    } finally {
      await hosted.stop();
    }
  });
});
