import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { LmrelayConfig, RouteCandidate } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { FAKE_GEMINI_KEY, type GeminiFake, startGeminiFake } from "../fakes/gemini";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { auditRows, servedBy, withGateway } from "./support";

// Capability-aware routing through the real server, the official SDKs and the fake upstreams:
// capabilities a model list declares filter candidates; a refusal ("does not support tools") fails
// over and is remembered; nothing able to take the request is a clear 400; a reload forgets.

let tagged: OllamaFake;
let raw: OllamaFake;
let oa: OpenAIFake;
let ob: OpenAIFake;
let gem: GeminiFake;

const MODELS = ["llama3.2:latest", "llava:latest", "gemma3:latest", "all-minilm:latest"];

beforeAll(async () => {
  [tagged, raw, oa, ob, gem] = await Promise.all([
    startOllamaFake({ models: MODELS, tagCapabilities: true }),
    startOllamaFake({ models: MODELS }),
    startOpenAIFake(),
    startOpenAIFake(),
    startGeminiFake(),
  ]);
  oa.reply({ text: "from oa" });
  ob.reply({ text: "from ob" });
});

afterAll(async () => {
  await Promise.all([tagged.stop(), raw.stop(), oa.stop(), ob.stop(), gem.stop()]);
});

function config(models: LmrelayConfig["models"], routing?: LmrelayConfig["routing"]): LmrelayConfig {
  return {
    providers: {
      tagged: { type: "ollama", baseUrl: tagged.url },
      raw: { type: "ollama", baseUrl: raw.url },
      oa: { type: "openai", baseUrl: `${oa.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] },
      ob: { type: "openai", baseUrl: `${ob.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] },
      gem: { type: "gemini", baseUrl: gem.url, keys: [FAKE_GEMINI_KEY] },
    },
    models,
    routing: { explainHeader: true, ...routing },
    health: { probeIntervalMs: 0 },
  };
}

const TOOL = { type: "function" as const, function: { name: "weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } } } } };
const IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const openai = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: "none", maxRetries: 0, timeout: 10_000 });

/** A chat with tools and/or an image, returning the raw response so headers can be read. */
function ask(url: string, model: string, opts: { tools?: boolean; image?: boolean } = {}) {
  const content: OpenAI.Chat.ChatCompletionContentPart[] = [{ type: "text", text: "what is this?" }];
  if (opts.image) content.push({ type: "image_url", image_url: { url: IMAGE } });
  return openai(url)
    .chat.completions.create({ model, messages: [{ role: "user", content }], ...(opts.tools ? { tools: [TOOL] } : {}) })
    .withResponse();
}

const route = (res: Response) => res.headers.get("x-lmrelay-route") ?? "";
const chatsTo = (fake: OllamaFake) => fake.requests.filter((r) => r.path === "/api/chat").length;
const IMAGE_REFUSAL = {
  kind: "status" as const,
  status: 400,
  body: { error: { message: "Invalid content type. image_url is only supported by certain models.", type: "invalid_request_error", param: "messages.[0].content.[1].type", code: null } },
};

describe("capabilities a model list declares", () => {
  test("images: a model without vision is skipped, and route() sees what is known", async () => {
    const seen: RouteCandidate[][] = [];
    const routing = { route: (_req: unknown, candidates: RouteCandidate[]) => (seen.push(candidates), candidates) };
    await withGateway(config({ see: ["tagged/llama3.2", "tagged/llava"] }, routing), async (gw) => {
      const { data, response } = await ask(gw.url, "see", { image: true });
      expect(data.choices[0]!.message.content).toBeString();
      expect(response.headers.get("x-lmrelay-model")).toBe("llava:latest");
      expect(route(response)).toBe("served=tagged/llava:latest; skipped=tagged/llama3.2:latest capability: images");
      expect(response.headers.get("x-lmrelay-attempts")).toBe("1");
      expect(auditRows(gw).at(-1)!.attempts).toContainEqual(expect.objectContaining({ outcome: "skipped", provider: "tagged", reason: "capability: images" }));
      expect(seen[0]!.map((c) => [c.model, c.capabilities])).toEqual([["llava:latest", { tools: false, images: true, embeddings: false, thinking: false }]]);
      // Text only: the first model serves, and route() sees both with their capabilities.
      const text = await ask(gw.url, "see");
      expect(text.response.headers.get("x-lmrelay-model")).toBe("llama3.2:latest");
      expect(seen[1]!.map((c) => c.capabilities?.images)).toEqual([false, true]);
    });
  });

  test("tools: a model declared without tools is never sent a tools request", async () => {
    await withGateway(config({ tooly: ["tagged/gemma3", "tagged/llama3.2"] }), async (gw) => {
      const before = tagged.requests.filter((r) => r.body?.model === "gemma3:latest").length;
      const { response } = await ask(gw.url, "tooly", { tools: true });
      expect(response.headers.get("x-lmrelay-model")).toBe("llama3.2:latest");
      expect(route(response)).toContain("skipped=tagged/gemma3:latest capability: tools");
      expect(tagged.requests.filter((r) => r.body?.model === "gemma3:latest").length).toBe(before);
    });
  });

  test("embeddings: Gemini's generation methods keep a chat model out of an embeddings request", async () => {
    await withGateway(config({ vectors: ["gem/gemini-2.5-flash", "gem/gemini-embedding-001"] }), async (gw) => {
      const { data, response } = await openai(gw.url).embeddings.create({ model: "vectors", input: ["hello"] }).withResponse();
      expect(data.data).toHaveLength(1);
      expect(response.headers.get("x-lmrelay-model")).toBe("gemini-embedding-001");
      expect(route(response)).toContain("skipped=gem/gemini-2.5-flash capability: embeddings");
    });
  });
});

describe("capabilities learned from refusals", () => {
  test('tools: "does not support tools" fails over, is remembered, and only tools requests skip the model', async () => {
    await withGateway(config({ agent: ["raw/gemma3", "oa/gpt-4o-mini"] }), async (gw) => {
      const first = await ask(gw.url, "agent", { tools: true });
      expect(first.data.choices[0]!.message.content).toBe("from oa");
      expect(route(first.response)).toMatch(/^served=oa\/gpt-4o-mini\[fp:\w+\]; failed=raw\/gemma3:latest 400 capability: tools$/);
      expect(first.response.headers.get("x-lmrelay-attempts")).toBe("2");
      const tried = chatsTo(raw);
      const second = await ask(gw.url, "agent", { tools: true });
      expect(servedBy(second.response)).toBe("oa");
      expect(route(second.response)).toContain("skipped=raw/gemma3:latest capability: tools");
      expect(second.response.headers.get("x-lmrelay-attempts")).toBe("1");
      expect(chatsTo(raw)).toBe(tried);
      const rows = auditRows(gw);
      expect(rows.at(-2)!.attempts).toContainEqual(expect.objectContaining({ outcome: "failed", provider: "raw", status: 400, reason: "capability: tools" }));
      expect(rows.at(-1)!.attempts).toContainEqual(expect.objectContaining({ outcome: "skipped", provider: "raw", reason: "capability: tools" }));
      // Without tools the model is as good as ever.
      const plain = await ask(gw.url, "agent");
      expect(servedBy(plain.response)).toBe("raw");
    });
  });

  test("images: OpenAI's image_url refusal fails over and is remembered", async () => {
    await withGateway(config({ look: ["oa/gpt-4o-mini", "ob/gpt-4o-mini"] }), async (gw) => {
      oa.fail(IMAGE_REFUSAL);
      const first = await ask(gw.url, "look", { image: true });
      expect(first.data.choices[0]!.message.content).toBe("from ob");
      expect(route(first.response)).toContain("400 capability: images");
      const tried = oa.requests.length;
      const second = await ask(gw.url, "look", { image: true });
      expect(servedBy(second.response)).toBe("ob");
      expect(route(second.response)).toContain("skipped=oa/gpt-4o-mini capability: images");
      expect(oa.requests.length).toBe(tried);
      expect(servedBy((await ask(gw.url, "look")).response)).toBe("oa");
    });
  });

  test('embeddings: Ollama\'s "does not support embeddings" moves on to an embedding model', async () => {
    await withGateway(config({ vectors: ["raw/llama3.2", "raw/all-minilm"] }), async (gw) => {
      const client = openai(gw.url);
      const first = await client.embeddings.create({ model: "vectors", input: ["a", "b"] }).withResponse();
      expect(first.data.data).toHaveLength(2);
      expect(first.response.headers.get("x-lmrelay-model")).toBe("all-minilm:latest");
      expect(route(first.response)).toContain("failed=raw/llama3.2:latest 400 capability: embeddings");
      const second = await client.embeddings.create({ model: "vectors", input: ["c"] }).withResponse();
      expect(route(second.response)).toContain("skipped=raw/llama3.2:latest capability: embeddings");
    });
  });

  test("a config reload forgets what was learned", async () => {
    const cfg = config({ agent: ["raw/gemma3", "oa/gpt-4o-mini"] });
    await withGateway(cfg, async (gw) => {
      await ask(gw.url, "agent", { tools: true });
      const tried = chatsTo(raw);
      expect(route((await ask(gw.url, "agent", { tools: true })).response)).toContain("skipped=raw/gemma3:latest capability: tools");
      await gw.runtime.reload(resolveConfig({ ...cfg, server: { host: "127.0.0.1", port: 0 }, storage: { path: ":memory:" } }, ""));
      const after = await ask(gw.url, "agent", { tools: true });
      expect(route(after.response)).toContain("failed=raw/gemma3:latest 400 capability: tools");
      expect(chatsTo(raw)).toBe(tried + 1);
    });
  });
});

describe("nothing can take the request", () => {
  test("every candidate known not to support tools: 400 naming tools, in each protocol's shape", async () => {
    await withGateway(config({ small: ["tagged/gemma3", "tagged/llava"] }), async (gw) => {
      const err = await ask(gw.url, "small", { tools: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(bad.status).toBe(400);
      expect(bad.message).toContain("lmrelay: no model for this request supports tools");
      expect(bad.param).toBe("tools");
      expect(bad.headers?.get("x-lmrelay-route")).toBe("skipped=tagged/gemma3:latest capability: tools,tagged/llava:latest capability: tools");
      const anthropic = new Anthropic({ baseURL: gw.url, apiKey: "none", maxRetries: 0, timeout: 10_000 });
      const refused = await anthropic.messages
        .create({ model: "small", max_tokens: 50, messages: [{ role: "user", content: "hi" }], tools: [{ name: "weather", input_schema: { type: "object" } }] })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect((refused as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
        type: "error",
        error: { type: "invalid_request_error", message: expect.stringContaining("lmrelay: no model for this request supports tools") },
      });
      expect(auditRows(gw).at(-1)!.status).toBe(400);
    });
  });

  test("every candidate refused: after the upstreams said so, the client gets one clear 400", async () => {
    await withGateway(config({ both: ["raw/gemma3", "raw/llava"] }), async (gw) => {
      const err = (await ask(gw.url, "both", { tools: true }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
      expect(err.status).toBe(400);
      expect(err.message).toContain("lmrelay: no model for this request supports tools");
      expect(err.message).toContain('raw/gemma3:latest: 400 raw: "gemma3:latest" does not support tools');
      // A lone candidate keeps the upstream's own words the first time, then lmrelay's.
    });
    await withGateway(config({ one: ["raw/gemma3"] }), async (gw) => {
      const first = (await ask(gw.url, "one", { tools: true }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
      expect(first.status).toBe(400);
      expect(first.message).toBe('400 raw: "gemma3:latest" does not support tools');
      const second = (await ask(gw.url, "one", { tools: true }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
      expect(second.status).toBe(400);
      expect(second.message).toStartWith("400 lmrelay: no model for this request supports tools: raw/gemma3:latest: skipped, capability: tools");
    });
  });
});
