import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Official clients → lmrelay → the fake Ollama server: the translation is right when the SDKs
// accept it, streaming, tool calls and usage included. Models are discovered from /api/tags.

let fake: OllamaFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
let ollama: Ollama;

beforeAll(async () => {
  fake = await startOllamaFake({ models: ["llama3.2:latest", "qwen3:8b", "all-minilm:latest", "ghost:latest"] });
  gw = await startGateway({ providers: { local: { type: "ollama", baseUrl: fake.url } } });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: "unused", maxRetries: 0 });
  ollama = new Ollama({ host: gw.url });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({});
});

const chats = () => fake.requests.filter((r) => r.path === "/api/chat");

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

test("OpenAI client, stream: text deltas, finish, usage from Ollama's counts", async () => {
  fake.reply({ text: "Hello from the fake", usage: { input: 17, output: 4 } });
  const stream = await openai.chat.completions.create({
    model: "local/llama3.2",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ],
    max_tokens: 50,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? "";
    finish ??= chunk.choices[0]?.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  expect(text).toBe("Hello from the fake");
  expect(finish).toBe("stop");
  expect(usage).toMatchObject({ prompt_tokens: 17, completion_tokens: 4 });
  expect(chats()[0]!.body).toEqual({
    model: "llama3.2:latest",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ],
    options: { num_predict: 50 },
    stream: true,
  });
});

test("OpenAI client, non-stream tool call round trip", async () => {
  fake.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] });
  const first = await openai.chat.completions.create({
    model: "local/llama3.2",
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weatherTool],
  });
  const choice = first.choices[0]!;
  expect(choice.finish_reason).toBe("tool_calls");
  const call = choice.message.tool_calls![0]!;
  expect(call.type === "function" && call.function.name).toBe("get_weather");
  expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });

  fake.reply({ text: "It is sunny." });
  const second = await openai.chat.completions.create({
    model: "local/llama3.2",
    messages: [
      { role: "user", content: "Weather in Paris?" },
      choice.message,
      { role: "tool", tool_call_id: call.id, content: "Sunny, 24C" },
    ],
    tools: [weatherTool],
  });
  expect(second.choices[0]!.message.content).toBe("It is sunny.");
  expect(chats()[1]!.body.messages.slice(1)).toEqual([
    { role: "assistant", content: "", tool_calls: [{ id: call.id, function: { name: "get_weather", arguments: { city: "Paris" } } }] },
    { role: "tool", content: "Sunny, 24C", tool_name: "get_weather", tool_call_id: call.id },
  ]);
});

test("Anthropic client, stream: thinking and text blocks from a thinking model", async () => {
  fake.reply({ text: "Forty-two.", thinking: "Let me see." });
  const stream = anthropic.messages.stream({
    model: "local/qwen3:8b",
    max_tokens: 1024,
    thinking: { type: "enabled", budget_tokens: 512 },
    messages: [{ role: "user", content: "Meaning of life?" }],
  });
  const message = await stream.finalMessage();
  expect(message.content.map((b) => b.type)).toEqual(["thinking", "text"]);
  expect(message.content[1]!.type === "text" && message.content[1]!.text).toBe("Forty-two.");
  expect(message.stop_reason).toBe("end_turn");
  expect(chats()[0]!.body.think).toBe(true);
});

test("Ollama client → Ollama upstream: options such as num_ctx and keep_alive pass through", async () => {
  fake.reply({ text: "Same protocol." });
  const res = await ollama.chat({
    model: "local/llama3.2",
    messages: [{ role: "user", content: "Hi" }],
    options: { temperature: 0.3, num_ctx: 4096 },
    keep_alive: "10m",
  });
  expect(res.message.content).toBe("Same protocol.");
  expect(chats()[0]!.body).toMatchObject({
    model: "llama3.2:latest",
    options: { temperature: 0.3, num_ctx: 4096 },
    keep_alive: "10m",
    stream: false,
  });
});

test("OpenAI embeddings → /api/embed", async () => {
  const res = await openai.embeddings.create({ model: "local/all-minilm", input: ["one", "two words"], encoding_format: "float" });
  expect(res.data.map((d) => d.embedding.length)).toEqual([8, 8]);
  expect(res.usage.prompt_tokens).toBe(3);
  expect(fake.requests.find((r) => r.path === "/api/embed")!.body).toMatchObject({ model: "all-minilm:latest", input: ["one", "two words"] });
});

test("a model gone from the upstream since discovery → the client sees Ollama's 404", async () => {
  fake.models.splice(fake.models.indexOf("ghost:latest"), 1);
  const err = await openai.chat.completions.create({ model: "local/ghost", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
  expect(err).toBeInstanceOf(OpenAI.APIError);
  expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
  expect((err as Error).message).toContain("model 'ghost:latest' not found");
  expect(chats()).toHaveLength(1);
});

test("a mid-stream error reaches the OpenAI client as a stream error", async () => {
  fake.reply({ text: "one two three four" });
  fake.failMidStream("an error was encountered while running the model", 2);
  const run = async () => {
    const stream = await openai.chat.completions.create({ model: "local/llama3.2", messages: [{ role: "user", content: "x" }], stream: true });
    for await (const _ of stream);
  };
  await expect(run()).rejects.toThrow(/error was encountered while running the model/);
});
