import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createOpenAI } from "@ai-sdk/openai";
import { Agent, run, setTracingDisabled, tool as agentTool } from "@openai/agents";
import { OpenAIProvider } from "@openai/agents-openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import { scriptReplies } from "./rig";
import { answerRequests, RESPONSES_KEY, type ResponsesRig, startResponsesRig, toolThenAnswer, UPSTREAMS, type UpstreamName } from "./responses-rig";

// Frameworks whose default is the Responses API, unmodified, through lmrelay to every kind of
// upstream: the Vercel AI SDK's `openai(model)` multi-step tool loop (with its default `store: true`,
// which sends earlier output back as `item_reference`s, and with `store: false`), and an OpenAI
// Agents SDK agent with a function tool.

let rig: ResponsesRig;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  rig = await startResponsesRig();
  openai = createOpenAI({ baseURL: `${rig.url}/v1`, apiKey: RESPONSES_KEY });
  setTracingDisabled(true);
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => rig.reset());

const SCHEMA = { type: "object" as const, properties: { city: { type: "string" as const } }, required: ["city"], additionalProperties: false };
const RESULT = "Sunny, 21 degrees in Paris";
const FINAL = "It is sunny and 21 degrees in Paris.";
type Input = { city: string };
const weather = tool({
  description: "Current weather for a city",
  inputSchema: jsonSchema<Input>(SCHEMA),
  execute: async ({ city }: Input) => (city === "Paris" ? RESULT : "unknown city"),
});

const names = Object.keys(UPSTREAMS) as UpstreamName[];

describe.each(names)("Vercel AI SDK openai(model) → %s upstream", (name) => {
  const model = UPSTREAMS[name];

  test("generateText multi-step tool loop with the default store: true (item_reference on step 2)", async () => {
    toolThenAnswer(rig.fake(name), { id: "call_v1", name: "weather", arguments: { city: "Paris" } }, RESULT, FINAL);
    const res = await generateText({ model: openai(model), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
    expect(res.text).toBe(FINAL);
    expect(res.steps.length).toBe(2);
    expect(res.steps[0]!.toolCalls.map((c) => [c.toolName, c.input])).toEqual([["weather", { city: "Paris" }]]);
    const calls = answerRequests(rig.fake(name));
    expect(JSON.stringify(calls.at(-1)!.body)).toContain(RESULT);
  });

  test("streamText multi-step tool loop with store: false", async () => {
    toolThenAnswer(rig.fake(name), { id: "call_v2", name: "weather", arguments: { city: "Paris" } }, RESULT, FINAL);
    const res = streamText({
      model: openai(model),
      prompt: "Weather in Paris?",
      tools: { weather },
      stopWhen: stepCountIs(3),
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });
    expect(await res.text).toBe(FINAL);
    expect((await res.steps).length).toBe(2);
    expect((await res.usage).totalTokens).toBeGreaterThan(0);
  });
});

test("the AI SDK's store: true step 2 is item_reference items, resolved from lmrelay's store", async () => {
  // Recorded at lmrelay's door: what the SDK itself sent on step 2.
  const bodies: unknown[] = [];
  const spy = createOpenAI({
    baseURL: `${rig.url}/v1`,
    apiKey: RESPONSES_KEY,
    fetch: (async (url: string | URL | Request, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body ?? "{}")));
      return fetch(url, init);
    }) as typeof fetch,
  });
  // Step 1 says something besides the call: that text item is what the SDK references on step 2.
  scriptReplies(rig.anthropic, (req) =>
    JSON.stringify(req.body).includes(RESULT) ? { text: FINAL } : { text: "Let me look.", toolCalls: [{ id: "toolu_ref1", name: "weather", arguments: { city: "Paris" } }] },
  );
  const res = await generateText({ model: spy(UPSTREAMS.anthropic), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
  expect(res.text).toBe(FINAL);
  const step2 = bodies[1] as { input: { type?: string }[] };
  expect(step2.input.some((i) => i.type === "item_reference")).toBe(true);
  // Anthropic got the call back as a tool_use with its result.
  const last = answerRequests(rig.anthropic).at(-1)!.body.messages;
  expect(last.at(-2).content[0]).toEqual({ type: "text", text: "Let me look." });
  expect(last.at(-2).content.at(-1)).toMatchObject({ type: "tool_use", id: "toolu_ref1", name: "weather" });
  expect(last.at(-1).content[0]).toMatchObject({ type: "tool_result", tool_use_id: "toolu_ref1" });
});

describe.each(names)("OpenAI Agents SDK → %s upstream", (name) => {
  test("an agent with a function tool runs it and answers", async () => {
    toolThenAnswer(rig.fake(name), { id: "call_a1", name: "get_weather", arguments: { city: "Paris" } }, RESULT, FINAL);
    const provider = new OpenAIProvider({ openAIClient: new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: RESPONSES_KEY, maxRetries: 0 }), useResponses: true });
    const getWeather = agentTool({
      name: "get_weather",
      description: "Current weather for a city",
      parameters: SCHEMA as never, // a plain JSON schema (the SDK's type wants a zod object or its own JSON type)
      strict: true,
      execute: async (input) => ((input as Input).city === "Paris" ? RESULT : "unknown city"),
    });
    const agent = new Agent({ name: "Weather", instructions: "Answer weather questions with the tool.", model: await provider.getModel(UPSTREAMS[name]), tools: [getWeather] });
    const result = await run(agent, "Weather in Paris?");
    expect(result.finalOutput).toBe(FINAL);
    const sent = answerRequests(rig.fake(name));
    expect(sent.length).toBe(2);
    expect(JSON.stringify(sent[1]!.body)).toContain(RESULT);
  });
});
