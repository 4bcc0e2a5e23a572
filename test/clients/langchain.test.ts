import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ChatAnthropic } from "@langchain/anthropic";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { type AIMessage, type AIMessageChunk, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { DynamicStructuredTool } from "@langchain/core/tools";
import { ChatOllama, OllamaEmbeddings } from "@langchain/ollama";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { CLIENT_KEY, type ClientsRig, FINAL_ANSWER, inferenceRequests, MODELS, startClientsRig, WEATHER_RESULT, WEATHER_SCHEMA, weatherConversation } from "./rig";

// LangChain's chat models for all three of lmrelay's protocols (ChatOpenAI, ChatAnthropic,
// ChatOllama), unmodified, pointed at lmrelay: invoke, stream, a tool round trip driven by the
// caller (bindTools → run the tool → answer), embeddings, and errors.

let rig: ClientsRig;

beforeAll(async () => {
  rig = await startClientsRig();
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => rig.reset());

const auth = { authorization: `Bearer ${CLIENT_KEY}` };
const chatModels: Record<"ChatOpenAI" | "ChatAnthropic" | "ChatOllama", (model: string) => BaseChatModel> = {
  ChatOpenAI: (model) => new ChatOpenAI({ model, apiKey: CLIENT_KEY, configuration: { baseURL: `${rig.url}/v1` }, maxRetries: 0 }),
  ChatAnthropic: (model) => new ChatAnthropic({ model, apiKey: CLIENT_KEY, anthropicApiUrl: rig.url, maxTokens: 1000, maxRetries: 0 }),
  // Ollama clients usually send no key; lmrelay takes the client key from any of its headers.
  ChatOllama: (model) => new ChatOllama({ model, baseUrl: rig.url, headers: auth }),
};

const weather = new DynamicStructuredTool({
  name: "weather",
  description: "Current weather for a city",
  schema: WEATHER_SCHEMA,
  func: async ({ city }: { city: string }) => (city === "Paris" ? WEATHER_RESULT : "unknown city"),
});

async function streamed(model: BaseChatModel, input: BaseMessage[] | string): Promise<{ chunks: number; message: AIMessageChunk }> {
  let message: AIMessageChunk | undefined;
  let chunks = 0;
  for await (const chunk of await model.stream(input)) {
    chunks++;
    message = message ? message.concat(chunk) : chunk;
  }
  return { chunks, message: message! };
}

/** The upstream each client's tool round trip goes to: always another protocol than the client's. */
const crossUpstream = {
  ChatOpenAI: { model: MODELS.anthropic, fake: () => rig.anthropic, callId: "toolu_lc1" },
  ChatAnthropic: { model: MODELS.ollama, fake: () => rig.ollama, callId: "ignored" },
  ChatOllama: { model: MODELS.openai, fake: () => rig.openai, callId: "call_lc3" },
} as const;

for (const [name, make] of Object.entries(chatModels) as [keyof typeof chatModels, (model: string) => BaseChatModel][]) {
  describe(name, () => {
    test("invoke with a system prompt: the answer and token usage", async () => {
      const res = await make(MODELS.echo).invoke([new SystemMessage("Be brief."), new HumanMessage("hello from langchain")]);
      expect(res.content).toBe("hello from langchain");
      expect(res.usage_metadata?.input_tokens).toBeGreaterThan(0);
      expect(res.usage_metadata?.output_tokens).toBeGreaterThan(0);
    });

    test("stream: several chunks, the whole text, and usage (input tokens counted too)", async () => {
      const { chunks, message } = await streamed(make(MODELS.echo), "one two three four");
      expect(chunks).toBeGreaterThan(2);
      expect(message.content).toBe("one two three four");
      expect(message.usage_metadata?.input_tokens).toBeGreaterThan(0);
      expect(message.usage_metadata?.output_tokens).toBeGreaterThan(0);
    });

    test("tool round trip through another protocol's upstream", async () => {
      const up = crossUpstream[name];
      weatherConversation(up.fake(), up.callId);
      const llm = make(up.model).bindTools!([weather]);
      const history: BaseMessage[] = [new HumanMessage("Weather in Paris?")];
      const ai = (await llm.invoke(history)) as AIMessage;
      expect(ai.tool_calls?.map((c) => [c.name, c.args])).toEqual([["weather", { city: "Paris" }]]);
      const call = ai.tool_calls![0]!;
      // Ollama upstreams name no ids (lmrelay makes them); LangChain's ChatOllama always makes its own.
      if (up.fake() !== rig.ollama && name !== "ChatOllama") expect(call.id).toBe(up.callId);
      expect(call.id).toBeTruthy();
      const result = (await weather.invoke(call)) as ToolMessage;
      expect(result.tool_call_id).toBe(call.id!);
      const final = await llm.invoke([...history, ai, result]);
      expect(final.content).toBe(FINAL_ANSWER);
      const reqs = inferenceRequests(up.fake());
      expect(JSON.stringify(reqs.at(-1)!.body.messages)).toContain(WEATHER_RESULT);
    });

    test("streamed tool call: fragments concatenate into one parsed call", async () => {
      weatherConversation(rig.openai, "call_lc_stream");
      const { message } = await streamed(make(MODELS.openai).bindTools!([weather]) as unknown as BaseChatModel, "Weather in Paris?");
      expect(message.tool_calls?.map((c) => [c.name, c.args])).toEqual([["weather", { city: "Paris" }]]);
    });
  });
}

describe("errors", () => {
  test("an unknown model: each client surfaces lmrelay's message", async () => {
    for (const make of Object.values(chatModels)) {
      const err = await make("no-such-model")
        .invoke("hi")
        .catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain("lmrelay: ");
      expect((err as Error).message).toContain("no-such-model");
    }
  });
});

describe("embeddings", () => {
  test("OpenAIEmbeddings (the SDK asks for base64) through the OpenAI upstream", async () => {
    const emb = new OpenAIEmbeddings({ model: MODELS.openaiEmbed, apiKey: CLIENT_KEY, configuration: { baseURL: `${rig.url}/v1` }, maxRetries: 0 });
    const query = await emb.embedQuery("hello");
    expect(query.length).toBe(8);
    const docs = await emb.embedDocuments(["alpha", "beta"]);
    expect(docs.length).toBe(2);
    expect(docs[0]).not.toEqual(docs[1]);
    expect(docs.flat().every(Number.isFinite)).toBe(true);
  });

  test("OllamaEmbeddings through the Ollama upstream", async () => {
    const emb = new OllamaEmbeddings({ model: MODELS.ollamaEmbed, baseUrl: rig.url, headers: auth });
    const query = await emb.embedQuery("hello");
    expect(query.length).toBe(8);
    const docs = await emb.embedDocuments(["alpha", "beta"]);
    expect(docs.length).toBe(2);
    expect(inferenceRequests(rig.ollama).at(-1)).toMatchObject({ path: "/api/embed", body: { model: "all-minilm:latest", input: ["alpha", "beta"] } });
  });
});
