import { type AnthropicFake, startAnthropicFake } from "../fakes/anthropic";
import { FAKE_GEMINI_KEY, type GeminiFake, startGeminiFake } from "../fakes/gemini";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { type ResponsesFake, startResponsesFake } from "../fakes/openai-responses";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { scriptReplies } from "./rig";

// The gateway every Responses API client test stands on: two client keys (to show a stored response
// is one client's only), and one upstream of each kind — Anthropic, Gemini, Ollama, an OpenAI server
// with Chat Completions only (Responses requests fall back to it) and one serving `/responses`
// natively (the passthrough).

export const RESPONSES_KEY = "lmr-responses-test-key-2718";
export const OTHER_KEY = "lmr-responses-other-key-1618";
const OPENAI_KEY = "sk-responses-upstream-openai";
const NATIVE_KEY = "sk-responses-upstream-native";
const ANTHROPIC_KEY = "sk-ant-responses-upstream";

export const UPSTREAMS = {
  anthropic: "claude/claude-test-1",
  gemini: "gem/gemini-2.5-flash",
  ollama: "local/qwen3:8b",
  openaiChat: "oai/gpt-4o",
  native: "native/gpt-5",
} as const;

export type UpstreamName = keyof typeof UPSTREAMS;

/** A model name in Codex's own catalog with the classic tools (exec_command, freeform apply_patch):
 *  an alias over every upstream; the request header `TEST_UPSTREAM_HEADER` picks one of them. */
export const CODEX_MODEL = "gpt-5.5";
export const TEST_UPSTREAM_HEADER = "x-test-upstream";

/** Provider id of each upstream. */
export const PROVIDER_OF: Record<UpstreamName, string> = { anthropic: "claude", gemini: "gem", ollama: "local", openaiChat: "oai", native: "native" };

export interface ResponsesRig {
  gw: TestGateway;
  url: string;
  anthropic: AnthropicFake;
  gemini: GeminiFake;
  ollama: OllamaFake;
  openai: OpenAIFake;
  native: ResponsesFake;
  /** The fake behind each upstream name. */
  fake(name: UpstreamName): AnthropicFake | GeminiFake | OllamaFake | OpenAIFake | ResponsesFake;
  reset(): void;
  stop(): Promise<void>;
}

export async function startResponsesRig(): Promise<ResponsesRig> {
  const [anthropic, gemini, ollama, openai, native] = await Promise.all([
    startAnthropicFake({ keys: [ANTHROPIC_KEY] }),
    startGeminiFake(),
    startOllamaFake(),
    startOpenAIFake({ keys: [OPENAI_KEY] }),
    startResponsesFake({ keys: [NATIVE_KEY] }),
  ]);
  const gw = await startGateway({
    providers: {
      claude: { type: "anthropic", baseUrl: anthropic.url, keys: [ANTHROPIC_KEY], models: ["claude-test-1"] },
      gem: { type: "gemini", baseUrl: gemini.url, keys: [FAKE_GEMINI_KEY], models: ["gemini-2.5-flash"] },
      local: { type: "ollama", baseUrl: ollama.url, models: ["qwen3:8b"] },
      oai: { type: "openai", baseUrl: `${openai.url}/v1`, keys: [OPENAI_KEY], models: ["gpt-4o"] },
      native: { type: "openai", baseUrl: `${native.url}/v1`, keys: [NATIVE_KEY], models: ["gpt-5"] },
    },
    models: { [CODEX_MODEL]: Object.values(UPSTREAMS) },
    clients: { app: { key: RESPONSES_KEY }, other: { key: OTHER_KEY } },
    routing: {
      maxAttempts: 1,
      route: (req, candidates) => {
        const want = req.headers[TEST_UPSTREAM_HEADER];
        return want ? candidates.filter((c) => c.provider === want) : candidates;
      },
    },
  });
  const fakes = { anthropic, gemini, ollama, openaiChat: openai, native };
  const all = Object.values(fakes);
  return {
    gw,
    url: gw.url,
    anthropic,
    gemini,
    ollama,
    openai,
    native,
    fake: (name) => fakes[name],
    reset() {
      for (const f of all) {
        delete (f.requests as { push?: unknown }).push;
        f.requests.length = 0;
        f.reply({});
      }
    },
    async stop() {
      await gw.stop();
      await Promise.all(all.map((f) => f.stop()));
    },
  };
}

/** Requests a fake got that asked for an answer (model lists and probes left out). */
export function answerRequests(fake: { requests: { method: string; path: string; body: any }[] }) {
  return fake.requests.filter((r) => r.method === "POST" && /(chat\/completions|messages|api\/chat|:generateContent|:streamGenerateContent|\/responses)$/.test(r.path));
}

/** Script: call `tool` with `args` first; once `result` is in the conversation, answer `final`. */
export function toolThenAnswer(fake: { requests: any[]; reply(r: object): void }, call: { id: string; name: string; arguments: Record<string, unknown> }, result: string, final: string): void {
  scriptReplies(fake, (req) => (JSON.stringify(req.body ?? {}).includes(result) ? { text: final } : { toolCalls: [call] }));
}
