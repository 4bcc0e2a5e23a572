import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { FAKE_ANTHROPIC_KEY, type AnthropicFake, startAnthropicFake } from "../fakes/anthropic";
import { FAKE_GEMINI_KEY, type GeminiFake, startGeminiFake } from "../fakes/gemini";
import { type OllamaFake, startOllamaFake } from "../fakes/ollama";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// The matrix with real public model names (issue 14): what real clients send — Claude Code's
// max_tokens 32000 with thinking and effort "max", an OpenAI client's reasoning_effort, temperature
// and six stop sequences, Gemini CLI's sampling with thinking — reaches each real model in a form
// the stricter fakes accept (they refuse what the real APIs refuse, per model), and every change is
// named in `x-lmrelay-adjusted` and the audit row.

let oa: OpenAIFake;
let an: AnthropicFake;
let gm: GeminiFake;
let ol: OllamaFake;
let gw: TestGateway;

beforeAll(async () => {
  oa = await startOpenAIFake({ models: ["gpt-4o", "o4-mini", "gpt-5"] });
  an = await startAnthropicFake({ models: ["claude-sonnet-4-6", "claude-opus-4-7", "claude-haiku-4-5", "claude-3-5-haiku-20241022"] });
  gm = await startGeminiFake({ models: ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"] });
  ol = await startOllamaFake({ models: ["gpt-oss:20b", "qwen3:8b", "llama3.2:latest"], tagCapabilities: true });
  gw = await startGateway({
    providers: {
      oa: { type: "openai", baseUrl: `${oa.url}/v1`, keys: ["sk-test"], models: ["gpt-4o", "o4-mini", "gpt-5"] },
      an: { type: "anthropic", baseUrl: an.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-sonnet-4-6", "claude-opus-4-7", "claude-haiku-4-5", "claude-3-5-haiku-20241022"] },
      gm: { type: "gemini", baseUrl: gm.url, keys: [FAKE_GEMINI_KEY], models: ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"] },
      ol: { type: "ollama", baseUrl: ol.url, models: ["gpt-oss:20b", "qwen3:8b"] },
      // Discovered: its model list says which models think (llama3.2 does not).
      found: { type: "ollama", baseUrl: ol.url },
    },
    routing: { maxAttempts: 1 },
  });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([oa?.stop(), an?.stop(), gm?.stop(), ol?.stop()]);
});

function auditAdjusted(): (string | null)[] {
  gw.runtime.audit.flush();
  return (gw.runtime.db.$client.query("SELECT adjusted FROM requests ORDER BY id").all() as { adjusted: string | null }[]).map((r) => r.adjusted);
}

describe("Anthropic client (Claude Code's max_tokens 32000, thinking, effort max)", () => {
  const client = () => new Anthropic({ baseURL: gw.url, apiKey: "k", maxRetries: 0 });
  const cells: [string, string][] = [
    ["oa/gpt-4o", "max_completion_tokens 32000->16384; reasoning_effort dropped (gpt-4o has none)"],
    ["oa/o4-mini", "reasoning_effort max->high"],
    ["oa/gpt-5", "reasoning_effort max->high"],
    ["gm/gemini-2.5-flash", "effort max dropped (thinkingBudget from the budget)"],
    ["gm/gemini-2.5-pro", "effort max dropped (thinkingBudget from the budget)"],
    ["gm/gemini-2.0-flash", "maxOutputTokens 32000->8192; thinking dropped (gemini-2.0-flash has none)"],
    ["ol/gpt-oss:20b", "effort max->think high"],
    ["an/claude-3-5-haiku-20241022", "max_tokens 32000->8192; thinking dropped (claude-3-5-haiku-20241022 has none)"],
    ["an/claude-opus-4-7", "thinking budget 10000->adaptive (claude-opus-4-7 takes no budget)"],
    // Not in the catalog, but its model list says it does not think: served without thinking.
    ["found/llama3.2", "thinking dropped (llama3.2:latest has none)"],
  ];
  for (const stream of [false, true])
    for (const [model, adjusted] of cells)
      test(`→ ${model} · ${stream ? "stream" : "non-stream"}`, async () => {
        const params = {
          model,
          max_tokens: 32_000,
          thinking: { type: "enabled" as const, budget_tokens: 10_000 },
          output_config: { effort: "max" as const },
          messages: [{ role: "user" as const, content: "Say hi" }],
        };
        let text = "";
        let headers: Headers;
        if (stream) {
          const { data, response } = await client().messages.create({ ...params, stream: true }).withResponse();
          headers = response.headers;
          for await (const ev of data) if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
        } else {
          // An explicit timeout: without one the SDK refuses a non-stream call this large itself.
          const { data, response } = await client().messages.create(params, { timeout: 30_000 }).withResponse();
          headers = response.headers;
          text = data.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
        }
        expect(text.length).toBeGreaterThan(0);
        expect(headers.get("x-lmrelay-adjusted")).toBe(adjusted);
        expect(auditAdjusted().at(-1)).toBe(adjusted);
      });
});

describe("OpenAI client (reasoning_effort high, temperature 0.7, six stop sequences)", () => {
  const client = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "k", maxRetries: 0 });
  const cells: [string, string][] = [
    ["an/claude-sonnet-4-6", "temperature 0.7 dropped (thinking takes only 1)"],
    ["an/claude-opus-4-7", "temperature dropped (claude-opus-4-7 refuses it)"],
    ["an/claude-haiku-4-5", "effort high->thinking budget 16384; max_tokens 4096->20480 (room above the thinking budget); temperature 0.7 dropped (thinking takes only 1)"],
    ["an/claude-3-5-haiku-20241022", "thinking dropped (claude-3-5-haiku-20241022 has none)"],
    ["oa/gpt-4o", "stop 6->4 sequences; reasoning_effort dropped (gpt-4o has none)"],
    ["oa/o4-mini", "temperature dropped (o4-mini refuses it); stop dropped (o4-mini takes none)"],
    ["oa/gpt-5", "temperature dropped (gpt-5 refuses it); stop dropped (gpt-5 takes none)"],
  ];
  for (const stream of [false, true])
    for (const [model, adjusted] of cells)
      test(`→ ${model} · ${stream ? "stream" : "non-stream"}`, async () => {
        const params = {
          model,
          reasoning_effort: "high" as const,
          temperature: 0.7,
          stop: ["\n\n", "END", "###", "STOP", "</answer>", "Human:"],
          messages: [{ role: "user" as const, content: "Say hi" }],
        };
        let text = "";
        let headers: Headers;
        if (stream) {
          const { data, response } = await client().chat.completions.create({ ...params, stream: true }).withResponse();
          headers = response.headers;
          for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? "";
        } else {
          const { data, response } = await client().chat.completions.create(params).withResponse();
          headers = response.headers;
          text = data.choices[0]!.message.content ?? "";
        }
        expect(text.length).toBeGreaterThan(0);
        expect(headers.get("x-lmrelay-adjusted")).toBe(adjusted);
        expect(auditAdjusted().at(-1)).toBe(adjusted);
      });

  test("a request that fits the model goes unchanged, with no x-lmrelay-adjusted", async () => {
    const { response } = await client()
      .chat.completions.create({ model: "oa/o4-mini", reasoning_effort: "high", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get("x-lmrelay-adjusted")).toBeNull();
    expect(auditAdjusted().at(-1)).toBeNull();
  });
});

describe("Gemini CLI's sampling (temperature 1, topP 0.95, topK 64) with thinking, through the Ollama client", () => {
  const cells: [string, string][] = [
    ["an/claude-sonnet-4-6", "top_k dropped (thinking refuses it); top_p dropped (claude-sonnet-4-6 takes temperature or top_p, not both)"],
    ["an/claude-opus-4-7", "temperature dropped (claude-opus-4-7 refuses it); top_p dropped (claude-opus-4-7 refuses it); top_k dropped (claude-opus-4-7 refuses it)"],
    ["oa/o4-mini", "top_k dropped (not an OpenAI parameter); top_p dropped (o4-mini refuses it)"],
    ["oa/gpt-4o", "top_k dropped (not an OpenAI parameter); thinking dropped (gpt-4o has no reasoning_effort)"],
  ];
  for (const [model, adjusted] of cells)
    test(`→ ${model}`, async () => {
      const res = await fetch(`${gw.url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model, stream: false, think: true, options: { temperature: 1, top_p: 0.95, top_k: 64 }, messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { message: { content: string } }).message.content.length).toBeGreaterThan(0);
      expect(res.headers.get("x-lmrelay-adjusted")).toBe(adjusted);
    });
});

describe("Gemini client (Gemini CLI's temperature 1, topP 0.95, topK 64, dynamic thinking, and 65536 output tokens)", () => {
  const cells: [string, string | null][] = [
    ["an/claude-sonnet-4-6", "max_tokens 65536->64000; top_k dropped (thinking refuses it); top_p dropped (claude-sonnet-4-6 takes temperature or top_p, not both)"],
    // No thinking, so Claude 3.5 Haiku takes all three sampling parameters.
    ["an/claude-3-5-haiku-20241022", "max_tokens 65536->8192; thinking dropped (claude-3-5-haiku-20241022 has none)"],
    ["oa/o4-mini", "top_k dropped (not an OpenAI parameter); top_p dropped (o4-mini refuses it)"],
    ["oa/gpt-4o", "top_k dropped (not an OpenAI parameter); max_completion_tokens 65536->16384; thinking dropped (gpt-4o has no reasoning_effort)"],
    ["gm/gemini-2.5-flash", null],
  ];
  for (const [model, adjusted] of cells)
    test(`→ ${model}`, async () => {
      const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: gw.url } });
      const res = await ai.models.generateContent({
        model,
        contents: "Say hi",
        config: { temperature: 1, topP: 0.95, topK: 64, maxOutputTokens: 65_536, thinkingConfig: { thinkingBudget: -1, includeThoughts: true } },
      });
      expect((res.text ?? "").length).toBeGreaterThan(0);
      const header = res.sdkHttpResponse?.headers?.["x-lmrelay-adjusted"] ?? null;
      expect(header).toBe(adjusted);
    });
});

describe("the fakes refuse, per model, what these requests would be without the adjustments", () => {
  const post = async (url: string, headers: Record<string, string>, body: unknown) => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  const openai = (body: Record<string, unknown>) => post(`${oa.url}/v1/chat/completions`, { authorization: "Bearer sk-test" }, { messages: [{ role: "user", content: "hi" }], ...body });
  const anthropic = (body: Record<string, unknown>) =>
    post(`${an.url}/v1/messages`, { "x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01" }, { max_tokens: 1000, messages: [{ role: "user", content: "hi" }], ...body });
  const gemini = (model: string, generationConfig: Record<string, unknown>) =>
    post(`${gm.url}/v1beta/models/${model}:generateContent`, { "x-goog-api-key": FAKE_GEMINI_KEY }, { contents: [{ role: "user", parts: [{ text: "hi" }] }], generationConfig });

  test("OpenAI", async () => {
    const refusals = [
      await openai({ model: "gpt-4o", max_completion_tokens: 32_000 }),
      await openai({ model: "gpt-4o", reasoning_effort: "high" }),
      await openai({ model: "o4-mini", reasoning_effort: "max" }),
      await openai({ model: "o4-mini", max_tokens: 100 }),
      await openai({ model: "gpt-5", temperature: 0.7 }),
      await openai({ model: "gpt-5", stop: ["a"] }),
      await openai({ model: "gpt-4o", stop: ["1", "2", "3", "4", "5"] }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400]);
    expect(refusals[0]!.text).toContain("This model supports at most 16384 completion tokens");
    expect((await openai({ model: "gpt-4o", max_completion_tokens: 16_384, stop: ["1", "2", "3", "4"] })).status).toBe(200);
  });

  test("Anthropic", async () => {
    const refusals = [
      await anthropic({ model: "claude-3-5-haiku-20241022", max_tokens: 32_000 }),
      await anthropic({ model: "claude-3-5-haiku-20241022", thinking: { type: "enabled", budget_tokens: 1024 } }),
      await anthropic({ model: "claude-opus-4-7", max_tokens: 20_000, thinking: { type: "enabled", budget_tokens: 10_000 } }),
      await anthropic({ model: "claude-haiku-4-5", thinking: { type: "adaptive" } }),
      await anthropic({ model: "claude-haiku-4-5", output_config: { effort: "high" } }),
      await anthropic({ model: "claude-sonnet-4-6", temperature: 0.5, top_p: 0.9 }),
      await anthropic({ model: "claude-sonnet-4-6", thinking: { type: "adaptive" }, temperature: 0.7 }),
      await anthropic({ model: "claude-opus-4-7", temperature: 0.5 }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 400]);
    expect(refusals[0]!.text).toContain("max_tokens: 32000 > 8192, which is the maximum allowed number of output tokens for claude-3-5-haiku-20241022");
  });

  test("Gemini", async () => {
    const refusals = [
      await gemini("gemini-2.0-flash", { maxOutputTokens: 32_000 }),
      await gemini("gemini-2.0-flash", { thinkingConfig: { thinkingBudget: 1024 } }),
      await gemini("gemini-2.5-pro", { thinkingConfig: { thinkingBudget: 50_000 } }),
      await gemini("gemini-2.5-flash", { stopSequences: ["1", "2", "3", "4", "5", "6"] }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400]);
  });
});
