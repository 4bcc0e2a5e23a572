import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, embed, embedMany, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import {
  CLIENT_KEY,
  type ClientsRig,
  conversationHas,
  FINAL_ANSWER,
  inferenceRequests,
  MODELS,
  startClientsRig,
  WEATHER_RESULT,
  WEATHER_SCHEMA,
  weatherConversation,
} from "./rig";

// The Vercel AI SDK (`ai` + `@ai-sdk/openai` + `@ai-sdk/anthropic`), unmodified, pointed at lmrelay:
// generateText, streamText, a multi-step tool round trip, embeddings and errors. Right when the SDK
// accepts every answer and the fake upstreams (with the real APIs' checks) accept every request.

let rig: ClientsRig;
let openai: ReturnType<typeof createOpenAI>;
let anthropic: ReturnType<typeof createAnthropic>;

beforeAll(async () => {
  rig = await startClientsRig();
  openai = createOpenAI({ baseURL: `${rig.url}/v1`, apiKey: CLIENT_KEY });
  anthropic = createAnthropic({ baseURL: `${rig.url}/v1`, apiKey: CLIENT_KEY });
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => rig.reset());

type Input = { city: string };
const weather = tool({
  description: "Current weather for a city",
  inputSchema: jsonSchema<Input>(WEATHER_SCHEMA),
  execute: async ({ city }: Input) => (city === "Paris" ? WEATHER_RESULT : "unknown city"),
});

// Unknown model names make the Anthropic provider fall back to 4096 output tokens and warn; set it.
const maxOutputTokens = 1000;

describe("@ai-sdk/openai (Chat Completions)", () => {
  test("generateText: the answer, usage, finish reason and lmrelay's headers", async () => {
    const res = await generateText({ model: openai.chat(MODELS.echo), system: "Be brief.", prompt: "hello from vercel", maxRetries: 0 });
    expect(res.text).toBe("hello from vercel");
    expect(res.finishReason).toBe("stop");
    expect(res.usage.inputTokens).toBeGreaterThan(0);
    expect(res.usage.outputTokens).toBeGreaterThan(0);
    expect(res.response.headers?.["x-lmrelay-provider"]).toBe("echo");
    expect(res.response.headers?.["x-request-id"]).toBeTruthy();
  });

  test("streamText: pieces arrive one by one; usage comes from the stream's usage chunk", async () => {
    const res = streamText({ model: openai.chat(MODELS.echo), prompt: "one two three four", maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of res.textStream) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe("one two three four");
    expect(await res.finishReason).toBe("stop");
    expect((await res.usage).totalTokens).toBeGreaterThan(0);
  });

  test("tool round trip across protocols: OpenAI client, Anthropic upstream, the SDK runs the tool", async () => {
    weatherConversation(rig.anthropic, "toolu_vercel1");
    const res = await generateText({
      model: openai.chat(MODELS.anthropic),
      prompt: "Weather in Paris?",
      tools: { weather },
      stopWhen: stepCountIs(3),
      maxOutputTokens,
      maxRetries: 0,
    });
    expect(res.text).toBe(FINAL_ANSWER);
    expect(res.steps.length).toBe(2);
    expect(res.steps[0]!.toolCalls.map((c) => [c.toolCallId, c.toolName, c.input])).toEqual([["toolu_vercel1", "weather", { city: "Paris" }]]);
    const [first, second] = inferenceRequests(rig.anthropic);
    expect(first!.body.tools).toEqual([{ name: "weather", description: "Current weather for a city", input_schema: expect.objectContaining({ properties: WEATHER_SCHEMA.properties }) }]);
    // The tool result went back as an Anthropic tool_result answering the call's id.
    const turn = second!.body.messages.at(-1);
    expect(turn.role).toBe("user");
    expect(turn.content[0]).toMatchObject({ type: "tool_result", tool_use_id: "toolu_vercel1" });
    expect(conversationHas(second!, WEATHER_RESULT)).toBe(true);
  });

  test("streamText tool round trip, OpenAI upstream: streamed call fragments assemble", async () => {
    weatherConversation(rig.openai, "call_vercel2");
    const res = streamText({ model: openai.chat(MODELS.openai), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
    expect(await res.text).toBe(FINAL_ANSWER);
    const steps = await res.steps;
    expect(steps[0]!.toolCalls.map((c) => [c.toolCallId, c.input])).toEqual([["call_vercel2", { city: "Paris" }]]);
    const second = inferenceRequests(rig.openai)[1]!;
    expect(second.body.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_vercel2" });
  });

  test("embed and embedMany, through the OpenAI upstream", async () => {
    const one = await embed({ model: openai.embedding(MODELS.openaiEmbed), value: "hello", maxRetries: 0 });
    expect(one.embedding.length).toBe(8);
    expect(one.embedding.some((x) => x !== 0)).toBe(true);
    const many = await embedMany({ model: openai.embedding(MODELS.openaiEmbed), values: ["alpha", "beta", "gamma"], maxRetries: 0 });
    expect(many.embeddings.length).toBe(3);
    expect(many.embeddings[0]).not.toEqual(many.embeddings[1]);
    expect(many.usage.tokens).toBeGreaterThan(0);
    expect(inferenceRequests(rig.openai).at(-1)!.body.input).toEqual(["alpha", "beta", "gamma"]);
  });

  test("embeddings from the echo provider", async () => {
    const res = await embed({ model: openai.embedding(MODELS.echo), value: "hello", maxRetries: 0 });
    expect(res.embedding.length).toBe(8);
  });

  test("errors: unknown model is a 404, a wrong key a 401, both in lmrelay's words", async () => {
    const unknown = await generateText({ model: openai.chat("no-such-model"), prompt: "hi", maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(unknown) && [unknown.statusCode, unknown.message.startsWith("lmrelay: ")]).toEqual([404, true]);
    const stranger = createOpenAI({ baseURL: `${rig.url}/v1`, apiKey: "not-a-client-key" });
    const denied = await generateText({ model: stranger.chat(MODELS.echo), prompt: "hi", maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(denied) && [denied.statusCode, denied.message]).toEqual([401, "lmrelay: invalid API key"]);
  });
});

describe("@ai-sdk/anthropic (Messages)", () => {
  test("generateText with a system prompt: answer, usage, finish reason", async () => {
    const res = await generateText({ model: anthropic(MODELS.echo), system: "Be brief.", prompt: "hello from vercel", maxOutputTokens, maxRetries: 0 });
    expect(res.text).toBe("hello from vercel");
    expect(res.finishReason).toBe("stop");
    expect(res.usage.inputTokens).toBeGreaterThan(0);
    expect(res.usage.outputTokens).toBeGreaterThan(0);
  });

  test("streamText: pieces one by one, usage known at the end", async () => {
    const res = streamText({ model: anthropic(MODELS.echo), prompt: "one two three four", maxOutputTokens, maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of res.textStream) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe("one two three four");
    const usage = await res.usage;
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.outputTokens).toBeGreaterThan(0);
  });

  test("streamed tool round trip across protocols: Anthropic client, OpenAI upstream", async () => {
    weatherConversation(rig.openai, "call_vercel3");
    const res = streamText({ model: anthropic(MODELS.openai), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxOutputTokens, maxRetries: 0 });
    expect(await res.text).toBe(FINAL_ANSWER);
    expect(await res.finishReason).toBe("stop");
    const steps = await res.steps;
    expect(steps[0]!.toolCalls.map((c) => [c.toolCallId, c.toolName, c.input])).toEqual([["call_vercel3", "weather", { city: "Paris" }]]);
    const [first, second] = inferenceRequests(rig.openai);
    expect(first!.body.tools[0]).toMatchObject({ type: "function", function: { name: "weather" } });
    expect(first!.body.max_completion_tokens).toBe(maxOutputTokens);
    expect(second!.body.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_vercel3", content: WEATHER_RESULT });
  });

  test("tool round trip against the Ollama upstream (its calls carry no ids)", async () => {
    weatherConversation(rig.ollama, "unused");
    const res = await generateText({ model: anthropic(MODELS.ollama), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxOutputTokens, maxRetries: 0 });
    expect(res.text).toBe(FINAL_ANSWER);
    expect(res.steps[0]!.toolCalls[0]!.toolCallId).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = inferenceRequests(rig.ollama).at(-1)!;
    expect(second.body.messages.at(-1)).toMatchObject({ role: "tool", content: WEATHER_RESULT });
  });

  test("errors: an unknown model is a 404 in lmrelay's words", async () => {
    const err = await generateText({ model: anthropic("no-such-model"), prompt: "hi", maxOutputTokens, maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect((err as APICallError).statusCode).toBe(404);
    expect((err as APICallError).message).toStartWith("lmrelay: ");
  });
});
