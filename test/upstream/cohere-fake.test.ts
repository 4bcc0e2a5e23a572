import { afterAll, beforeAll, expect, test } from "bun:test";
import { CohereClientV2, CohereError } from "cohere-ai";
import { type CohereFake, startCohereFake } from "../fakes/cohere";
import { cohereWire, wireProblems } from "./cohere-schemas";

// Validates the fake itself against the official `cohere-ai` client: if the SDK accepts what the
// fake sends, the adapter tests against the fake test against the real wire format.

let fake: CohereFake;
let client: CohereClientV2;

beforeAll(async () => {
  fake = await startCohereFake({ keys: ["sdk-key"] });
  client = new CohereClientV2({ token: "sdk-key", environment: fake.url });
});
afterAll(() => fake.stop());

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

test("chat: the SDK parses a text answer with usage", async () => {
  fake.reply({ text: "Hello there, friend", usage: { input: 30, output: 4 } });
  const res = await client.chat({ model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }] });
  expect(res.finishReason).toBe("COMPLETE");
  expect(res.message.content).toEqual([{ type: "text", text: "Hello there, friend" }]);
  expect(res.usage?.tokens).toEqual({ inputTokens: 30, outputTokens: 4 });
  expect(res.usage?.billedUnits?.outputTokens).toBe(4);
  const sent = fake.requests.at(-1)!;
  expect(sent.path).toBe("/v2/chat");
  expect(sent.headers.authorization).toBe("Bearer sdk-key");
  expect(sent.body.stream).toBe(false);
});

test("chatStream: the SDK parses the whole event sequence", async () => {
  fake.reply({ text: "one two three", usage: { input: 9, output: 3 } });
  const stream = await client.chatStream({ model: "command-a-03-2025", messages: [{ role: "user", content: "count" }] });
  const types: string[] = [];
  let text = "";
  let end: any;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === "content-delta") text += ev.delta?.message?.content?.text ?? "";
    if (ev.type === "message-end") end = ev.delta;
  }
  expect(text).toBe("one two three");
  expect(types[0]).toBe("message-start");
  expect(types.at(-1)).toBe("message-end");
  expect(types).toContain("content-start");
  expect(types).toContain("content-end");
  expect(end.finishReason).toBe("COMPLETE");
  expect(end.usage.tokens).toEqual({ inputTokens: 9, outputTokens: 3 });
  expect(fake.requests.at(-1)!.body.stream).toBe(true);
});

test("tools: non-stream tool_plan and tool_calls, and a tool-result round trip", async () => {
  fake.reply({ toolCalls: [{ id: "get_weather_abc", name: "get_weather", arguments: { city: "Paris" } }] });
  const res = await client.chat({
    model: "command-a-03-2025",
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weatherTool],
  });
  expect(res.finishReason).toBe("TOOL_CALL");
  expect(res.message.toolPlan).toBe("I will call get_weather.");
  expect(res.message.toolCalls).toEqual([
    { id: "get_weather_abc", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
  ]);

  fake.reply({ text: "It is 18 degrees." });
  const next = await client.chat({
    model: "command-a-03-2025",
    messages: [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", toolPlan: res.message.toolPlan, toolCalls: res.message.toolCalls },
      { role: "tool", toolCallId: "get_weather_abc", content: '{"temp_c":18}' },
    ],
    tools: [weatherTool],
  });
  expect(next.message.content).toEqual([{ type: "text", text: "It is 18 degrees." }]);
  const sent = fake.requests.at(-1)!.body;
  expect(sent.messages[1]).toEqual({
    role: "assistant",
    tool_plan: "I will call get_weather.",
    tool_calls: [{ id: "get_weather_abc", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
  });
  expect(sent.messages[2]).toEqual({ role: "tool", tool_call_id: "get_weather_abc", content: '{"temp_c":18}' });
});

test("tools: streamed tool plan and tool-call fragments", async () => {
  fake.reply({ toolCalls: [{ id: "get_weather_xyz", name: "get_weather", arguments: { city: "Oslo" } }] });
  const stream = await client.chatStream({
    model: "command-a-03-2025",
    messages: [{ role: "user", content: "Weather in Oslo?" }],
    tools: [weatherTool],
  });
  let plan = "";
  let args = "";
  let start: any;
  let finish: string | undefined;
  for await (const ev of stream) {
    if (ev.type === "tool-plan-delta") plan += ev.delta?.message?.toolPlan ?? "";
    if (ev.type === "tool-call-start") start = ev.delta?.message?.toolCalls;
    if (ev.type === "tool-call-delta") args += ev.delta?.message?.toolCalls?.function?.arguments ?? "";
    if (ev.type === "message-end") finish = ev.delta?.finishReason;
  }
  expect(plan).toBe("I will call get_weather.");
  expect(start).toEqual({ id: "get_weather_xyz", type: "function", function: { name: "get_weather", arguments: "" } });
  expect(JSON.parse(args)).toEqual({ city: "Oslo" });
  expect(finish).toBe("TOOL_CALL");
});

test("embed: float embeddings and billed units", async () => {
  const res = await client.embed({
    model: "embed-v4.0",
    texts: ["hello", "big world"],
    inputType: "search_document",
    embeddingTypes: ["float"],
    outputDimension: 4,
  } as any);
  expect(res.embeddings.float?.length).toBe(2);
  expect(res.embeddings.float?.[0]?.length).toBe(4);
  expect(res.meta?.billedUnits?.inputTokens).toBe(3);
});

test("models: the SDK lists models", async () => {
  const res = await client.models.list();
  expect(res.models.map((m) => m.name)).toEqual(fake.models);
});

test("a wrong key is a 401 the SDK reports", async () => {
  const bad = new CohereClientV2({ token: "nope", environment: fake.url });
  const err: any = await bad.chat({ model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }] }, { maxRetries: 0 }).catch((e) => e);
  expect(err).toBeInstanceOf(CohereError);
  expect(err.statusCode).toBe(401);
});

test("raw fake payloads pass the SDK's wire schemas with validation on", async () => {
  const post = (path: string, body: unknown) =>
    fetch(`${fake.url}${path}`, {
      method: "POST",
      headers: { authorization: "Bearer sdk-key", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const chatBody = { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], thinking: { type: "enabled" } };
  fake.reply({ text: "plain answer", thinking: "let me think" });
  expect(wireProblems(cohereWire.V2ChatResponse!, await (await post("/v2/chat", chatBody)).json())).toEqual([]);
  fake.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Rome" } }] });
  expect(wireProblems(cohereWire.V2ChatResponse!, await (await post("/v2/chat", { ...chatBody, tools: [weatherTool] })).json())).toEqual([]);

  for (const reply of [{ text: "a b", thinking: "hmm ok" }, { toolCalls: [{ name: "get_weather", arguments: { city: "Rome" } }] }]) {
    fake.reply(reply);
    const sse = await (await post("/v2/chat", { ...chatBody, stream: true })).text();
    const frames = sse.split("\n\n").filter(Boolean);
    expect(frames.length).toBeGreaterThan(4);
    for (const f of frames) {
      const [eventLine, dataLine] = f.split("\n");
      const data = JSON.parse(dataLine!.slice("data: ".length));
      expect(eventLine).toBe(`event: ${data.type}`);
      expect(wireProblems(cohereWire.V2ChatStreamResponse!, data)).toEqual([]);
    }
  }

  const emb = await (await post("/v2/embed", { model: "embed-v4.0", texts: ["x"], input_type: "search_document", embedding_types: ["float"] })).json();
  expect(wireProblems(cohereWire.EmbedByTypeResponse!, emb)).toEqual([]);
  const models = await (await fetch(`${fake.url}/v1/models`, { headers: { authorization: "Bearer sdk-key" } })).json();
  expect(wireProblems(cohereWire.ListModelsResponse!, models)).toEqual([]);
});
