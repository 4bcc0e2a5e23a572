import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { type OpenAIFake, startAzureFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Official OpenAI, Anthropic and Ollama clients → lmrelay → the fake OpenAI (and Azure) API. Right
// when the SDKs accept what comes back and the fake, with the real API's checks, accepts what goes out.

const KEY = "sk-e2e-openai-key-42";
const AZ_KEY = "azure-e2e-key-42";
let fake: OpenAIFake;
let az: OpenAIFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
let ollama: Ollama;

beforeAll(async () => {
  fake = await startOpenAIFake({ keys: [KEY] });
  az = await startAzureFake({ keys: [AZ_KEY], deployments: ["prod-4o"] });
  gw = await startGateway({
    providers: {
      oai: { type: "openai", baseUrl: `${fake.url}/v1`, keys: [KEY], models: ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"] },
      // The 429 test's own provider: a 429 cools its key, which must not touch the other tests.
      limited: { type: "openai", baseUrl: `${fake.url}/v1`, keys: [KEY], models: ["gpt-4o"] },
      az: { type: "azure", baseUrl: az.url, keys: [AZ_KEY], deployments: { "gpt-4o": "prod-4o" }, apiVersion: "2024-10-21" },
    },
    routing: { maxAttempts: 1 },
  });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: "unused", maxRetries: 0 });
  ollama = new Ollama({ host: gw.url });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
  await az?.stop();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({});
  az.reply({});
});

const lastChat = () => fake.requests.filter((r) => r.path === "/v1/chat/completions").at(-1)!;
const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

describe("OpenAI client → OpenAI upstream", () => {
  test("non-stream: body relayed, usage and cached tokens kept", async () => {
    fake.reply({ text: "Bonjour!", usage: { input: 50, output: 3, cached: 20 } });
    const res = await openai.chat.completions.create({
      model: "oai/gpt-4o",
      messages: [
        { role: "system", content: "Speak French." },
        { role: "user", content: "Hello" },
      ],
      max_completion_tokens: 40,
      temperature: 0.3,
    });
    expect(res.choices[0]!.message.content).toBe("Bonjour!");
    expect(res.usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 20 } });
    const req = lastChat();
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.body).toMatchObject({ model: "gpt-4o", max_completion_tokens: 40, temperature: 0.3, messages: [{ role: "system", content: "Speak French." }, { role: "user", content: "Hello" }] });
  });

  test("stream with tools: the SDK assembles the calls; the round trip is accepted upstream", async () => {
    fake.reply({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Paris" } }] });
    const runner = openai.chat.completions.stream({ model: "oai/gpt-4o", messages: [{ role: "user", content: "Weather?" }], tools: [weatherTool], stream_options: { include_usage: true } });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(call.type === "function" && [call.id, call.function.name, JSON.parse(call.function.arguments)]).toEqual(["call_w1", "get_weather", { city: "Paris" }]);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.usage?.total_tokens).toBeGreaterThan(0);
    expect(lastChat().body.stream_options).toEqual({ include_usage: true });

    fake.reply({ text: "18C." });
    const res = await openai.chat.completions.create({
      model: "oai/gpt-4o",
      tools: [weatherTool],
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_w1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_w1", content: "18C" },
      ],
    });
    expect(res.choices[0]!.message.content).toBe("18C.");
    expect(lastChat().body.messages.slice(1)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "call_w1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_w1", content: "18C" },
    ]);
  });

  test("embeddings: SDK default base64 in, float asked upstream", async () => {
    const res = await openai.embeddings.create({ model: "oai/text-embedding-3-small", input: ["hello", "world"] });
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding).toHaveLength(8);
    expect(fake.requests.at(-1)!.body.encoding_format).toBe("float");
  });

  test("an upstream 429 reaches the client as a 429 with Retry-After", async () => {
    fake.fail({ kind: "status", status: 429, body: { error: { message: "Rate limit reached", type: "requests", param: null, code: "rate_limit_exceeded" } }, headers: { "retry-after": "7" } });
    const err = await openai.chat.completions.create({ model: "limited/gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.message).toContain("Rate limit reached");
    expect(err.message).not.toContain(KEY);
  });

  test("a mid-stream upstream error ends the client's stream with an error", async () => {
    fake.reply({ text: "a b c d e f", chunkDelayMs: 10 });
    fake.fail({ kind: "cut", afterChunks: 3 });
    const stream = await openai.chat.completions.create({ model: "oai/gpt-4o", messages: [{ role: "user", content: "x" }], stream: true });
    let text = "";
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    // What was relayed before the cut is a prefix of the answer (how much reached the wire
    // before the socket dropped is up to the fake's server).
    expect(text.startsWith("a ")).toBe(true);
    expect("a b c d e f".startsWith(text) && text !== "a b c d e f").toBe(true);
  });
});

describe("Anthropic client → OpenAI upstream", () => {
  test("stream: system, tool_result before user text, thinking from reasoning_content, usage", async () => {
    fake.reply({ reasoning: "Checking.", text: "It is cold.", usage: { input: 30, output: 6, cached: 10 } });
    const stream = anthropic.messages.stream({
      model: "oai/gpt-4o",
      max_tokens: 100,
      system: "Be brief.",
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Oslo" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "-5C" }, { type: "text", text: "Summarise." }] },
      ],
    });
    const msg = await stream.finalMessage();
    expect(msg.content.find((b) => b.type === "text")).toMatchObject({ text: "It is cold." });
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.output_tokens).toBe(6);
    expect(msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0)).toBe(30);
    expect(lastChat().body).toMatchObject({
      model: "gpt-4o",
      max_completion_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
        { role: "tool", tool_call_id: "toolu_01", content: "-5C" },
        { role: "user", content: "Summarise." },
      ],
    });
  });

  test("non-stream tool call → tool_use block with parsed input", async () => {
    fake.reply({ toolCalls: [{ id: "call_9", name: "get_weather", arguments: { city: "Rome" } }] });
    const msg = await anthropic.messages.create({
      model: "oai/gpt-4o",
      max_tokens: 50,
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [{ role: "user", content: "Rome?" }],
    });
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content.find((b) => b.type === "tool_use")).toMatchObject({ id: "call_9", name: "get_weather", input: { city: "Rome" } });
  });
});

describe("Ollama client → OpenAI upstream", () => {
  test("streamed chat", async () => {
    fake.reply({ text: "one two", usage: { input: 4, output: 2 } });
    let text = "";
    let last: { done?: boolean; eval_count?: number } = {};
    for await (const part of await ollama.chat({ model: "oai/gpt-4o-mini", messages: [{ role: "user", content: "count" }], stream: true })) {
      text += part.message.content;
      last = part;
    }
    expect(text).toBe("one two");
    expect(last.done).toBe(true);
    expect(last.eval_count).toBe(2);
  });
});

describe("OpenAI client → Azure upstream", () => {
  test("stream and non-stream through the deployment", async () => {
    az.reply({ text: "from azure", usage: { input: 3, output: 2 } });
    const res = await openai.chat.completions.create({ model: "az/gpt-4o", messages: [{ role: "user", content: "hi" }] });
    expect(res.choices[0]!.message.content).toBe("from azure");
    expect(az.requests.at(-1)!.url).toBe("/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21");
    const stream = await openai.chat.completions.create({ model: "az/gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe("from azure");
  });
});
