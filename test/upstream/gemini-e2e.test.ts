import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { FAKE_GEMINI_KEY, FAKE_THOUGHT_SIGNATURE, type GeminiFake, geminiErrorBody, startGeminiFake } from "../fakes/gemini";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { readChatStream } from "../helpers/openai-stream";

// Official OpenAI and Anthropic clients → lmrelay → the fake Gemini API: the translation is right
// when the SDKs accept it, streaming, tool calls, failover on a bad key and embeddings included.

let fake: GeminiFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startGeminiFake();
  gw = await startGateway({
    providers: {
      // The first key is refused (400 API_KEY_INVALID): lmrelay must move on to the second.
      gem: { type: "gemini", baseUrl: fake.url, keys: ["AIza-revoked-key", FAKE_GEMINI_KEY], models: ["gemini-2.5-flash", "gemini-3-pro-preview", "gemini-embedding-001"] },
      solo: { type: "gemini", baseUrl: fake.url, keys: [FAKE_GEMINI_KEY], models: ["gemini-2.5-flash"] },
    },
    routing: { keyRotation: "round-robin" },
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
  function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

test("OpenAI client, non-stream: a bad key is skipped, the answer and usage come through", async () => {
  fake.reply({ text: "Bonjour!", usage: { input: 21, output: 2, cached: 5 } });
  const res = await openai.chat.completions.create({
    model: "gem/gemini-2.5-flash",
    messages: [
      { role: "system", content: "Speak French." },
      { role: "user", content: "Hello" },
    ],
    max_completion_tokens: 50,
  });
  expect(res.choices[0]!.message.content).toBe("Bonjour!");
  expect(res.choices[0]!.finish_reason).toBe("stop");
  expect(res.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 2 });
  const answered = fake.requests.at(-1)!;
  expect(answered.headers["x-goog-api-key"]).toBe(FAKE_GEMINI_KEY);
  expect(answered.body).toEqual({
    contents: [{ role: "user", parts: [{ text: "Hello" }] }],
    systemInstruction: { parts: [{ text: "Speak French." }] },
    generationConfig: { maxOutputTokens: 50 },
  });
  // Later requests do not try the disabled key again.
  fake.requests.length = 0;
  await openai.chat.completions.create({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: "again" }] });
  expect(fake.requests.map((r) => r.headers["x-goog-api-key"])).toEqual([FAKE_GEMINI_KEY]);
});

test("OpenAI client, stream with include_usage", async () => {
  fake.reply({ text: "one two three", usage: { input: 9, output: 3 } });
  const stream = await openai.chat.completions.create({
    model: "gem/gemini-2.5-flash",
    messages: [{ role: "user", content: "count" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const { text, finish, usage } = await readChatStream(stream);
  expect(text).toBe("one two three");
  expect(finish).toBe("stop");
  expect(usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3 });
});

test("OpenAI client, tool call round trip on a Gemini 3 model", async () => {
  fake.reply({ toolCalls: [{ id: "fc-1", name: "get_weather", arguments: { city: "Paris" } }] });
  const first = await openai.chat.completions.create({
    model: "gem/gemini-3-pro-preview",
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weatherTool],
    tool_choice: "required",
  });
  const msg = first.choices[0]!.message;
  expect(first.choices[0]!.finish_reason).toBe("tool_calls");
  expect(msg.tool_calls?.length).toBe(1);
  const tc = msg.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
  expect(tc.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
  expect(fake.requests.at(-1)!.body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });

  fake.reply({ text: "It is 18°C." });
  const second = await openai.chat.completions.create({
    model: "gem/gemini-3-pro-preview",
    messages: [
      { role: "user", content: "Weather in Paris?" },
      msg,
      { role: "tool", tool_call_id: tc.id, content: '{"temp_c":18}' },
    ],
    tools: [weatherTool],
  });
  expect(second.choices[0]!.message.content).toBe("It is 18°C.");
  const sent = fake.requests.at(-1)!.body.contents;
  // OpenAI clients cannot carry the signature: lmrelay restores it from the call id.
  expect(sent[1].parts[0].thoughtSignature).toBe(FAKE_THOUGHT_SIGNATURE);
  expect(sent[1].parts[0].functionCall).toMatchObject({ name: "get_weather", args: { city: "Paris" } });
  expect(sent[2]).toEqual({ role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp_c: 18 }, id: tc.id } }] });
});

test("Anthropic client, stream: thinking and a tool_use block", async () => {
  fake.reply({ thinking: "User wants weather.", toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }], noCallIds: true, usage: { input: 30, output: 8 } });
  const stream = anthropic.messages.stream({
    model: "gem/gemini-2.5-flash",
    max_tokens: 4096,
    thinking: { type: "enabled", budget_tokens: 2048 },
    messages: [{ role: "user", content: "Weather in Oslo?" }],
    tools: [{ name: "get_weather", description: "Current weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
  });
  const final = await stream.finalMessage();
  expect(final.stop_reason).toBe("tool_use");
  const toolUse = final.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
  expect(toolUse.name).toBe("get_weather");
  expect(toolUse.input).toEqual({ city: "Oslo" });
  expect(toolUse.id).toMatch(/^[a-zA-Z0-9_-]+$/);
  const thinking = final.content.find((b) => b.type === "thinking") as Anthropic.ThinkingBlock | undefined;
  expect(thinking?.thinking).toBe("User wants weather.");
  expect(final.usage.output_tokens).toBe(8 + 3);
  expect(fake.requests.at(-1)!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } });
});

test("OpenAI client: embeddings through batchEmbedContents", async () => {
  const res = await openai.embeddings.create({ model: "gem/gemini-embedding-001", input: ["alpha", "beta"], dimensions: 4 });
  expect(res.data.length).toBe(2);
  expect(res.data[0]!.embedding.length).toBe(4);
  expect(fake.requests.at(-1)!.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
});

test("Anthropic client: a 429 with RetryInfo reaches the client as a rate limit with Retry-After", async () => {
  fake.fail({
    kind: "status",
    status: 429,
    body: geminiErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }]),
  });
  // A provider with one key: nothing to fail over to.
  const err = await anthropic.messages.create({ model: "solo/gemini-2.5-flash", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
  expect(err).toBeInstanceOf(Anthropic.RateLimitError);
  expect(err.headers.get("retry-after")).toBe("7");
  expect(fake.requests.length).toBe(1);
});
