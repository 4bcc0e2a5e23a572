import type { AnthropicFake } from "../fakes/anthropic";
import { startAnthropicFake } from "../fakes/anthropic";
import type { RecordedRequest } from "../fakes/common";
import { type GeminiFake, startGeminiFake } from "../fakes/gemini";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// What every real-client test stands on: one gateway with a client key (auth on, as users run it),
// the echo provider, and the fake OpenAI, Anthropic and Ollama upstreams, each holding real
// upstream keys the clients never see.

export const CLIENT_KEY = "lmr-clients-test-key-3141";
const OPENAI_KEY = "sk-clients-upstream-openai";
const ANTHROPIC_KEY = "sk-ant-clients-upstream";
const GEMINI_KEY = "AIzaClientsUpstreamGemini";

/** Model names as clients ask for them. */
export const MODELS = {
  echo: "echo/echo-1",
  openai: "oai/gpt-4o",
  openaiEmbed: "oai/text-embedding-3-small",
  anthropic: "claude/claude-test-1",
  ollama: "local/qwen3:8b",
  ollamaEmbed: "local/all-minilm:latest",
  /** A reasoning model: no temperature, no stop, its own reasoning_effort values (stricter fakes). */
  openaiReasoning: "oai/o4-mini",
  gemini: "gem/gemini-2.5-flash",
  /** Validates thought signatures on function calls in history (see fakes/gemini-validate.ts). */
  gemini3: "gem/gemini-3-pro-preview",
  geminiEmbed: "gem/gemini-embedding-001",
} as const;

export interface ClientsRig {
  gw: TestGateway;
  /** The gateway's root URL (`http://127.0.0.1:PORT`). */
  url: string;
  openai: OpenAIFake;
  anthropic: AnthropicFake;
  ollama: OllamaFake;
  gemini: GeminiFake;
  /** Clears recorded requests and scripted replies between tests. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startClientsRig(): Promise<ClientsRig> {
  const [openai, anthropic, ollama, gemini] = await Promise.all([
    startOpenAIFake({ keys: [OPENAI_KEY] }),
    startAnthropicFake({ keys: [ANTHROPIC_KEY] }),
    startOllamaFake(),
    startGeminiFake({ keys: [GEMINI_KEY] }),
  ]);
  const gw = await startGateway({
    providers: {
      echo: { type: "echo" },
      oai: { type: "openai", baseUrl: `${openai.url}/v1`, keys: [OPENAI_KEY], models: ["gpt-4o", "o4-mini", "text-embedding-3-small"] },
      claude: { type: "anthropic", baseUrl: anthropic.url, keys: [ANTHROPIC_KEY], models: ["claude-test-1"] },
      local: { type: "ollama", baseUrl: ollama.url, models: ["qwen3:8b", "all-minilm:latest"] },
      gem: { type: "gemini", baseUrl: gemini.url, keys: [GEMINI_KEY], models: ["gemini-2.5-flash", "gemini-3-pro-preview", "gemini-embedding-001"] },
    },
    clients: { app: { key: CLIENT_KEY } },
    // A failure must reach the test as it is, not be hidden by a retry on another candidate.
    routing: { maxAttempts: 1 },
  });
  const fakes = [openai, anthropic, ollama, gemini];
  return {
    gw,
    url: gw.url,
    openai,
    anthropic,
    ollama,
    gemini,
    reset() {
      for (const fake of fakes) {
        unscript(fake);
        fake.requests.length = 0;
        fake.reply({});
      }
    },
    async stop() {
      await gw.stop();
      await Promise.all(fakes.map((f) => f.stop()));
    },
  };
}

/**
 * Chooses each answer from the request it answers, to script a conversation (a tool call first,
 * then text once the tool's result comes back). The fakes read their reply right after recording
 * the request, so setting it as the request is recorded applies it to that very request.
 */
export function scriptReplies<R>(fake: { requests: RecordedRequest[]; reply(r: R): void }, pick: (req: RecordedRequest) => R): void {
  const requests = fake.requests;
  const push = Array.prototype.push.bind(requests) as (...items: RecordedRequest[]) => number;
  Object.defineProperty(requests, "push", {
    configurable: true,
    value: (...recs: RecordedRequest[]) => {
      for (const rec of recs) fake.reply(pick(rec));
      return push(...recs);
    },
  });
}

function unscript(fake: { requests: RecordedRequest[] }): void {
  delete (fake.requests as { push?: unknown }).push;
}

/** Inference requests a fake received (model listings and probes left out). */
export function inferenceRequests(fake: { requests: RecordedRequest[] }): RecordedRequest[] {
  return fake.requests.filter((r) => r.method === "POST" && /(\/(chat\/completions|messages|api\/chat|embeddings|api\/embed)|:(streamGenerateContent|generateContent|embedContent|batchEmbedContents))$/.test(r.path));
}

/** True when a wire body carries `text` anywhere in its conversation (wire-agnostic check for a tool result). */
export function conversationHas(req: RecordedRequest, text: string): boolean {
  return JSON.stringify(req.body?.messages ?? req.body?.contents ?? []).includes(text);
}

/** The weather tool every framework test declares: a JSON Schema every wire format can carry. */
export const WEATHER_SCHEMA = {
  type: "object" as const,
  properties: { city: { type: "string" as const, description: "City name" } },
  required: ["city"],
  additionalProperties: false,
};

export const WEATHER_RESULT = "Sunny, 21 degrees in Paris";
export const FINAL_ANSWER = "It is sunny and 21 degrees in Paris.";

/** Script: call `weather` first; once the tool's result is in the conversation, answer in text. */
export function weatherConversation(fake: { requests: RecordedRequest[]; reply(r: object): void }, callId: string): void {
  scriptReplies(fake, (req) =>
    conversationHas(req, WEATHER_RESULT) ? { text: FINAL_ANSWER } : { toolCalls: [{ id: callId, name: "weather", arguments: { city: "Paris" } }] },
  );
}
