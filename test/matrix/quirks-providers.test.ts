import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { type Message as OllamaMessage, Ollama } from "ollama";
import OpenAI from "openai";
import { SKIP_SIGNATURE } from "../../src/upstream/gemini/encode";
import { type CohereFake, startCohereFake } from "../fakes/cohere";
import { FAKE_GEMINI_KEY, FAKE_THOUGHT_SIGNATURE, type GeminiFake, startGeminiFake } from "../fakes/gemini";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Provider quirks (issue 3), end to end through the official clients: Gemini's `model` role,
// function calls without ids and thought signatures that must come back (Gemini 3 refuses a call
// without one); Cohere's `tool_plan`, the words before a tool call that are not `content`.

type Json = Record<string, any>;

let gemini: GeminiFake;
let cohere: CohereFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
let ollama: Ollama;

beforeAll(async () => {
  gemini = await startGeminiFake();
  cohere = await startCohereFake();
  gw = await startGateway({
    providers: {
      gem: { type: "gemini", baseUrl: gemini.url, keys: [FAKE_GEMINI_KEY], models: ["gemini-3-pro-preview"] },
      co: { type: "cohere", baseUrl: cohere.url, keys: ["cohere-test-key"], models: ["command-a-03-2025"] },
    },
    routing: { maxAttempts: 1 },
  });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "matrix", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: "matrix", maxRetries: 0 });
  ollama = new Ollama({ host: gw.url });
});
afterAll(async () => {
  await gw?.stop();
  await gemini?.stop();
  await cohere?.stop();
});

// Typed by inference so the same list fits the OpenAI and the Ollama SDK.
const TOOLS = [
  { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
  { type: "function" as const, function: { name: "get_time", parameters: { type: "object", properties: { city: { type: "string" } } } } },
];
const CALLS = [
  { name: "get_weather", arguments: { city: "Paris" } },
  { name: "get_time", arguments: { city: "Paris" } },
];
const lastBody = (fake: { requests: { body: any }[] }): Json => fake.requests.at(-1)!.body;

describe("Gemini: model role, function-call ids, thought signatures", () => {
  /** What Gemini received for the round trip: the model turn's calls and the results after it. */
  function expectGeminiRoundTrip(signature: string): void {
    const { contents } = lastBody(gemini);
    expect(contents.map((c: Json) => c.role)).toEqual(["user", "model", "user"]);
    const calls = contents[1].parts.filter((p: Json) => p.functionCall);
    expect(calls.map((p: Json) => p.functionCall.name)).toEqual(["get_weather", "get_time"]);
    expect(calls[0].thoughtSignature).toBe(signature);
    const results = contents[2].parts.map((p: Json) => p.functionResponse);
    expect(results.map((r: Json) => r.name)).toEqual(["get_weather", "get_time"]);
    // Calls and results agree on the ids lmrelay made up for Gemini's id-less calls.
    expect(results.map((r: Json) => r.id)).toEqual(calls.map((p: Json) => p.functionCall.id));
    for (const id of results.map((r: Json) => r.id)) expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
  }

  for (const stream of [false, true]) {
    test(`OpenAI client${stream ? ", stream" : ""}: id-less calls get ids, and the signature comes back on the round trip`, async () => {
      gemini.reply({ toolCalls: CALLS, noCallIds: true });
      const ask: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather and time in Paris?" };
      let message: OpenAI.ChatCompletionMessage;
      if (stream) {
        const runner = openai.chat.completions.stream({ model: "gem/gemini-3-pro-preview", messages: [ask], tools: TOOLS, stream: true });
        message = (await runner.finalChatCompletion()).choices[0]!.message;
      } else message = (await openai.chat.completions.create({ model: "gem/gemini-3-pro-preview", messages: [ask], tools: TOOLS })).choices[0]!.message;
      const ids = message.tool_calls!.map((c) => c.id);
      expect(new Set(ids).size).toBe(2);
      gemini.reply({ text: "Sunny, 14:05." });
      const res = await openai.chat.completions.create({
        model: "gem/gemini-3-pro-preview",
        tools: TOOLS,
        messages: [ask, message, { role: "tool", tool_call_id: ids[0]!, content: "sunny" }, { role: "tool", tool_call_id: ids[1]!, content: "14:05" }],
      });
      expect(res.choices[0]!.message.content).toBe("Sunny, 14:05.");
      expectGeminiRoundTrip(FAKE_THOUGHT_SIGNATURE);
      expect(lastBody(gemini).contents[1].parts.map((p: Json) => p.functionCall.id)).toEqual(ids);
    });
  }

  test("Anthropic client, stream: Gemini's call ids become tool_use ids and come back as they were", async () => {
    gemini.reply({ toolCalls: CALLS.map((c, i) => ({ ...c, id: `fc-${i}-x` })) });
    const ask: Anthropic.MessageParam = { role: "user", content: "Weather and time in Paris?" };
    const tools = TOOLS.map((t) => ({ name: t.function.name, input_schema: t.function.parameters as Anthropic.Tool.InputSchema }));
    const first = await anthropic.messages.stream({ model: "gem/gemini-3-pro-preview", max_tokens: 200, messages: [ask], tools }).finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const uses = first.content.filter((b) => b.type === "tool_use");
    expect(uses.map((u) => u.id)).toEqual(["fc-0-x", "fc-1-x"]);
    gemini.reply({ text: "Sunny, 14:05." });
    await anthropic.messages.create({
      model: "gem/gemini-3-pro-preview",
      max_tokens: 200,
      tools,
      messages: [
        ask,
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "fc-0-x", content: "sunny" },
            { type: "tool_result", tool_use_id: "fc-1-x", content: "14:05" },
          ],
        },
      ],
    });
    expectGeminiRoundTrip(FAKE_THOUGHT_SIGNATURE);
  });

  test("Ollama client echoing the message it got: the calls keep their ids and signature", async () => {
    gemini.reply({ toolCalls: CALLS, noCallIds: true });
    const messages: OllamaMessage[] = [{ role: "user", content: "Weather and time in Paris?" }];
    const first = await ollama.chat({ model: "gem/gemini-3-pro-preview", messages, tools: TOOLS });
    // The documented Ollama tool loop: push the answer's message, then one tool message per call.
    messages.push(first.message, { role: "tool", content: "sunny", tool_name: "get_weather" }, { role: "tool", content: "14:05", tool_name: "get_time" });
    gemini.reply({ text: "Sunny, 14:05." });
    expect((await ollama.chat({ model: "gem/gemini-3-pro-preview", messages, tools: TOOLS })).message.content).toBe("Sunny, 14:05.");
    expectGeminiRoundTrip(FAKE_THOUGHT_SIGNATURE);
  });

  test("history from another model (no signature) is accepted by Gemini 3 with the documented stand-in", async () => {
    gemini.reply({ text: "Sunny." });
    await openai.chat.completions.create({
      model: "gem/gemini-3-pro-preview",
      tools: TOOLS,
      messages: [
        { role: "user", content: "Weather and time in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: CALLS.map((c, i) => ({ id: `call_other_${i}`, type: "function" as const, function: { name: c.name, arguments: JSON.stringify(c.arguments) } })),
        },
        { role: "tool", tool_call_id: "call_other_0", content: "sunny" },
        { role: "tool", tool_call_id: "call_other_1", content: "14:05" },
      ],
    });
    expectGeminiRoundTrip(SKIP_SIGNATURE);
  });
});

describe("Cohere: tool_plan", () => {
  const PLAN = "I will look up the weather and the time in Paris.";

  for (const stream of [false, true]) {
    test(`OpenAI client${stream ? ", stream" : ""}: the plan is the content beside the calls, and goes back as tool_plan`, async () => {
      cohere.reply({ toolCalls: CALLS, toolPlan: PLAN });
      const ask: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather and time in Paris?" };
      const params = { model: "co/command-a-03-2025", messages: [ask], tools: TOOLS };
      const message = stream
        ? (await openai.chat.completions.stream({ ...params, stream: true }).finalChatCompletion()).choices[0]!.message
        : (await openai.chat.completions.create(params)).choices[0]!.message;
      expect(message.content).toBe(PLAN);
      expect(message.tool_calls!.map((c) => (c.type === "function" ? c.function.name : ""))).toEqual(["get_weather", "get_time"]);

      cohere.reply({ text: "Sunny, 14:05." });
      const ids = message.tool_calls!.map((c) => c.id);
      await openai.chat.completions.create({
        ...params,
        messages: [ask, message, { role: "tool", tool_call_id: ids[0]!, content: "sunny" }, { role: "tool", tool_call_id: ids[1]!, content: "14:05" }],
      });
      const sent = lastBody(cohere).messages;
      expect(sent[1]).toEqual({
        role: "assistant",
        tool_plan: PLAN,
        tool_calls: message.tool_calls!.map((c) => ({ id: c.id, type: "function", function: c.type === "function" ? c.function : undefined })),
      });
      expect(sent.slice(2)).toEqual([
        { role: "tool", tool_call_id: ids[0], content: "sunny" },
        { role: "tool", tool_call_id: ids[1], content: "14:05" },
      ]);
    });
  }

  test("Anthropic client, stream: the plan is a text block before the tool_use blocks", async () => {
    cohere.reply({ toolCalls: CALLS, toolPlan: PLAN });
    const tools = TOOLS.map((t) => ({ name: t.function.name, input_schema: t.function.parameters as Anthropic.Tool.InputSchema }));
    const msg = await anthropic.messages
      .stream({ model: "co/command-a-03-2025", max_tokens: 200, tools, messages: [{ role: "user", content: "Weather and time in Paris?" }] })
      .finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(["text", "tool_use", "tool_use"]);
    expect(msg.content[0]).toMatchObject({ type: "text", text: PLAN });
    expect(msg.stop_reason).toBe("tool_use");
  });

  test("Ollama client, stream: the plan arrives as content, the calls whole", async () => {
    cohere.reply({ toolCalls: CALLS, toolPlan: PLAN });
    let content = "";
    const calls: string[] = [];
    for await (const part of await ollama.chat({ model: "co/command-a-03-2025", messages: [{ role: "user", content: "Weather and time?" }], tools: TOOLS, stream: true })) {
      content += part.message.content;
      for (const c of part.message.tool_calls ?? []) calls.push(`${c.function.name}:${JSON.stringify(c.function.arguments)}`);
    }
    expect(content).toBe(PLAN);
    expect(calls).toEqual(['get_weather:{"city":"Paris"}', 'get_time:{"city":"Paris"}']);
  });
});
