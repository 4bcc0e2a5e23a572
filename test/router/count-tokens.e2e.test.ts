import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { startAnthropicFake, FAKE_ANTHROPIC_KEY, type AnthropicFake } from "../fakes/anthropic";
import { startGeminiFake, FAKE_GEMINI_KEY, type GeminiFake } from "../fakes/gemini";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { withGateway } from "./support";

// Anthropic `count_tokens` through the real server with the official SDK: the model resolves like a
// chat (alias chain, allow-list) and the first upstreams with a counter of their own (Anthropic's
// count_tokens, Gemini's countTokens — the fakes check their bodies as strictly as the real APIs)
// answer, with failover; with no such upstream the answer is lmrelay's estimate, flagged
// `x-lmrelay-estimated: true`.

let claude: AnthropicFake;
let gem: GeminiFake;
let oa: OpenAIFake;

beforeAll(async () => {
  [claude, gem, oa] = await Promise.all([startAnthropicFake(), startGeminiFake(), startOpenAIFake()]);
  claude.reply({ usage: { input: 4242, output: 1 } });
  gem.reply({ usage: { input: 777, output: 1 } });
});

afterAll(async () => {
  await Promise.all([claude.stop(), gem.stop(), oa.stop()]);
});

const HAIKU = "claude-haiku-4-5-20251001";

function config(extra: Partial<LmrelayConfig> = {}, claudeKeys: (string | { key: string; name: string })[] = [FAKE_ANTHROPIC_KEY]): LmrelayConfig {
  return {
    providers: {
      claude: { type: "anthropic", baseUrl: claude.url, keys: claudeKeys, models: [HAIKU] },
      gem: { type: "gemini", baseUrl: gem.url, keys: [FAKE_GEMINI_KEY], models: ["gemini-2.5-flash"] },
      oa: { type: "openai", baseUrl: `${oa.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] },
    },
    models: {
      sonnet: [`claude/${HAIKU}`, "gem/gemini-2.5-flash"],
      flash: ["gem/gemini-2.5-flash"],
      mixed: ["oa/gpt-4o-mini", `claude/${HAIKU}`],
      plain: ["oa/gpt-4o-mini"],
    },
    health: { probeIntervalMs: 0, failureThreshold: 50, cooldownMs: 60_000 },
    ...extra,
  };
}

const body = (model: string) => ({
  model,
  system: "Be brief.",
  messages: [{ role: "user" as const, content: "How many tokens is this?" }],
  tools: [{ name: "lookup", description: "Look a word up", input_schema: { type: "object" as const, properties: { word: { type: "string" } } } }],
});

const client = (url: string, apiKey = "none") => new Anthropic({ baseURL: url, apiKey, maxRetries: 0 });

describe("count_tokens", () => {
  test("an Anthropic upstream counts: its count_tokens gets a strict count body (no max_tokens)", async () => {
    await withGateway(config(), async (gw) => {
      const before = claude.requests.length;
      const { data, response } = await client(gw.url).messages.countTokens(body("sonnet")).withResponse();
      expect(data).toEqual({ input_tokens: 4242 });
      expect(response.headers.get("x-lmrelay-estimated")).toBeNull();
      expect(response.headers.get("x-lmrelay-provider")).toBe("claude");
      expect(response.headers.get("x-lmrelay-model")).toBe(HAIKU);
      const sent = claude.requests.slice(before);
      expect(sent.map((r) => r.path)).toEqual(["/v1/messages/count_tokens"]);
      expect(Object.keys(sent[0]!.body).sort()).toEqual(["messages", "model", "system", "tools"]);
      expect(sent[0]!.body.model).toBe(HAIKU);
    });
  });

  test("a Gemini upstream counts with countTokens and the whole generateContentRequest", async () => {
    await withGateway(config(), async (gw) => {
      const before = gem.requests.length;
      const { data, response } = await client(gw.url).messages.countTokens(body("flash")).withResponse();
      expect(data).toEqual({ input_tokens: 777 });
      expect(response.headers.get("x-lmrelay-provider")).toBe("gem");
      const sent = gem.requests.slice(before);
      expect(sent.map((r) => r.path)).toEqual(["/v1beta/models/gemini-2.5-flash:countTokens"]);
      expect(sent[0]!.body.generateContentRequest).toMatchObject({ model: "models/gemini-2.5-flash", systemInstruction: { parts: [{ text: "Be brief." }] } });
      expect(sent[0]!.body.generateContentRequest.tools[0].functionDeclarations[0].name).toBe("lookup");
    });
  });

  test("candidates without a counter are passed over; a failing counter fails over; a rejected key is disabled", async () => {
    await withGateway(config(), async (gw) => {
      const before = oa.requests.length;
      expect(await client(gw.url).messages.countTokens(body("mixed"))).toEqual({ input_tokens: 4242 });
      expect(oa.requests.length).toBe(before);
      claude.fail({ kind: "status", status: 529, body: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } });
      const { data, response } = await client(gw.url).messages.countTokens(body("sonnet")).withResponse();
      expect(data).toEqual({ input_tokens: 777 });
      expect(response.headers.get("x-lmrelay-provider")).toBe("gem");
    });
    await withGateway(config({}, [{ key: "sk-ant-wrong", name: "wrong" }, { key: FAKE_ANTHROPIC_KEY, name: "right" }]), async (gw) => {
      for (let i = 0; i < 2; i++) expect(await client(gw.url).messages.countTokens(body(`claude/${HAIKU}`))).toEqual({ input_tokens: 4242 });
      const wrong = gw.runtime.config.providers.get("claude")!.keys[0]!;
      expect(gw.runtime.health.keyBlock("claude", wrong, HAIKU)?.kind).toBe("disabled");
    });
  });

  test("no upstream with a counter, or none that answers: the estimate, flagged", async () => {
    await withGateway(config(), async (gw) => {
      const { data, response } = await client(gw.url).messages.countTokens(body("plain")).withResponse();
      expect(data.input_tokens).toBeGreaterThan(0);
      expect(data.input_tokens).not.toBe(4242);
      expect(response.headers.get("x-lmrelay-estimated")).toBe("true");
      expect(response.headers.get("x-lmrelay-provider")).toBeNull();
      gem.fail({ kind: "status", status: 500 });
      const down = await client(gw.url).messages.countTokens(body("flash")).withResponse();
      expect(down.data.input_tokens).toBe(data.input_tokens);
      expect(down.response.headers.get("x-lmrelay-estimated")).toBe("true");
    });
  });

  test("the model resolves as for a chat: unknown is 404, outside the client's allow-list 403", async () => {
    await withGateway(config({ clients: { narrow: { key: "client-narrow", models: ["flash"] } } }), async (gw) => {
      const narrow = client(gw.url, "client-narrow");
      expect(await narrow.messages.countTokens(body("flash"))).toEqual({ input_tokens: 777 });
      const refused = await narrow.messages.countTokens(body("sonnet")).catch((e) => e);
      expect(refused).toBeInstanceOf(Anthropic.PermissionDeniedError);
      const unknown = await narrow.messages.countTokens(body("no-such-model")).catch((e) => e);
      expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    });
  });

  test("a Gemini client's countTokens takes the same path: an Anthropic or Gemini upstream counts, else the flagged estimate", async () => {
    await withGateway(config(), async (gw) => {
      const ai = new GoogleGenAI({ apiKey: "none", httpOptions: { baseUrl: gw.url } });
      const ask = (model: string) => ({ model, contents: "How many tokens is this?" });
      expect((await ai.models.countTokens(ask("sonnet"))).totalTokens).toBe(4242);
      expect((await ai.models.countTokens(ask("flash"))).totalTokens).toBe(777);
      const estimated = await fetch(`${gw.url}/v1beta/models/plain:countTokens`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": "none" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "How many tokens is this?" }] }] }),
      });
      expect(((await estimated.json()) as { totalTokens: number }).totalTokens).toBeGreaterThan(0);
      expect(estimated.headers.get("x-lmrelay-estimated")).toBe("true");
    });
  });
});
