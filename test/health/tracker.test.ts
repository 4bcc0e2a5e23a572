import { describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { HALF_LIFE_MS } from "../../src/health/entry";
import { HealthTracker, QUOTA_COOLDOWN_MS } from "../../src/health/tracker";

// The health tracker on a fake clock: cooldowns start and end, the circuit breaker opens, goes
// half-open and closes, traffic ramps back, failures fade, and a reload carries health over.

const base = (extra: Partial<LmrelayConfig> = {}): LmrelayConfig => ({
  providers: {
    a: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", keys: [{ key: "key-a1", name: "a1" }, { key: "key-a2", name: "a2" }], models: ["m"] },
    b: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: ["m"] },
  },
  health: { failureThreshold: 3, cooldownMs: 10_000, probeIntervalMs: 0 },
  ...extra,
});

function setup(extra?: Partial<LmrelayConfig>) {
  const config = resolveConfig(base(extra));
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms), get now() { return now; } };
  const health = new HealthTracker(config, { now: () => now });
  const a = config.providers.get("a")!;
  const b = config.providers.get("b")!;
  return { config, health, clock, a, b, k1: a.keys[0]!, k2: a.keys[1]! };
}

const err = (kind: ConstructorParameters<typeof GatewayError>[0], status: number, opts: { retryAfterMs?: number; code?: string } = {}) =>
  new GatewayError(kind, `x: failed ${status}`, { status, ...opts });

describe("cooldowns", () => {
  test("a 429 with Retry-After cools (provider, key, model) until then; then it is back with its full share", () => {
    const { health, clock, a, k1, k2 } = setup();
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 2000 }));
    const block = health.keyBlock("a", k1, "m");
    expect(block).toMatchObject({ kind: "rate_limited", until: clock.now + 2000 });
    expect(health.keyBlock("a", k2, "m")).toBeUndefined();
    expect(health.keyBlock("a", k1, "other-model")).toBeUndefined();
    expect(health.candidateHealth(a, "m").coolingDown).toBe(false);
    clock.advance(1999);
    expect(health.keyBlock("a", k1, "m")).toBeDefined();
    clock.advance(1);
    expect(health.keyBlock("a", k1, "m")).toBeUndefined();
    // The provider said when it would serve again: no ramp-up after a stated wait.
    expect(health.keyRamp("a", k1, "m")).toBe(1);
  });

  test("a limit the headers report spent (reset stated) is a stated wait too: full share when it resets", () => {
    const { health, clock, k1 } = setup();
    health.noteHeaders("a", k1, "m", new Headers({ "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s" }));
    expect(health.keyBlock("a", k1, "m")).toMatchObject({ kind: "rate_limited", until: clock.now + 3000 });
    clock.advance(3000);
    expect(health.keyBlock("a", k1, "m")).toBeUndefined();
    expect(health.keyRamp("a", k1, "m")).toBe(1);
  });

  test("back from a backoff lmrelay chose (no stated wait): 10% at once, rising linearly to 100% over min(cooldownMs, 60 s)", () => {
    const { health, clock, k1 } = setup();
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429));
    clock.advance(health.keyBlock("a", k1, "m")!.until! - clock.now);
    expect(health.keyBlock("a", k1, "m")).toBeUndefined();
    expect(health.keyRamp("a", k1, "m")).toBeCloseTo(0.1);
    clock.advance(5000);
    expect(health.keyRamp("a", k1, "m")).toBeCloseTo(0.55);
    clock.advance(5000);
    expect(health.keyRamp("a", k1, "m")).toBe(1);
    // A stated wait after backoffs: the backoff restarts and the return is at full share again.
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429));
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 60_000 }));
    clock.advance(60_000);
    expect(health.keyBlock("a", k1, "m")).toBeUndefined();
    expect(health.keyRamp("a", k1, "m")).toBe(1);
  });

  test("a 429 without a reset time backs off exponentially, capped at cooldownMs", () => {
    const { health, clock, k1 } = setup();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429));
      const until = health.keyBlock("a", k1, "m")!.until!;
      waits.push(until - clock.now);
      clock.advance(until - clock.now);
      expect(health.keyBlock("a", k1, "m")).toBeUndefined();
    }
    for (let i = 0; i < waits.length; i++) {
      const step = Math.min(10_000, 1000 * 2 ** i);
      expect(waits[i]!).toBeGreaterThanOrEqual(step / 2);
      expect(waits[i]!).toBeLessThanOrEqual(step);
    }
    // A success resets the backoff.
    health.recordSuccess("a", k1, "m", 100);
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429));
    expect(health.keyBlock("a", k1, "m")!.until! - clock.now).toBeLessThanOrEqual(1000);
  });

  test("every key cooling → the candidate is cooling down", () => {
    const { health, a, k1, k2 } = setup();
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 5000 }));
    health.recordFailure("a", k2, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 5000 }));
    expect(health.candidateHealth(a, "m")).toMatchObject({ coolingDown: true, score: 0 });
  });

  test("quota exhausted cools the whole key for a long time; a reload lifts it", () => {
    const { health, clock, config, k1 } = setup();
    health.recordFailure("a", k1, "m", "quota", err("rate_limited", 429, { code: "insufficient_quota" }));
    expect(health.keyBlock("a", k1, "other")).toMatchObject({ kind: "quota", until: clock.now + QUOTA_COOLDOWN_MS });
    clock.advance(QUOTA_COOLDOWN_MS - 1);
    expect(health.keyBlock("a", k1, "m")).toBeDefined();
    health.adopt(resolveConfig(base()));
    expect(health.keyBlock("a", config.providers.get("a")!.keys[0]!, "m")).toBeUndefined();
  });

  test("401 disables only that key, until the config reloads", () => {
    const { health, clock, k1, k2 } = setup();
    health.recordFailure("a", k1, "m", "auth", err("authentication", 401));
    expect(health.keyBlock("a", k1, "m")).toMatchObject({ kind: "disabled" });
    expect(health.keyBlock("a", k2, "m")).toBeUndefined();
    clock.advance(24 * 3600_000);
    expect(health.keyBlock("a", k1, "m")).toMatchObject({ kind: "disabled" });
    health.adopt(resolveConfig(base()));
    expect(health.keyBlock("a", k1, "m")).toBeUndefined();
  });

  test("a spent limit in a success's headers cools the target until it resets", () => {
    const { health, clock, k1 } = setup();
    health.noteHeaders("a", k1, "m", new Headers({ "x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s" }));
    expect(health.keyBlock("a", k1, "m")).toMatchObject({ kind: "rate_limited", until: clock.now + 3000 });
  });
});

describe("circuit breaker", () => {
  test("opens after failureThreshold consecutive failures, half-opens after cooldownMs, re-opens on one failure", () => {
    const { health, clock, b } = setup();
    const fail = () => health.recordFailure("b", undefined, "m", "failure", err("upstream_error", 500));
    fail();
    fail();
    expect(health.providerBlock("b")).toBeUndefined();
    fail();
    expect(health.providerBlock("b")).toMatchObject({ kind: "failing", until: clock.now + 10_000 });
    expect(health.candidateHealth(b, "m").coolingDown).toBe(true);
    clock.advance(10_000);
    expect(health.providerBlock("b")).toBeUndefined(); // half-open
    expect(health.providerRamp("b")).toBeCloseTo(0.1);
    fail();
    expect(health.providerBlock("b")).toBeDefined(); // one failure is enough now
  });

  test("a success in between resets the count; 429s and client errors do not count", () => {
    const { health, k1 } = setup();
    health.recordFailure("a", k1, "m", "failure", err("upstream_error", 502));
    health.recordFailure("a", k1, "m", "failure", err("upstream_error", 502));
    health.recordSuccess("a", k1, "m", 50);
    health.recordFailure("a", k1, "m", "failure", err("upstream_error", 502));
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 10 }));
    health.recordFailure("a", k1, "m", "reachable", err("invalid_request", 400));
    expect(health.providerBlock("a")).toBeUndefined();
    expect(health.get("a")!.consecutiveFailures).toBe(0);
  });

  test("a successful probe closes an open circuit early and ramps traffic back; a failed one keeps it open", () => {
    const { health, clock } = setup();
    for (let i = 0; i < 3; i++) health.recordFailure("b", undefined, "m", "failure", err("upstream_error", 503));
    expect(health.needsProbe("b")).toBe(true);
    expect(health.needsProbe("a")).toBe(false);
    clock.advance(5000);
    health.recordProbe("b", false, "connection refused");
    expect(health.providerBlock("b")!.until).toBe(clock.now + 10_000);
    health.recordProbe("b", true);
    expect(health.providerBlock("b")).toBeUndefined();
    expect(health.providerRamp("b")).toBeCloseTo(0.1);
    // Probes go on while the provider's targets are still demoted, each one earning trust back.
    let probes = 1;
    while (health.needsProbe("b") && probes < 20) {
      health.recordProbe("b", true);
      probes++;
    }
    expect(probes).toBeGreaterThan(2);
    expect(probes).toBeLessThan(20);
  });
});

describe("score", () => {
  test("failures lower the score and fade with time; latency costs at most 20%", () => {
    const { health, clock, b } = setup();
    expect(health.candidateHealth(b, "m").score).toBe(1);
    health.recordFailure("b", undefined, "m", "failure", err("upstream_error", 500));
    const after = health.candidateHealth(b, "m");
    expect(after.score).toBeCloseTo(0.8);
    expect(after.errorRate).toBeCloseTo(0.2);
    clock.advance(HALF_LIFE_MS);
    expect(health.candidateHealth(b, "m").score).toBeCloseTo(0.9);
    health.recordSuccess("b", undefined, "m", 60_000, 60_000);
    const slow = health.candidateHealth(b, "m");
    expect(slow.ttftMs).toBe(60_000);
    expect(slow.score).toBeGreaterThan(0.7);
    expect(slow.score).toBeLessThan(0.8);
  });

  test("429s lower the score of a key without counting as failures", () => {
    const { health, a, k1 } = setup();
    health.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 1 }));
    const e = health.get("a", k1.fingerprint, "m")!;
    expect(health.successRate(e)).toBe(1);
    expect(health.score(e)).toBeCloseTo(0.9);
    expect(health.candidateHealth(a, "m").errorRate).toBe(0);
  });
});

describe("reload carry-over", () => {
  test("health of providers and keys that still exist is kept; removed ones are dropped", () => {
    const { health, k1, k2 } = setup();
    health.recordFailure("a", k1, "m", "failure", err("upstream_error", 500));
    health.recordFailure("a", k2, "m", "rate_limited", err("rate_limited", 429, { retryAfterMs: 60_000 }));
    health.recordFailure("b", undefined, "m", "failure", err("upstream_error", 500));
    health.takeDirty();
    const next = resolveConfig({
      providers: { a: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", keys: [{ key: "key-a2", name: "a2" }], models: ["m"] } },
      health: { failureThreshold: 3, cooldownMs: 10_000, probeIntervalMs: 0 },
    });
    health.adopt(next);
    expect(health.get("a", k1.fingerprint, "m")).toBeUndefined();
    expect(health.get("b", "-", "m")).toBeUndefined();
    expect(health.keyBlock("a", next.providers.get("a")!.keys[0]!, "m")).toMatchObject({ kind: "rate_limited" });
    const { removed } = health.takeDirty();
    expect(removed.map((e) => `${e.provider}/${e.fp === k1.fingerprint ? "k1" : e.fp}/${e.model}`).sort()).toEqual(["a/k1/m", "b/-/m", "b//"]);
  });
});
