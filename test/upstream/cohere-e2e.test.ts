import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { type CohereFake, startCohereFake } from "../fakes/cohere";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { readChatStream } from "../helpers/openai-stream";

// Official OpenAI and Anthropic clients → lmrelay → the fake Cohere API: the translation is right
// when the SDKs accept it, streaming and tool calls included.

const KEY = "cohere-e2e-key";
let fake: CohereFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startCohereFake({ keys: [KEY] });
  gw = await startGateway({
    providers: { co: { type: "cohere", baseUrl: fake.url, keys: [KEY], models: ["command-a-03-2025", "embed-v4.0"] } },
  });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({});
});

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

test("OpenAI client, non-stream: text and usage from Cohere's tokens", async () => {
  fake.reply({ text: "Bonjour!", usage: { input: 21, output: 2 } });
  const res = await openai.chat.completions.create({
    model: "co/command-a-03-2025",
    messages: [
      { role: "system", content: "Speak French." },
      { role: "user", content: "Hello" },
    ],
    top_p: 1,
  });
  expect(res.choices[0]!.message.content).toBe("Bonjour!");
  expect(res.choices[0]!.finish_reason).toBe("stop");
  expect(res.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 2 });
  expect(fake.requests[0]!.body).toMatchObject({
    model: "command-a-03-2025",
    messages: [
      { role: "system", content: "Speak French." },
      { role: "user", content: "Hello" },
    ],
    p: 0.99,
    stream: false,
  });
});

test("OpenAI client, stream with include_usage", async () => {
  fake.reply({ text: "one two three", usage: { input: 9, output: 3 } });
  const stream = await openai.chat.completions.create({
    model: "co/command-a-03-2025",
    messages: [{ role: "user", content: "count" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const { text, finish, usage } = await readChatStream(stream);
  expect(text).toBe("one two three");
  expect(finish).toBe("stop");
  expect(usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3 });
});

test("OpenAI client: tool-call round trip (tool_plan ↔ assistant content)", async () => {
  fake.reply({ toolCalls: [{ id: "get_weather_k1", name: "get_weather", arguments: { city: "Paris" } }] });
  const first = await openai.chat.completions.create({
    model: "co/command-a-03-2025",
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weatherTool],
    tool_choice: "required",
  });
  const msg = first.choices[0]!.message;
  expect(first.choices[0]!.finish_reason).toBe("tool_calls");
  expect(msg.content).toBe("I will call get_weather.");
  expect(msg.tool_calls).toEqual([{ id: "get_weather_k1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
  expect(fake.requests[0]!.body.tool_choice).toBe("REQUIRED");

  fake.reply({ text: "18 degrees." });
  const second = await openai.chat.completions.create({
    model: "co/command-a-03-2025",
    messages: [
      { role: "user", content: "Weather in Paris?" },
      msg,
      { role: "tool", tool_call_id: "get_weather_k1", content: '{"temp_c":18}' },
    ],
    tools: [weatherTool],
  });
  expect(second.choices[0]!.message.content).toBe("18 degrees.");
  expect(fake.requests[1]!.body.messages).toEqual([
    { role: "user", content: "Weather in Paris?" },
    {
      role: "assistant",
      tool_plan: "I will call get_weather.",
      tool_calls: [{ id: "get_weather_k1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
    },
    { role: "tool", tool_call_id: "get_weather_k1", content: '{"temp_c":18}' },
  ]);
});

test("OpenAI client, streamed tool call", async () => {
  fake.reply({ toolCalls: [{ id: "get_weather_s1", name: "get_weather", arguments: { city: "Oslo" } }] });
  const stream = await openai.chat.completions.create({
    model: "co/command-a-03-2025",
    messages: [{ role: "user", content: "Weather in Oslo?" }],
    tools: [weatherTool],
    stream: true,
  });
  let args = "";
  let id: string | undefined;
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    const tc = chunk.choices[0]?.delta.tool_calls?.[0];
    if (tc?.id) id = tc.id;
    args += tc?.function?.arguments ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  expect(id).toBe("get_weather_s1");
  expect(JSON.parse(args)).toEqual({ city: "Oslo" });
  expect(finish).toBe("tool_calls");
});

test("OpenAI client: embeddings (the SDK's default base64 encoding)", async () => {
  const res = await openai.embeddings.create({ model: "co/embed-v4.0", input: ["hello", "world"], dimensions: 4 });
  expect(res.data).toHaveLength(2);
  expect(res.data[0]!.embedding).toHaveLength(4);
  expect(fake.requests[0]!.body).toMatchObject({ input_type: "search_document", output_dimension: 4, embedding_types: ["float"] });
});

test("Anthropic client, stream: tool_use block from Cohere's tool call", async () => {
  fake.reply({ toolCalls: [{ id: "get_weather_a1", name: "get_weather", arguments: { city: "Rome" } }], usage: { input: 50, output: 12 } });
  const final = await anthropic.messages
    .stream({
      model: "co/command-a-03-2025",
      max_tokens: 256,
      messages: [{ role: "user", content: "Weather in Rome?" }],
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
    })
    .finalMessage();
  expect(final.stop_reason).toBe("tool_use");
  expect(final.content).toHaveLength(2);
  expect(final.content[0]).toMatchObject({ type: "text", text: "I will call get_weather." });
  expect(final.content[1]).toMatchObject({ type: "tool_use", id: "get_weather_a1", name: "get_weather", input: { city: "Rome" } });
  expect(final.usage.output_tokens).toBe(12);
  expect(fake.requests[0]!.body.max_tokens).toBe(256);
});

test("upstream errors reach the OpenAI client with Cohere's message", async () => {
  fake.fail({ kind: "status", status: 400, body: { message: "invalid request: bad things" } });
  const err: any = await openai.chat.completions.create({ model: "co/command-a-03-2025", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
  expect(err).toBeInstanceOf(OpenAI.APIError);
  expect(err.status).toBe(400);
  expect(err.message).toContain("invalid request: bad things");
});
