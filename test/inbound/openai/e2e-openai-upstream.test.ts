import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { type OpenAIFake, startOpenAIFake } from "../../fakes/openai";
import { startGateway, type TestGateway } from "../../helpers/gateway";

// The official `openai` client → lmrelay → a fake OpenAI upstream: what the upstream reports
// (usage with cached tokens, reasoning, streamed tool-call fragments, errors) must reach the client.

let gw: TestGateway;
let upstream: OpenAIFake;
let client: OpenAI;
const model = "oa/gpt-4o-mini";

beforeAll(async () => {
  upstream = await startOpenAIFake();
  gw = await startGateway({
    providers: { oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini", "text-embedding-3-small"] } },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
});

const lastChatBody = () => upstream.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.body;

describe("through a fake OpenAI upstream", () => {
  test("non-stream: text, reasoning_content beside it, usage with cached tokens as reported", async () => {
    upstream.reply({ text: "The answer is 42.", reasoning: "Think it over.", usage: { input: 30, output: 5, cached: 12 } });
    const res = await client.chat.completions.create({ model, messages: [{ role: "user", content: "question" }] });
    const message = res.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.content).toBe("The answer is 42.");
    expect(message.reasoning_content).toBe("Think it over.");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 5, total_tokens: 35, prompt_tokens_details: { cached_tokens: 12 } });
  });

  test("stream with include_usage: the usage chunk equals the upstream's numbers", async () => {
    upstream.reply({ text: "a b c d", usage: { input: 17, output: 4, cached: 8 } });
    const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    const usages: OpenAI.CompletionUsage[] = [];
    for await (const chunk of stream) {
      if (chunk.usage) {
        expect(chunk.choices).toEqual([]);
        usages.push(chunk.usage);
      }
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("a b c d");
    expect(usages).toHaveLength(1);
    expect(usages[0]).toMatchObject({ prompt_tokens: 17, completion_tokens: 4, total_tokens: 21, prompt_tokens_details: { cached_tokens: 8 } });
  });

  test("streamed parallel tool calls assemble in the SDK; the round trip goes back verbatim", async () => {
    upstream.reply({
      toolCalls: [
        { id: "call_a", name: "get_weather", arguments: { city: "Paris" } },
        { id: "call_b", name: "get_time", arguments: { tz: "CET" } },
      ],
    });
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
      { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } } } },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "system", content: "Use tools." }, { role: "user", content: "weather and time" }];
    const final = await client.chat.completions.stream({ model, messages, tools, tool_choice: "required", parallel_tool_calls: true }).finalChatCompletion();
    const calls = final.choices[0]!.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ["call_a", "get_weather", { city: "Paris" }],
      ["call_b", "get_time", { tz: "CET" }],
    ]);
    const sentFirst = lastChatBody();
    expect(sentFirst.tool_choice).toBe("required");
    expect(sentFirst.messages[0]).toMatchObject({ role: "system" });

    upstream.reply({ text: "Sunny, 12:00." });
    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [
        ...messages,
        final.choices[0]!.message as OpenAI.ChatCompletionAssistantMessageParam,
        { role: "tool", tool_call_id: "call_a", content: "sunny" },
        { role: "tool", tool_call_id: "call_b", content: "12:00" },
      ],
    });
    expect(second.choices[0]!.message.content).toBe("Sunny, 12:00.");
    const sent = lastChatBody().messages;
    expect(sent.slice(-3)).toMatchObject([
      { role: "assistant", tool_calls: [{ id: "call_a", function: { name: "get_weather" } }, { id: "call_b", function: { name: "get_time" } }] },
      { role: "tool", tool_call_id: "call_a", content: "sunny" },
      { role: "tool", tool_call_id: "call_b", content: "12:00" },
    ]);
  });

  test("fields without a canonical home reach an OpenAI upstream untouched", async () => {
    upstream.reply({ text: "ok" });
    await client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], logit_bias: { "50256": -100 }, service_tier: "flex" });
    expect(lastChatBody()).toMatchObject({ logit_bias: { "50256": -100 }, service_tier: "flex" });
  });

  test("an upstream 400 comes back as a BadRequestError naming the provider", async () => {
    upstream.fail({ kind: "status", status: 400, body: { error: { message: "Invalid 'messages[0]'", type: "invalid_request_error", param: "messages[0]", code: null } } });
    let caught: unknown;
    try {
      await client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }] });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(OpenAI.BadRequestError);
    expect((caught as Error).message).toContain("Invalid 'messages[0]'");
  });

  test("embeddings: SDK default (base64) and float agree", async () => {
    const input = ["alpha", "beta gamma"];
    const asDefault = await client.embeddings.create({ model: "oa/text-embedding-3-small", input });
    const asFloat = await client.embeddings.create({ model: "oa/text-embedding-3-small", input, encoding_format: "float" });
    expect(asDefault.data).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const a = asFloat.data[i]!.embedding;
      const b = asDefault.data[i]!.embedding;
      expect(b).toHaveLength(a.length);
      for (let j = 0; j < a.length; j++) expect(b[j]!).toBeCloseTo(a[j]!, 6);
    }
    expect(asFloat.usage.prompt_tokens).toBeGreaterThan(0);
  });
});
