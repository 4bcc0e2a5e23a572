import { describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { HealthTracker } from "../../src/health/tracker";
import { contextWindowOf } from "../../src/router/context";
import { planCandidates } from "../../src/router/plan";
import { EXPLORATION, orderCandidates, StrategyState } from "../../src/router/strategy";

// Ordering without the network: each strategy on planned candidates whose health and prices are
// set up directly, plus the rules every strategy shares (ramp-up, open circuits last) and what
// planning filters out.

const upstream = (extra: Record<string, unknown> = {}) => ({ type: "openai-compatible" as const, baseUrl: "http://127.0.0.1:9/v1", models: ["m"], ...extra });

function setup(providers: LmrelayConfig["providers"], extra: Partial<LmrelayConfig> = {}) {
  const config = resolveConfig({ providers, health: { failureThreshold: 2, cooldownMs: 10_000, probeIntervalMs: 0 }, ...extra });
  let now = 1_000_000;
  const health = new HealthTracker(config, { now: () => now });
  const candidates = [...config.providers.values()].map((provider) => ({ provider, model: "m" }));
  const plan = (opts: { promptTokens?: number; maxTokens?: number } = {}) =>
    planCandidates({ config, health, candidates, need: "chat", promptTokens: opts.promptTokens ?? 1000, maxTokens: opts.maxTokens });
  return { config, health, plan, advance: (ms: number) => (now += ms) };
}

const ids = (list: { provider: { id: string } }[]) => list.map((c) => c.provider.id);
const fail = (h: HealthTracker, id: string, status = 500) => h.recordFailure(id, undefined, "m", "failure", new GatewayError("upstream_error", `${id}: boom`, { status }));

describe("strategies", () => {
  test("priority: higher priority first, then written order", () => {
    const { plan } = setup({ a: upstream(), b: upstream({ priority: 5 }), c: upstream(), d: upstream({ priority: 5 }) });
    expect(ids(orderCandidates("priority", plan().candidates, new StrategyState(), "m"))).toEqual(["b", "d", "a", "c"]);
  });

  test("health: a provider that failed drops below healthy ones; ties keep priority and written order", () => {
    const { plan, health } = setup({ a: upstream(), b: upstream(), c: upstream({ priority: 1 }) });
    expect(ids(orderCandidates("health", plan().candidates, new StrategyState(), "m"))).toEqual(["c", "a", "b"]);
    fail(health, "c");
    expect(ids(orderCandidates("health", plan().candidates, new StrategyState(), "m"))).toEqual(["a", "b", "c"]);
  });

  test("cost: cheapest estimate first (prompt × input + maxTokens × output), free first, unknown prices last", () => {
    const { plan } = setup({
      unknown: upstream(),
      pricey: upstream({ pricing: { m: { input: 10, output: 30 } } }),
      cheapIn: upstream({ pricing: { m: { input: 0.1, output: 50 } } }),
      mid: upstream({ pricing: { "m*": { input: 1, output: 2 } } }),
      local: upstream({ free: true }),
    });
    // 1000 prompt tokens, 100 output: cheapIn = 0.0001 + 0.005 = 0.0051; mid = 0.001 + 0.0002 = 0.0012
    const small = plan({ promptTokens: 1000, maxTokens: 100 }).candidates;
    expect(ids(orderCandidates("cost", small, new StrategyState(), "m"))).toEqual(["local", "mid", "cheapIn", "pricey", "unknown"]);
    expect(small.find((c) => c.provider.id === "mid")!.cost.estimateUsd).toBeCloseTo(0.0012, 6);
    // A huge prompt with a tiny answer flips cheapIn and mid.
    const big = plan({ promptTokens: 100_000, maxTokens: 1 }).candidates;
    expect(ids(orderCandidates("cost", big, new StrategyState(), "m")).slice(0, 3)).toEqual(["local", "cheapIn", "mid"]);
  });

  test("latency: unmeasured first (to measure them), then lowest EWMA time to first token; exploration now and then", () => {
    const { plan, health, advance } = setup({ slow: upstream(), fast: upstream(), fresh: upstream() });
    health.recordSuccess("slow", undefined, "m", 900, 800);
    advance(10);
    health.recordSuccess("fast", undefined, "m", 200, 50);
    const never = new StrategyState(() => 0.99);
    expect(ids(orderCandidates("latency", plan().candidates, never, "m"))).toEqual(["fresh", "fast", "slow"]);
    health.recordSuccess("fresh", undefined, "m", 500, 400);
    expect(ids(orderCandidates("latency", plan().candidates, never, "m"))).toEqual(["fast", "fresh", "slow"]);
    // Exploration: the stalest measured candidate (slow, measured first) goes first.
    const always = new StrategyState(() => EXPLORATION / 2);
    expect(ids(orderCandidates("latency", plan().candidates, always, "m"))).toEqual(["slow", "fast", "fresh"]);
    // Over many requests exploration stays rare.
    const state = new StrategyState();
    let firstFast = 0;
    for (let i = 0; i < 2000; i++) if (orderCandidates("latency", plan().candidates, state, "m")[0]!.provider.id === "fast") firstFast++;
    expect(firstFast / 2000).toBeGreaterThan(1 - 2.5 * EXPLORATION);
  });

  test("round-robin: candidates take turns, weighted by provider weight", () => {
    const { plan } = setup({ a: upstream(), b: upstream({ weight: 2 }) });
    const state = new StrategyState();
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 300; i++) counts[orderCandidates("round-robin", plan().candidates, state, "m")[0]!.provider.id]!++;
    expect(counts).toEqual({ a: 100, b: 200 });
  });
});

describe("rules every strategy shares", () => {
  test("an open circuit goes last (a last resort), a ramping provider gets only its share of first places", () => {
    const { plan, health, advance } = setup({ a: upstream(), b: upstream(), c: upstream() });
    fail(health, "a");
    fail(health, "a");
    const open = plan().candidates;
    expect(open.find((c) => c.provider.id === "a")!.lastResort).toBeDefined();
    for (const s of ["health", "priority", "cost", "latency", "round-robin", "written"] as const)
      expect(ids(orderCandidates(s, open, new StrategyState(), `m-${s}`)).at(-1)).toBe("a");
    health.recordProbe("a", true);
    const ramping = plan().candidates;
    expect(ramping.find((c) => c.provider.id === "a")!.ramp).toBeCloseTo(0.1);
    let first = 0;
    const state = new StrategyState();
    for (let i = 0; i < 1000; i++) if (orderCandidates("written", ramping, state, "m")[0]!.provider.id === "a") first++;
    expect(first).toBeGreaterThan(50);
    expect(first).toBeLessThan(160);
    advance(10_000);
    expect(plan().candidates.find((c) => c.provider.id === "a")!.ramp).toBe(1);
  });

  test("planning skips what cannot serve: every key cooling, no key allowing the model, no embeddings", () => {
    const { config, health, plan } = setup({
      cool: upstream({ keys: ["c-1"] }),
      picky: upstream({ keys: [{ key: "p-1", models: ["other-*"] }] }),
      ok: upstream(),
    });
    health.recordFailure("cool", config.providers.get("cool")!.keys[0], "m", "rate_limited", new GatewayError("rate_limited", "cool: 429", { status: 429, retryAfterMs: 5000 }));
    const p = plan();
    expect(ids(p.candidates)).toEqual(["ok"]);
    expect(p.skipped.map((s) => [s.provider, s.reason])).toEqual([
      ["cool", "rate-limited (429)"],
      ["picky", "no key allows this model"],
    ]);
    expect(p.skipped[0]!.until).toBe(1_000_000 + 5000);
    const echo = resolveConfig({ providers: { e: { type: "echo", models: ["m"] }, x: { type: "anthropic", keys: ["k"], models: ["m"] } } });
    const embed = planCandidates({
      config: echo,
      health: new HealthTracker(echo),
      candidates: [...echo.providers.values()].map((provider) => ({ provider, model: "m" })),
      need: "embed",
      promptTokens: 1,
    });
    expect(ids(embed.candidates)).toEqual(["e"]);
    expect(embed.skipped[0]).toMatchObject({ provider: "x", reason: "no embeddings" });
  });

  test("known context windows", () => {
    const p = resolveConfig({ providers: { e: { type: "echo" } } }).providers.get("e")!;
    expect(contextWindowOf(p, "gpt-4o-mini")).toBe(128_000);
    expect(contextWindowOf(p, "openai/gpt-4.1")).toBe(1_047_576);
    expect(contextWindowOf(p, "claude-sonnet-4-5")).toBe(200_000);
    expect(contextWindowOf(p, "llama3.2:3b")).toBe(128_000);
    expect(contextWindowOf(p, "my-finetune")).toBeUndefined();
  });
});
