import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type OpenAIFake, startOpenAIFake } from "../../fakes/openai";
import { startGateway, type TestGateway } from "../../helpers/gateway";

// Anthropic clients in front of an OpenAI upstream: the translation where the two wire formats
// differ most (tool-call fragments, usage chunk after the finish, cached tokens inside input).

let gw: TestGateway;
let openai: OpenAIFake;
let client: Anthropic;

beforeAll(async () => {
  openai = await startOpenAIFake();
  gw = await startGateway({
    providers: { oa: { type: "openai", baseUrl: `${openai.url}/v1`, keys: ["sk-test"], models: ["gpt-4o"] } },
  });
  client = new Anthropic({ apiKey: "unused", baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw?.stop();
  await openai?.stop();
});

const lastChat = () => openai.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.body;
const model = "oa/gpt-4o";
const weather = { name: "get_weather", description: "Weather now", input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] } };

describe("Anthropic SDK → lmrelay → OpenAI", () => {
  test("text with system prompt; cached tokens leave input_tokens (stream and not)", async () => {
    openai.reply({ text: "Bonjour à tous", usage: { input: 200, output: 30, cached: 50 } });
    const params = { model, max_tokens: 64, system: "Be brief.", messages: [{ role: "user" as const, content: "Say hello in French" }] };
    const usage = { input_tokens: 150, cache_creation_input_tokens: 0, cache_read_input_tokens: 50, output_tokens: 30 };

    const whole = await client.messages.create(params);
    expect(whole.content).toEqual([{ type: "text", text: "Bonjour à tous" } as never]);
    expect(whole.usage).toEqual(usage as never);
    expect(whole.stop_reason).toBe("end_turn");
    const sent = lastChat();
    expect(["system", "developer"]).toContain(sent.messages[0].role);
    expect(sent.messages[0].content).toBe("Be brief.");
    expect(sent.messages.at(-1)).toEqual({ role: "user", content: "Say hello in French" });

    const pieces: string[] = [];
    const stream = client.messages.stream(params).on("text", (t) => pieces.push(t));
    const streamed = await stream.finalMessage();
    expect(pieces.join("")).toBe("Bonjour à tous");
    expect(streamed.content).toEqual(whole.content as never);
    expect(streamed.usage).toEqual(usage as never);
    expect(lastChat().stream_options).toEqual({ include_usage: true });
  });

  test("parallel tool calls stream as ordered tool_use blocks, then the results go back", async () => {
    openai.reply({
      toolCalls: [
        { id: "call_paris", name: "get_weather", arguments: { city: "Paris" } },
        { id: "call_rome", name: "get_weather", arguments: { city: "Rome" } },
      ],
      usage: { input: 40, output: 12 },
    });
    const ask = { model, max_tokens: 100, tools: [weather], messages: [{ role: "user" as const, content: "Paris and Rome?" }] };
    const streamed = await client.messages.stream(ask).finalMessage();
    const whole = await client.messages.create(ask);
    for (const answer of [streamed, whole]) {
      expect(answer.stop_reason).toBe("tool_use");
      expect(answer.content).toEqual([
        { type: "tool_use", id: "call_paris", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "call_rome", name: "get_weather", input: { city: "Rome" } },
      ] as never);
      expect(answer.usage.output_tokens).toBe(12);
    }
    expect(lastChat().tools[0]).toEqual({ type: "function", function: { name: "get_weather", description: "Weather now", parameters: weather.input_schema } });

    openai.reply({ text: "Paris 18C, Rome 24C." });
    const done = await client.messages.create({
      ...ask,
      messages: [
        ...ask.messages,
        { role: "assistant", content: whole.content },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_paris", content: "18C" },
            { type: "tool_result", tool_use_id: "call_rome", content: [{ type: "text", text: "24C" }] },
          ],
        },
      ],
    });
    expect(done.content).toEqual([{ type: "text", text: "Paris 18C, Rome 24C." } as never]);
    const sent = lastChat().messages;
    const assistant = sent.find((m: any) => m.role === "assistant");
    expect(assistant.tool_calls.map((c: any) => [c.id, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ["call_paris", "get_weather", { city: "Paris" }],
      ["call_rome", "get_weather", { city: "Rome" }],
    ]);
    expect(sent.filter((m: any) => m.role === "tool").map((m: any) => [m.tool_call_id, m.content])).toEqual([
      ["call_paris", "18C"],
      ["call_rome", "24C"],
    ]);
  });

  test("tool_choice and disable_parallel_tool_use reach OpenAI", async () => {
    openai.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] });
    await client.messages.create({ model, max_tokens: 50, tools: [weather], tool_choice: { type: "any", disable_parallel_tool_use: true }, messages: [{ role: "user", content: "Oslo?" }] });
    expect(lastChat().tool_choice).toBe("required");
    expect(lastChat().parallel_tool_calls).toBe(false);
    await client.messages.create({ model, max_tokens: 50, tools: [weather], tool_choice: { type: "tool", name: "get_weather" }, messages: [{ role: "user", content: "Oslo?" }] });
    expect(lastChat().tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
  });

  test("finish reasons map to Anthropic stop reasons (stream and not)", async () => {
    const cases: [string, string][] = [
      ["length", "max_tokens"],
      ["content_filter", "refusal"],
      ["stop", "end_turn"],
    ];
    for (const [finishReason, want] of cases) {
      openai.reply({ text: "partial", finishReason });
      const params = { model, max_tokens: 5, messages: [{ role: "user" as const, content: "go" }] };
      expect((await client.messages.create(params)).stop_reason).toBe(want as never);
      expect((await client.messages.stream(params).finalMessage()).stop_reason).toBe(want as never);
    }
  });

  test("an upstream cut mid-stream ends the SDK stream with an error, not a hang", async () => {
    openai.reply({ text: "one two three four five six", chunkDelayMs: 1 });
    openai.fail({ kind: "cut", afterChunks: 3 });
    const err = await client.messages.stream({ model, max_tokens: 50, messages: [{ role: "user", content: "go" }] }).finalMessage().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    openai.reply({});
  });
});
