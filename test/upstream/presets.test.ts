import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ProviderType } from "../../src/config/define";
import { providerTypeDefaults } from "../../src/config/provider-types";
import type { ChatRequest } from "../../src/core/types";
import { openaiAdapter } from "../../src/upstream/openai";
import { presetFor } from "../../src/upstream/presets";
import { adapterFor } from "../../src/upstream/registry";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { callTo, chatRequest, collect, providerOf } from "./openai-helpers";

// Each OpenAI-compatible preset, with its baseUrl pointed at the fake (same path as the real
// default), must reach the right path with the right auth, quirks and model-list endpoint.

const KEY = "preset-key-123456";
let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ keys: [KEY], models: ["org/model-a", "org/model-b"] });
});
afterAll(() => fake.stop());

interface Case {
  type: ProviderType;
  /** Default base URL, as openai-compatible.md lists it (undefined: the user must set it). */
  defaultBaseUrl: string | undefined;
  /** Base path to mount on the fake (the real default's path; cloudflare's shape with an account id). */
  basePath: string;
  modelsUrl: string;
  /** Fields the request body must have / must not have. */
  has: Record<string, unknown>;
  lacks: string[];
}

const cases: Case[] = [
  {
    type: "mistral",
    defaultBaseUrl: "https://api.mistral.ai/v1",
    basePath: "/v1",
    modelsUrl: "/v1/models",
    has: { max_tokens: 64, random_seed: 3, tool_choice: "any", top_p: 0.5 },
    lacks: ["max_completion_tokens", "seed", "stream_options", "user", "top_k"],
  },
  {
    type: "deepinfra",
    defaultBaseUrl: "https://api.deepinfra.com/v1/openai",
    basePath: "/v1/openai",
    modelsUrl: "/v1/openai/models",
    has: { max_tokens: 64, seed: 3, tool_choice: "required", stream_options: { include_usage: true }, top_k: 10, user: "u1" },
    lacks: ["max_completion_tokens"],
  },
  {
    type: "openrouter",
    defaultBaseUrl: "https://openrouter.ai/api/v1",
    basePath: "/api/v1",
    modelsUrl: "/api/v1/models",
    has: { max_tokens: 64, seed: 3, tool_choice: "required", stream_options: { include_usage: true }, top_k: 10, frequency_penalty: 0.4 },
    lacks: ["max_completion_tokens"],
  },
  {
    type: "groq",
    defaultBaseUrl: "https://api.groq.com/openai/v1",
    basePath: "/openai/v1",
    modelsUrl: "/openai/v1/models",
    has: { max_tokens: 64, seed: 3, tool_choice: "required", stream_options: { include_usage: true } },
    lacks: ["max_completion_tokens", "top_k", "n", "logprobs"],
  },
  {
    type: "nvidia",
    defaultBaseUrl: "https://integrate.api.nvidia.com/v1",
    basePath: "/v1",
    modelsUrl: "/v1/models",
    has: { max_tokens: 64, seed: 3, stream_options: { include_usage: true } },
    lacks: ["max_completion_tokens", "top_k"],
  },
  {
    type: "huggingface",
    defaultBaseUrl: "https://router.huggingface.co/v1",
    basePath: "/v1",
    modelsUrl: "/v1/models",
    has: { max_tokens: 64, seed: 3, stream_options: { include_usage: true } },
    lacks: ["max_completion_tokens", "top_k"],
  },
  {
    type: "cerebras",
    defaultBaseUrl: "https://api.cerebras.ai/v1",
    basePath: "/v1",
    modelsUrl: "/v1/models",
    has: { max_completion_tokens: 64, seed: 3, stream_options: { include_usage: true } },
    lacks: ["max_tokens", "frequency_penalty", "presence_penalty", "parallel_tool_calls", "top_k"],
  },
  {
    type: "cloudflare",
    defaultBaseUrl: undefined,
    basePath: "/client/v4/accounts/acc123/ai/v1",
    modelsUrl: "/client/v4/accounts/acc123/ai/models/search?per_page=1000",
    has: { max_tokens: 64, seed: 3, stream_options: { include_usage: true } },
    lacks: ["max_completion_tokens", "top_k"],
  },
];

const request: ChatRequest = chatRequest({
  stream: true,
  messages: [
    { role: "user", content: [{ type: "text", text: "weather?" }] },
    { role: "assistant", content: [{ type: "tool_call", id: "toolu_01XYZ", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
    { role: "user", content: [{ type: "tool_result", toolCallId: "toolu_01XYZ", content: [{ type: "text", text: "cold" }] }] },
  ],
  tools: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }],
  toolChoice: { type: "required" },
  parallelToolCalls: true,
  maxTokens: 64,
  seed: 3,
  topP: 0.5,
  topK: 10,
  frequencyPenalty: 0.4,
  presencePenalty: 0.1,
  user: "u1",
  passthrough: { protocol: "openai", fields: { n: 1, logprobs: false } },
});

describe("OpenAI-compatible presets", () => {
  for (const c of cases) {
    describe(c.type, () => {
      test("default base URL matches the provider's documented one", () => {
        expect(providerTypeDefaults(c.type)!.baseUrl).toBe(c.defaultBaseUrl);
        expect(presetFor(c.type)!.wire).toBe("openai");
        expect(adapterFor(c.type)).toBe(openaiAdapter);
      });

      test("chat: path, Bearer auth, quirks; answer decoded", async () => {
        // Mistral refuses stream_options and sends usage on its finish chunk unasked.
        fake.reply({ text: `hello from ${c.type}`, usage: { input: 7, output: 3 }, usageInFinish: c.type === "mistral" });
        const p = providerOf({ type: c.type, baseUrl: `${fake.url}${c.basePath}`, keys: [KEY] }, c.type);
        const events = await collect((await openaiAdapter.chat(request, callTo(p, "org/model-a"))).events);
        const req = fake.requests.at(-1)!;
        expect(req.url).toBe(`${c.basePath}/chat/completions`);
        expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
        expect(req.body).toMatchObject({ model: "org/model-a", stream: true, ...c.has });
        for (const f of c.lacks) expect(req.body).not.toHaveProperty(f);
        const ids = [req.body.messages[1].tool_calls[0].id, req.body.messages[2].tool_call_id];
        expect(ids[0]).toBe(ids[1]);
        if (c.type === "mistral") expect(ids[0]).toMatch(/^[a-zA-Z0-9]{9}$/);
        else expect(ids[0]).toBe("toolu_01XYZ");
        expect(events.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe(`hello from ${c.type}`);
        expect(events.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 7, outputTokens: 3 } });
      });

      test("model list endpoint", async () => {
        const p = providerOf({ type: c.type, baseUrl: `${fake.url}${c.basePath}`, keys: [KEY] }, c.type);
        expect(await openaiAdapter.listModels!(p, p.keys[0], AbortSignal.timeout(5000))).toEqual(["org/model-a", "org/model-b"]);
        const req = fake.requests.at(-1)!;
        expect(req.method).toBe("GET");
        expect(req.url).toBe(c.modelsUrl);
        expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
      });
    });
  }

  test("a preset that needs a key refuses a config without one; cloudflare needs a baseUrl", () => {
    expect(() => providerOf({ type: "groq" })).toThrow(/needs at least one key/);
    expect(() => providerOf({ type: "cloudflare", keys: ["k"] })).toThrow(/needs a baseUrl/);
  });
});
