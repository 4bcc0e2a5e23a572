import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { AzureOpenAI } from "openai";
import { type OpenAIFake, startAzureFake, startOpenAIFake } from "../fakes/openai";

// The fake itself is checked once against the official SDK, so the adapter tests that rely on it
// rely on the real wire format.

let fake: OpenAIFake;
let client: OpenAI;

beforeAll(async () => {
  fake = await startOpenAIFake({ keys: ["sk-test"] });
  client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "sk-test", maxRetries: 0 });
});
afterAll(() => fake.stop());

const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
];

describe("fake OpenAI upstream, read by the official SDK", () => {
  test("non-stream text with usage", async () => {
    fake.reply({ text: "Hi there, friend", usage: { input: 9, output: 4, cached: 2 } });
    const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(r.choices[0]!.message.content).toBe("Hi there, friend");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 2 } });
    expect(fake.requests.at(-1)!.headers.authorization).toBe("Bearer sk-test");
  });

  test("stream with include_usage: pieces, finish, usage chunk, [DONE]", async () => {
    fake.reply({ text: "one two three", usage: { input: 5, output: 3 } });
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "count" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("one two three");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(chunks).toBe(6); // role, 3 pieces, finish, usage
  });

  test("stream without include_usage has no usage", async () => {
    fake.reply({ text: "x" });
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream: true });
    for await (const c of stream) expect(c.usage ?? null).toBeNull();
  });

  test("tool calls: split fragments accumulate in the SDK's stream helper", async () => {
    fake.reply({ toolCalls: [{ id: "call_a", name: "get_weather", arguments: { city: "Paris" } }, { id: "call_b", name: "get_weather", arguments: { city: "Rome" } }] });
    const runner = client.chat.completions.stream({ model: "gpt-4o", messages: [{ role: "user", content: "weather?" }], tools });
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]!.message.tool_calls!;
    expect(calls.map((c) => c.type === "function" && [c.id, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ["call_a", "get_weather", { city: "Paris" }],
      ["call_b", "get_weather", { city: "Rome" }],
    ]);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  test("tool-call history must be answered (validation like the real API)", async () => {
    const err = await client.chat.completions
      .create({
        model: "gpt-4o",
        messages: [
          { role: "user", content: "x" },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "user", content: "y" },
        ],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });

  test("embeddings: the SDK's default base64 and explicit float agree", async () => {
    const b64 = await client.embeddings.create({ model: "text-embedding-3-small", input: ["hello", "world"] });
    const flt = await client.embeddings.create({ model: "text-embedding-3-small", input: ["hello", "world"], encoding_format: "float" });
    expect(fake.requests.at(-2)!.body.encoding_format).toBe("base64");
    expect(b64.data.map((d) => d.embedding)).toEqual(flt.data.map((d) => d.embedding));
    expect(flt.data[0]!.embedding).toHaveLength(8);
    expect(flt.usage.prompt_tokens).toBeGreaterThan(0);
  });

  test("models list and retrieve", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(fake.models);
    expect((await client.models.retrieve("gpt-4o")).id).toBe("gpt-4o");
    expect(await client.models.retrieve("nope").catch((e) => e.status)).toBe(404);
  });

  test("wrong key → 401 AuthenticationError; faults reach the SDK", async () => {
    const bad = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe("invalid_api_key");
    fake.fail({ kind: "status", status: 429, body: { error: { message: "slow down", type: "requests", param: null, code: "rate_limit_exceeded" } }, headers: { "retry-after": "3" } });
    const limited = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
  });

  test("a cut stream breaks the SDK's iteration", async () => {
    // With a pause between chunks the head of the stream is on the wire before the cut.
    fake.reply({ text: "a b c d e f", chunkDelayMs: 20 });
    fake.fail({ kind: "cut", afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream: true });
    const err = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
  });
});

describe("fake Azure upstream, read by the official AzureOpenAI client", () => {
  test("deployment URL, api-version, api-key; filter chunk first; content filter fields", async () => {
    const az = await startAzureFake({ keys: ["azkey"], deployments: ["prod-4o"] });
    try {
      const client = new AzureOpenAI({ endpoint: az.url, apiKey: "azkey", apiVersion: "2024-10-21", deployment: "prod-4o", maxRetries: 0 });
      az.reply({ text: "hello azure" });
      const r = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
      expect(r.choices[0]!.message.content).toBe("hello azure");
      expect((r as any).prompt_filter_results).toHaveLength(1);
      const req = az.requests.at(-1)!;
      expect(req.url).toBe("/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21");
      expect(req.headers["api-key"]).toBe("azkey");

      const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true });
      let text = "";
      let first = true;
      for await (const c of stream) {
        if (first) expect(c.choices).toEqual([]);
        first = false;
        text += c.choices[0]?.delta?.content ?? "";
      }
      expect(text).toBe("hello azure");

      const wrong = new AzureOpenAI({ endpoint: az.url, apiKey: "azkey", apiVersion: "2024-10-21", deployment: "nope", maxRetries: 0 });
      const err = await wrong.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
      expect(err.status).toBe(404);
      expect(err.code).toBe("DeploymentNotFound");
      const badKey = new AzureOpenAI({ endpoint: az.url, apiKey: "other", apiVersion: "2024-10-21", deployment: "prod-4o", maxRetries: 0 });
      expect(await badKey.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e) => e.status)).toBe(401);
    } finally {
      await az.stop();
    }
  });
});
