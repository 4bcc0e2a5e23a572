import { describe, expect, test } from "bun:test";
import type { ProviderConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { costOf, priceFor } from "../../src/governance/pricing";
import { PRICES_AS_OF } from "../../src/governance/pricing-table";

function provider(cfg: ProviderConfig) {
  const keys = cfg.keys ?? (["openai-compatible", "ollama", "echo"].includes(cfg.type) ? undefined : ["k-123456"]);
  const baseUrl = cfg.baseUrl ?? (cfg.type === "azure" || cfg.type === "openai-compatible" || cfg.type === "cloudflare" ? "http://127.0.0.1:9/v1" : undefined);
  return resolveConfig({ providers: { p: { ...cfg, keys, baseUrl } } }).providers.get("p")!;
}

describe("built-in prices", () => {
  test("the table carries its date", () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test("well-known models of every priced provider type", () => {
    const cases: [ProviderConfig["type"], string, number, number][] = [
      ["openai", "gpt-4o", 2.5, 10],
      ["openai", "gpt-4o-2024-08-06", 2.5, 10],
      ["openai", "gpt-4o-mini", 0.15, 0.6],
      ["openai", "gpt-4o-2024-05-13", 5, 15],
      ["openai", "gpt-4.1-mini-2025-04-14", 0.4, 1.6],
      ["openai", "o3-mini", 1.1, 4.4],
      ["openai", "gpt-5-mini", 0.25, 2],
      ["openai", "text-embedding-3-small", 0.02, 0],
      ["azure", "gpt-4o", 2.5, 10],
      ["anthropic", "claude-sonnet-4-5-20250929", 3, 15],
      ["anthropic", "claude-3-5-haiku-20241022", 0.8, 4],
      ["anthropic", "claude-opus-4-1-20250805", 15, 75],
      ["anthropic", "claude-haiku-4-5", 1, 5],
      ["gemini", "gemini-2.5-flash", 0.3, 2.5],
      ["gemini", "models/gemini-2.5-pro", 1.25, 10],
      ["gemini", "gemini-2.5-flash-lite", 0.1, 0.4],
      ["cohere", "command-r-plus-08-2024", 2.5, 10],
      ["cohere", "command-r-08-2024", 0.15, 0.6],
      // The catalog (models.dev) knows Mistral Large 3's price; the old table said 2/6.
      ["mistral", "mistral-large-latest", 0.5, 1.5],
      // Models newer than the hand-kept table, priced by the catalog.
      ["anthropic", "claude-opus-4-7", 5, 25],
      ["anthropic", "claude-sonnet-4-6", 3, 15],
      ["openai", "gpt-5.1", 1.25, 10],
      ["mistral", "mistral-small-latest", 0.15, 0.6],
      ["groq", "llama-3.3-70b-versatile", 0.59, 0.79],
      ["cerebras", "llama3.1-8b", 0.1, 0.1],
      ["deepinfra", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.1, 0.32],
      ["cloudflare", "@cf/meta/llama-3.1-8b-instruct", 0.282, 0.827],
      ["openrouter", "openai/gpt-4o-mini", 0.15, 0.6],
      ["openrouter", "anthropic/claude-3.5-sonnet", 3, 15],
      ["openrouter", "google/gemini-2.5-flash", 0.3, 2.5],
      ["nvidia", "meta/llama-3.3-70b-instruct", 0, 0],
    ];
    for (const [type, model, input, output] of cases) {
      const price = priceFor(provider({ type }), model);
      expect({ type, model, price: price && { input: price.input, output: price.output } }).toEqual({ type, model, price: { input, output } });
    }
  });

  test("free and local providers cost nothing; unknown models have no price", () => {
    expect(priceFor(provider({ type: "ollama" }), "llama3.2:latest")).toEqual({ input: 0, output: 0 });
    expect(priceFor(provider({ type: "openai-compatible", free: true }), "qwen2.5-72b")).toEqual({ input: 0, output: 0 });
    expect(priceFor(provider({ type: "openai-compatible" }), "qwen2.5-72b")).toBeUndefined();
    expect(priceFor(provider({ type: "openai" }), "my-fine-tune")).toBeUndefined();
    expect(priceFor(provider({ type: "huggingface" }), "acme/unlisted-model-7b")).toBeUndefined();
    expect(priceFor(provider({ type: "openrouter" }), "somevendor/model")).toBeUndefined();
  });

  test("a provider's pricing overrides the table: exact names, then globs in written order", () => {
    const p = provider({
      type: "openai",
      pricing: { "gpt-4o": { input: 1, output: 2 }, "gpt-4o-*": { input: 3, output: 4, cachedInput: 0.5 }, "*": { input: 9, output: 9 } },
    });
    expect(priceFor(p, "gpt-4o")).toEqual({ input: 1, output: 2 });
    expect(priceFor(p, "gpt-4o-mini")).toEqual({ input: 3, output: 4, cachedInput: 0.5 });
    expect(priceFor(p, "anything")).toEqual({ input: 9, output: 9 });
    // Configured prices win over `free` too: the user said what it costs.
    expect(priceFor(provider({ type: "ollama", pricing: { "big*": { input: 1, output: 1 } } }), "big-model")).toEqual({ input: 1, output: 1 });
  });
});

describe("costOf", () => {
  test("input includes cached tokens, which are priced at their own rates", () => {
    const price = { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 };
    // 1000 input of which 600 read from cache and 100 written: 300 plain.
    const usd = costOf(price, { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 600, cacheWriteTokens: 100 });
    expect(usd).toBeCloseTo((300 * 3 + 600 * 0.3 + 100 * 3.75 + 200 * 15) / 1e6, 12);
  });
  test("without cache prices, cached tokens cost as plain input", () => {
    expect(costOf({ input: 2, output: 8 }, { inputTokens: 1000, outputTokens: 0, cacheReadTokens: 400 })).toBeCloseTo(0.002, 12);
  });
  test("no price: no cost", () => {
    expect(costOf(undefined, { inputTokens: 5, outputTokens: 5 })).toBe(0);
  });
  test("exact on round numbers (budget boundaries depend on it)", () => {
    expect(costOf({ input: 1_000_000, output: 0 }, { inputTokens: 10, outputTokens: 5 })).toBe(10);
  });
});
