import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type AnthropicFake, FAKE_ANTHROPIC_KEY, anthropicErrorBody, startAnthropicFake } from "../fakes/anthropic";
import { validateMessagesRequest } from "../fakes/anthropic-validate";

// The fake must be what the official SDK accepts, or the adapter tests prove nothing.

let fake: AnthropicFake;
let client: Anthropic;

beforeAll(async () => {
  fake = await startAnthropicFake();
  client = new Anthropic({ apiKey: FAKE_ANTHROPIC_KEY, baseURL: fake.url, maxRetries: 0 });
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({});
});

const weatherTool = { name: "get_weather", description: "Weather", input_schema: { type: "object" as const, properties: { city: { type: "string" } } } };

describe("fake Anthropic upstream through the official SDK", () => {
  test("non-stream text answer with cache usage", async () => {
    fake.reply({ text: "Hi there", usage: { input: 100, output: 7, cached: 60 }, cacheWrite: 30 });
    const msg = await client.messages.create({ model: "claude-test-model", max_tokens: 64, messages: [{ role: "user", content: "Hello" }] });
    expect(msg.type).toBe("message");
    expect(msg.content).toEqual([{ type: "text", text: "Hi there" } as any]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.input_tokens).toBe(10);
    expect(msg.usage.cache_read_input_tokens).toBe(60);
    expect(msg.usage.cache_creation_input_tokens).toBe(30);
    // SDK 1.x sends its own API version and the key as a Bearer token; the fake accepts both styles.
    expect(fake.requests[0]!.headers["anthropic-version"]).toBeString();
  });

  test("stream with thinking and a tool call folds into the same message", async () => {
    fake.reply({ text: "Checking the weather.", toolCalls: [{ id: "toolu_01A", name: "get_weather", arguments: { city: "Paris" } }], usage: { input: 20, output: 9 } });
    const stream = client.messages.stream({
      model: "claude-test-model",
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [weatherTool],
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    const kinds: string[] = [];
    for await (const ev of stream) kinds.push(ev.type);
    const msg = await stream.finalMessage();
    expect(kinds[0]).toBe("message_start");
    expect(kinds.at(-1)).toBe("message_stop");
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    const thinking = msg.content[0] as Anthropic.ThinkingBlock;
    expect(thinking.signature).toStartWith("sig_");
    expect(msg.content[2]).toMatchObject({ type: "tool_use", id: "toolu_01A", name: "get_weather", input: { city: "Paris" } });
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.usage.output_tokens).toBe(9);
  });

  test("tool result round trip is accepted", async () => {
    const msg = await client.messages.create({
      model: "claude-test-model",
      max_tokens: 64,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_01A", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01A", content: "18C" }, { type: "text", text: "thanks" }] },
      ],
    });
    expect(msg.stop_reason).toBe("end_turn");
  });

  test("the real API's rejections reach the SDK as its error classes", async () => {
    const bad = await client.messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: "" }] }] }).catch((e) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    const wrongKey = new Anthropic({ apiKey: "sk-wrong", baseURL: fake.url, maxRetries: 0 });
    const unauthorized = await wrongKey.messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(unauthorized).toBeInstanceOf(Anthropic.AuthenticationError);
    fake.fail({ kind: "status", status: 529, body: anthropicErrorBody("overloaded_error", "Overloaded") });
    const overloaded = await client.messages.create({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect(overloaded.status).toBe(529);
  });

  test("a mid-stream error event surfaces as an SDK error", async () => {
    fake.reply({ midStreamError: { type: "overloaded_error", message: "Overloaded" } });
    const stream = client.messages.stream({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    const err = await stream.finalMessage().catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(String(err.message)).toContain("Overloaded");
  });

  test("models list pages through the SDK's auto-pagination", async () => {
    fake.models = Array.from({ length: 5 }, (_, i) => `claude-test-${i}`);
    const ids: string[] = [];
    for await (const m of client.models.list({ limit: 2 })) ids.push(m.id);
    expect(ids).toEqual(fake.models);
  });
});

describe("fake request validation", () => {
  const base = { model: "m", max_tokens: 10 };
  const cases: [string, object, RegExp | undefined][] = [
    ["valid", { ...base, messages: [{ role: "user", content: "hi" }] }, undefined],
    ["missing max_tokens", { model: "m", messages: [{ role: "user", content: "hi" }] }, /max_tokens: Field required/],
    ["temperature above 1", { ...base, temperature: 1.5, messages: [{ role: "user", content: "hi" }] }, /temperature/],
    ["empty text block", { ...base, messages: [{ role: "user", content: [{ type: "text", text: "" }] }] }, /non-empty/],
    ["whitespace stop", { ...base, stop_sequences: [" "], messages: [{ role: "user", content: "hi" }] }, /non-whitespace/],
    [
      "tool_use without result",
      { ...base, tools: [weatherTool], messages: [{ role: "user", content: "a" }, { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "get_weather", input: {} }] }, { role: "user", content: "b" }] },
      /without `tool_result`/,
    ],
    [
      "tool_result not first",
      {
        ...base,
        tools: [weatherTool],
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "get_weather", input: {} }] },
          { role: "user", content: [{ type: "text", text: "b" }, { type: "tool_result", tool_use_id: "t1", content: "r" }] },
        ],
      },
      /at the beginning of this message/,
    ],
    ["orphan tool_result", { ...base, tools: [weatherTool], messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t9", content: "r" }] }] }, /unexpected `tool_use_id`/],
    [
      "tool history without tools",
      { ...base, messages: [{ role: "user", content: "a" }, { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "f", input: {} }] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "t1" }] }] },
      /must define tools/,
    ],
    ["bad tool id", { ...base, tools: [weatherTool], messages: [{ role: "user", content: "a" }, { role: "assistant", content: [{ type: "tool_use", id: "call.1", name: "f", input: {} }] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "call.1" }] }] }, /pattern/],
    ["budget not below max_tokens", { ...base, max_tokens: 1024, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: "hi" }] }, /greater than `thinking.budget_tokens`/],
    [
      "thinking on while continuing an unsigned tool turn",
      {
        ...base,
        max_tokens: 4096,
        thinking: { type: "enabled", budget_tokens: 1024 },
        tools: [weatherTool],
        messages: [{ role: "user", content: "a" }, { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "get_weather", input: {} }] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "t1" }] }],
      },
      /must start with a thinking block/,
    ],
    ["email user id", { ...base, metadata: { user_id: "a@b.com" }, messages: [{ role: "user", content: "hi" }] }, /email/],
  ];
  for (const [name, body, expected] of cases)
    test(name, () => {
      const problem = validateMessagesRequest(body);
      if (expected) expect(problem).toMatch(expected);
      else expect(problem).toBeUndefined();
    });
});
