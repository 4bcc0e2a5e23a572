import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { type AnthropicFake, anthropicErrorBody, startAnthropicFake } from "../fakes/anthropic";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Official OpenAI and Anthropic clients → lmrelay → the fake Anthropic API. The translation is
// right when the SDKs accept what comes back and the fake (with the real API's checks) accepts
// what goes out.

const KEY = "sk-ant-e2e-key-7777";
const model = "claude/claude-test-1";
let fake: AnthropicFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startAnthropicFake({ keys: [KEY] });
  gw = await startGateway({
    providers: {
      claude: { type: "anthropic", baseUrl: fake.url, keys: [KEY], models: ["claude-test-1"] },
      // The 429 test's own provider: a 429 cools its key, which must not touch the other tests.
      limited: { type: "anthropic", baseUrl: fake.url, keys: [KEY], models: ["claude-test-1"] },
    },
    routing: { maxAttempts: 1 },
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

const lastBody = () => fake.requests.filter((r) => r.path === "/v1/messages").at(-1)!.body;
const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

describe("OpenAI client → Anthropic upstream", () => {
  test("non-stream: system hoisted, usage with cached tokens counted once", async () => {
    fake.reply({ text: "Bonjour!", usage: { input: 120, output: 3, cached: 100 }, cacheWrite: 15 });
    const res = await openai.chat.completions.create({
      model,
      messages: [
        { role: "system", content: "Speak French." },
        { role: "user", content: "Hello" },
      ],
      temperature: 1.8,
      max_completion_tokens: 50,
    });
    expect(res.choices[0]!.message.content).toBe("Bonjour!");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 3, total_tokens: 123, prompt_tokens_details: { cached_tokens: 100 } });
    expect(lastBody()).toMatchObject({ model: "claude-test-1", system: [{ type: "text", text: "Speak French." }], max_tokens: 50, temperature: 1 });
    expect(fake.requests.at(-1)!.headers["anthropic-beta"]).toBeUndefined();
  });

  test("stream: tool calls assemble in the SDK, and the round trip (empty assistant content) is accepted", async () => {
    fake.reply({ toolCalls: [{ id: "toolu_01A", name: "get_weather", arguments: { city: "Paris" } }] });
    const stream = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weatherTool], stream: true });
    const args: string[] = [];
    let finish: string | null | undefined;
    let id = "";
    for await (const chunk of stream) {
      const tc = chunk.choices[0]?.delta.tool_calls?.[0];
      if (tc?.id) id = tc.id;
      if (tc?.function?.arguments) args.push(tc.function.arguments);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(args.join(""))).toEqual({ city: "Paris" });
    expect(finish).toBe("tool_calls");

    fake.reply({ text: "18C and sunny." });
    const res = await openai.chat.completions.create({
      model,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: "", tool_calls: [{ id, type: "function", function: { name: "get_weather", arguments: args.join("") } }] },
        { role: "tool", tool_call_id: id, content: "18C" },
      ],
    });
    expect(res.choices[0]!.message.content).toBe("18C and sunny.");
    expect(lastBody().messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      { role: "assistant", content: [{ type: "tool_use", id, name: "get_weather", input: { city: "Paris" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: [{ type: "text", text: "18C" }] }] },
    ]);
  });

  test("JSON mode: the forced tool's answer arrives as message content", async () => {
    fake.reply({ toolCalls: [{ name: "json_tool_call", arguments: { answer: 42 } }] });
    const res = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "json please" }], response_format: { type: "json_object" } });
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ answer: 42 });
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.choices[0]!.message.tool_calls ?? []).toEqual([]);
  });

  test("429 from Anthropic reaches the client as 429", async () => {
    fake.fail({ kind: "status", status: 429, body: anthropicErrorBody("rate_limit_error", "slow down"), headers: { "retry-after": "3" } });
    const err = await openai.chat.completions.create({ model: "limited/claude-test-1", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(429);
  });
});

describe("Anthropic client → Anthropic upstream", () => {
  test("stream: thinking with signature survives, the fold matches", async () => {
    fake.reply({ text: "Done.", thinking: "Pondering." });
    const stream = anthropic.messages.stream({ model, max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 2000 }, messages: [{ role: "user", content: "Think" }] });
    const msg = await stream.finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    expect((msg.content[0] as Anthropic.ThinkingBlock).thinking).toBe("Pondering.");
    expect((msg.content[0] as Anthropic.ThinkingBlock).signature).toStartWith("sig_");
    expect(lastBody().thinking).toEqual({ type: "enabled", budget_tokens: 2000 });
  });

  test("the thinking signature goes back upstream verbatim in the next turn", async () => {
    const res = await anthropic.messages.create({
      model,
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [
        { role: "user", content: "Think" },
        { role: "assistant", content: [{ type: "thinking", thinking: "Pondering.", signature: "sig_abc" }, { type: "text", text: "Done." }] },
        { role: "user", content: "Again" },
      ],
    });
    expect(res.stop_reason).toBe("end_turn");
    expect(lastBody().messages[1].content[0]).toEqual({ type: "thinking", thinking: "Pondering.", signature: "sig_abc" });
  });

  test("cache usage comes back as Anthropic reported it", async () => {
    fake.reply({ text: "ok", usage: { input: 100, output: 2, cached: 70 }, cacheWrite: 20 });
    const res = await anthropic.messages.create({ model, max_tokens: 100, system: [{ type: "text", text: "long prompt", cache_control: { type: "ephemeral" } }], messages: [{ role: "user", content: "hi" }] });
    expect(res.usage).toMatchObject({ input_tokens: 10, cache_read_input_tokens: 70, cache_creation_input_tokens: 20, output_tokens: 2 });
    expect(lastBody().system).toEqual([{ type: "text", text: "long prompt", cache_control: { type: "ephemeral" } }]);
  });

  test("529 overloaded fails the attempt; the client gets a server error it may retry", async () => {
    fake.fail({ kind: "status", status: 529, body: anthropicErrorBody("overloaded_error", "Overloaded") });
    const err = await anthropic.messages.create({ model, max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect(String(err.message)).toContain("claude");
  });

  test("an error event mid-stream reaches the Anthropic client as a stream error", async () => {
    fake.reply({ text: "one two three", chunkDelayMs: 5, midStreamError: { type: "overloaded_error", message: "Overloaded" } });
    const stream = anthropic.messages.stream({ model, max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    const err = await stream.finalMessage().catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
  });
});
