import { describe, expect, test } from "bun:test";
import { CATALOG_SOURCE, catalogEntry, modelFacts } from "../../src/catalog";
import type { ChatRequest, Reasoning } from "../../src/core/types";
import { anthropicControls, anthropicRulesFor } from "../../src/upstream/anthropic/rules";
import { cohereRulesFor, fitCohereBody } from "../../src/upstream/cohere/rules";
import { fitGeminiConfig, geminiRulesFor } from "../../src/upstream/gemini/rules";
import type { GeminiGenerationConfig } from "../../src/upstream/gemini/wire";
import { fitOllamaBody, ollamaRulesFor } from "../../src/upstream/ollama/rules";
import { fitOpenAIBody, openaiBodyFits, openaiRulesFor } from "../../src/upstream/openai/rules";
import { nearestEffort } from "../../src/upstream/reasoning";

// The model catalog and each adapter's parameter rules, as tables: what a request becomes for a
// given real model, and the adjustment notes that name each change.

describe("catalog", () => {
  test("knows today's models of every first-party provider, with its source and date", () => {
    expect(CATALOG_SOURCE.source).toBe("https://github.com/anomalyco/models.dev");
    expect(CATALOG_SOURCE.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const names: [string, string][] = [
      ["openai", "gpt-4o"],
      ["openai", "gpt-4o-mini"],
      ["openai", "o4-mini"],
      ["openai", "gpt-5"],
      ["openai", "gpt-5-mini"],
      ["openai", "gpt-5.1"],
      ["anthropic", "claude-haiku-4-5"],
      ["anthropic", "claude-sonnet-4-6"],
      ["anthropic", "claude-opus-4-7"],
      ["anthropic", "claude-3-5-haiku"],
      ["gemini", "gemini-2.0-flash"],
      ["gemini", "gemini-2.5-flash"],
      ["gemini", "gemini-2.5-pro"],
    ];
    for (const [type, model] of names) {
      const { facts } = modelFacts({ type }, model);
      expect({ model, context: typeof facts.contextWindow, output: typeof facts.maxOutputTokens, reasoning: typeof facts.reasoning }).toEqual({
        model,
        context: "number",
        output: "number",
        reasoning: "boolean",
      });
    }
  });

  test("facts: output limits, reasoning controls, sampling, prices", () => {
    const gpt4o = modelFacts({ type: "openai" }, "gpt-4o").facts;
    expect([gpt4o.contextWindow, gpt4o.maxOutputTokens, gpt4o.reasoning, gpt4o.tools, gpt4o.images]).toEqual([128_000, 16_384, false, true, true]);
    expect(gpt4o.price).toEqual({ input: 2.5, output: 10, cachedInput: 1.25 });
    expect(modelFacts({ type: "openai" }, "o4-mini").facts.efforts).toEqual(["low", "medium", "high"]);
    const opus = modelFacts({ type: "anthropic" }, "claude-opus-4-7").facts;
    expect([opus.reasoning, opus.budget, opus.sampling, opus.efforts?.includes("max")]).toEqual([true, undefined, false, true]);
    expect(modelFacts({ type: "gemini" }, "models/gemini-2.5-pro").facts.budget).toEqual({ min: 128, max: 32_768 });
  });

  test("name variants: dated snapshots, undated names, Gemini's models/ prefix, vendor prefixes, Azure and compatible servers", () => {
    expect(catalogEntry("anthropic", "claude-3-5-haiku")?.id).toBe("anthropic/claude-3-5-haiku-20241022");
    expect(catalogEntry("anthropic", "claude-3-5-haiku-latest")?.id).toBe("anthropic/claude-3-5-haiku-20241022");
    expect(catalogEntry("openai", "gpt-4o-2024-08-06")?.id).toBe("openai/gpt-4o-2024-08-06");
    expect(catalogEntry("gemini", "models/gemini-2.5-flash")?.id).toBe("google/gemini-2.5-flash");
    expect(catalogEntry("openrouter", "openai/gpt-4o")?.id).toBe("openrouter/openai/gpt-4o");
    expect(catalogEntry("azure", "gpt-4o")?.id).toBe("openai/gpt-4o");
    expect(catalogEntry("openai-compatible", "gpt-4o-mini")?.id).toBe("openai/gpt-4o-mini");
    expect(catalogEntry("openai-compatible", "my-local-model")).toBeUndefined();
  });

  test("a provider's modelInfo overrides the catalog, exact names before globs, and says so", () => {
    const provider = { type: "openai", modelInfo: { "gpt-4o*": { maxOutputTokens: 4000 }, "gpt-4o": { contextWindow: 64_000 } } };
    const exact = modelFacts(provider, "gpt-4o");
    expect([exact.facts.contextWindow, exact.facts.maxOutputTokens]).toEqual([64_000, 16_384]);
    expect(exact.sources).toMatchObject({ contextWindow: "config", maxOutputTokens: "models.dev:openai/gpt-4o" });
    const glob = modelFacts(provider, "gpt-4o-mini");
    expect([glob.facts.maxOutputTokens, glob.sources.maxOutputTokens]).toEqual([4000, "config"]);
  });
});

test("nearestEffort: the closest value the model takes, never `none` for a request that thinks", () => {
  expect(nearestEffort("max", ["low", "medium", "high"])).toBe("high");
  expect(nearestEffort("max", ["none", "low", "medium", "high", "xhigh"])).toBe("xhigh");
  expect(nearestEffort("minimal", ["none", "low", "medium", "high"])).toBe("low");
  expect(nearestEffort("medium", ["low", "high"])).toBe("low");
  expect(nearestEffort("high", [])).toBeUndefined();
});

const openai = { type: "openai" };

describe("OpenAI rules", () => {
  const cases: [string, string, Record<string, unknown>, Reasoning | undefined, Record<string, unknown>, string[]][] = [
    [
      "gpt-4o: output limit, no reasoning_effort, four stop sequences",
      "gpt-4o",
      { max_completion_tokens: 32_000, reasoning_effort: "max", stop: ["1", "2", "3", "4", "5", "6"], temperature: 0.7 },
      undefined,
      { max_completion_tokens: 16_384, stop: ["1", "2", "3", "4"], temperature: 0.7 },
      ["max_completion_tokens 32000->16384", "stop 6->4 sequences", "reasoning_effort dropped (gpt-4o has none)"],
    ],
    [
      "o4-mini: sampling and stop refused, effort to its scale",
      "o4-mini",
      { max_completion_tokens: 32_000, reasoning_effort: "max", stop: ["a"], temperature: 0.7, top_p: 1, presence_penalty: 0.5 },
      undefined,
      { max_completion_tokens: 32_000, reasoning_effort: "high", top_p: 1 },
      ["temperature dropped (o4-mini refuses it)", "presence_penalty dropped (o4-mini refuses it)", "stop dropped (o4-mini takes none)", "reasoning_effort max->high"],
    ],
    [
      "gpt-5: max_tokens becomes max_completion_tokens; an Anthropic budget becomes an effort",
      "gpt-5",
      { max_tokens: 200_000 },
      { enabled: true, budgetTokens: 10_000 },
      { max_completion_tokens: 128_000, reasoning_effort: "medium" },
      ["max_tokens 200000->128000", "max_tokens sent as max_completion_tokens (gpt-5 refuses max_tokens)", "thinking budget 10000->reasoning_effort medium"],
    ],
    ["gpt-5.1 takes none", "gpt-5.1", { reasoning_effort: "none" }, undefined, { reasoning_effort: "none" }, []],
    ["gpt-5.2 takes xhigh", "gpt-5.2", { reasoning_effort: "xhigh" }, undefined, { reasoning_effort: "xhigh" }, []],
    ["gpt-5: minimal kept", "gpt-5", { reasoning_effort: "minimal" }, undefined, { reasoning_effort: "minimal" }, []],
    [
      "gpt-4o-mini with thinking asked: named, nothing sent",
      "gpt-4o-mini",
      {},
      { enabled: true, budgetTokens: 4000 },
      {},
      ["thinking budget 4000 dropped (gpt-4o-mini has no reasoning_effort)"],
    ],
  ];
  for (const [name, model, body, reasoning, expected, adjusted] of cases)
    test(name, () => {
      const out = { ...body };
      expect(fitOpenAIBody(out, openaiRulesFor(openai, model), reasoning)).toEqual(adjusted);
      expect(out).toEqual(expected);
    });

  test("the passthrough asks whether a client's body fits as it is", () => {
    expect(openaiBodyFits({ model: "o4-mini", reasoning_effort: "high", max_tokens: 1000 }, openai, "o4-mini")).toBe(true);
    expect(openaiBodyFits({ model: "o4-mini", temperature: 0.2 }, openai, "o4-mini")).toBe(false);
    expect(openaiBodyFits({ model: "gpt-4o", stop: ["1", "2", "3", "4", "5"] }, openai, "gpt-4o")).toBe(false);
    expect(openaiBodyFits({ model: "gpt-4o", max_tokens: 20_000 }, openai, "gpt-4o", "max_tokens")).toBe(false);
  });

  test("OpenAI's family rules are OpenAI's API: OpenRouter serving gpt-5 by name gets only the catalog's facts", () => {
    const rules = openaiRulesFor({ type: "openrouter" }, "openai/gpt-5");
    const body: Record<string, unknown> = { max_tokens: 1000, stop: ["a"], reasoning_effort: "max" };
    expect(fitOpenAIBody(body, rules)).toEqual(["reasoning_effort max->high"]);
    expect(body).toEqual({ max_tokens: 1000, stop: ["a"], reasoning_effort: "high" });
  });

  test("an unknown model on an OpenAI-compatible server keeps its parameters; efforts stay within the common four", () => {
    const rules = openaiRulesFor({ type: "openai-compatible" }, "my-local-model");
    const body: Record<string, unknown> = { max_tokens: 50_000, temperature: 0.2, stop: ["1", "2", "3", "4", "5"], reasoning_effort: "max" };
    expect(fitOpenAIBody(body, rules)).toEqual(["reasoning_effort max->high"]);
    expect(body).toEqual({ max_tokens: 50_000, temperature: 0.2, stop: ["1", "2", "3", "4", "5"], reasoning_effort: "high" });
  });
});

const req = (over: Partial<ChatRequest>): ChatRequest => ({ model: "m", system: [], messages: [], stream: false, ...over });
const anthropic = { type: "anthropic" };

describe("Anthropic rules", () => {
  test("claude-3-5-haiku: output limit, thinking dropped", () => {
    const { controls, adjusted } = anthropicControls(req({ maxTokens: 32_000, reasoning: { enabled: true, budgetTokens: 10_000, effort: "max" } }), anthropicRulesFor(anthropic, "claude-3-5-haiku-20241022"), false);
    expect(controls).toEqual({ max_tokens: 8192, thinkingOn: false });
    expect(adjusted).toEqual(["max_tokens 32000->8192", "thinking dropped (claude-3-5-haiku-20241022 has none)"]);
  });

  test("claude-opus-4-7: adaptive only, the budget becomes adaptive, effort kept, sampling refused", () => {
    const r = anthropicControls(req({ maxTokens: 32_000, reasoning: { enabled: true, budgetTokens: 10_000, effort: "max" }, temperature: 0.5 }), anthropicRulesFor(anthropic, "claude-opus-4-7"), false);
    expect(r.controls).toEqual({ max_tokens: 32_000, thinking: { type: "adaptive" }, effort: "max", thinkingOn: true });
    expect(r.adjusted).toEqual(["thinking budget 10000->adaptive (claude-opus-4-7 takes no budget)", "temperature dropped (claude-opus-4-7 refuses it)"]);
  });

  test("claude-sonnet-4-6: an OpenAI effort becomes adaptive thinking with that effort; temperature must be 1", () => {
    const r = anthropicControls(req({ reasoning: { enabled: true, effort: "xhigh" }, temperature: 0.7, stop: ["a", "b", "c", "d", "e", "f"] }), anthropicRulesFor(anthropic, "claude-sonnet-4-6"), false);
    // xhigh sits between high and max: a tie goes to the cheaper one.
    expect(r.controls).toEqual({ max_tokens: 4096, thinking: { type: "adaptive" }, effort: "high", thinkingOn: true });
    expect(r.adjusted).toEqual(["effort xhigh->high", "temperature 0.7 dropped (thinking takes only 1)"]);
  });

  test("claude-haiku-4-5: effort becomes a budget, max_tokens makes room within the limit", () => {
    const r = anthropicControls(req({ reasoning: { enabled: true, effort: "high" } }), anthropicRulesFor(anthropic, "claude-haiku-4-5"), false);
    expect(r.controls).toEqual({ max_tokens: 20_480, thinking: { type: "enabled", budget_tokens: 16_384 }, thinkingOn: true });
    expect(r.adjusted).toEqual(["effort high->thinking budget 16384", "max_tokens 4096->20480 (room above the thinking budget)"]);
  });

  test("a budget at the model's output limit is lowered below max_tokens", () => {
    const r = anthropicControls(req({ maxTokens: 64_000, reasoning: { enabled: true, budgetTokens: 64_000 } }), anthropicRulesFor(anthropic, "claude-haiku-4-5"), false);
    expect(r.controls.thinking).toEqual({ type: "enabled", budget_tokens: 32_000 });
    expect(r.controls.max_tokens).toBe(64_000);
    expect(r.adjusted).toEqual(["thinking budget 64000->32000"]);
  });

  test("Gemini CLI's sampling (temperature 1, topP 0.95, topK 64) with thinking fits Claude 4.5+", () => {
    const r = anthropicControls(req({ temperature: 1, topP: 0.95, topK: 64, reasoning: { enabled: true, budgetTokens: 8192 } }), anthropicRulesFor(anthropic, "claude-sonnet-4-6"), false);
    expect(r.controls).toEqual({ max_tokens: 12_288, thinking: { type: "enabled", budget_tokens: 8192 }, temperature: 1, thinkingOn: true });
    expect(r.adjusted).toEqual([
      "max_tokens 4096->12288 (room above the thinking budget)",
      "top_k dropped (thinking refuses it)",
      "top_p dropped (claude-sonnet-4-6 takes temperature or top_p, not both)",
    ]);
  });

  test("thinking with an unsigned tool turn is dropped, and said", () => {
    const r = anthropicControls(req({ reasoning: { enabled: true, effort: "low" } }), anthropicRulesFor(anthropic, "claude-sonnet-4-5"), true);
    expect(r.controls.thinking).toBeUndefined();
    expect(r.adjusted).toEqual(["thinking dropped (the tool turn continued has no signed thinking)"]);
    // Adaptive thinking may skip thinking, so it takes the same history.
    const adaptive = anthropicControls(req({ reasoning: { enabled: true, effort: "low" } }), anthropicRulesFor(anthropic, "claude-opus-4-7"), true);
    expect(adaptive.controls.thinking).toEqual({ type: "adaptive" });
    expect(adaptive.adjusted).toEqual([]);
  });
});

describe("Gemini rules", () => {
  const fit = (model: string, g: GeminiGenerationConfig, reasoning?: Reasoning) => {
    const adjusted = fitGeminiConfig(g, reasoning, geminiRulesFor({ type: "gemini" }, model));
    return { g, adjusted };
  };
  test("gemini-2.0-flash: output limit, no thinking", () => {
    expect(fit("gemini-2.0-flash", { maxOutputTokens: 32_000 }, { enabled: true, effort: "high" })).toEqual({
      g: { maxOutputTokens: 8192 },
      adjusted: ["maxOutputTokens 32000->8192", "thinking dropped (gemini-2.0-flash has none)"],
    });
  });
  test("gemini-2.5-pro: budget within 128..32768; an effort becomes a budget", () => {
    expect(fit("models/gemini-2.5-pro", {}, { enabled: true, budgetTokens: 50_000 })).toEqual({
      g: { thinkingConfig: { thinkingBudget: 32_768, includeThoughts: true } },
      adjusted: ["thinking budget 50000->32768"],
    });
    expect(fit("gemini-2.5-flash", {}, { enabled: true, effort: "max" })).toEqual({
      g: { thinkingConfig: { thinkingBudget: 24_576, includeThoughts: true } },
      adjusted: ["effort max->thinkingBudget 24576"],
    });
  });
  test("Gemini 3: thinkingLevel from an effort or a budget", () => {
    expect(fit("gemini-3-pro-preview", {}, { enabled: true, effort: "medium" })).toEqual({
      g: { thinkingConfig: { thinkingLevel: "low", includeThoughts: true } },
      adjusted: ["effort medium->thinkingLevel low"],
    });
    expect(fit("gemini-3-pro-preview", {}, { enabled: true, budgetTokens: 31_999 }).g.thinkingConfig).toEqual({ thinkingLevel: "high", includeThoughts: true });
  });
});

describe("Ollama rules", () => {
  test("gpt-oss takes a level: max becomes high, and is named", () => {
    const body: Record<string, unknown> = { think: "high", options: { num_predict: 50_000 } };
    expect(fitOllamaBody(body, { enabled: true, effort: "max" }, ollamaRulesFor({ type: "ollama" }, "gpt-oss:20b"))).toEqual(["num_predict 50000->32768", "effort max->think high"]);
    expect(body).toEqual({ think: "high", options: { num_predict: 32_768 } });
  });
  test("an unknown local model keeps the request's own think", () => {
    const body: Record<string, unknown> = { think: "high" };
    expect(fitOllamaBody(body, { enabled: true, effort: "high" }, ollamaRulesFor({ type: "ollama" }, "my-model:7b"))).toEqual([]);
    expect(body.think).toBe("high");
  });
});

describe("Cohere rules", () => {
  test("output limit, stop count, thinking dropped for a model that does not think", () => {
    const body: Record<string, unknown> = { max_tokens: 32_000, stop_sequences: ["1", "2", "3", "4", "5", "6"], thinking: { type: "enabled", token_budget: 4096 } };
    expect(fitCohereBody(body, cohereRulesFor({ type: "cohere" }, "command-a-03-2025"))).toEqual([
      "max_tokens 32000->8000",
      "stop_sequences 6->5",
      "thinking dropped (command-a-03-2025 has none)",
    ]);
    expect(body).toEqual({ max_tokens: 8000, stop_sequences: ["1", "2", "3", "4", "5"] });
  });
  test("a reasoning model keeps its thinking", () => {
    const body: Record<string, unknown> = { thinking: { type: "enabled", token_budget: 4096 } };
    expect(fitCohereBody(body, cohereRulesFor({ type: "cohere" }, "command-a-reasoning-08-2025"))).toEqual([]);
    expect(body.thinking).toEqual({ type: "enabled", token_budget: 4096 });
  });
});
