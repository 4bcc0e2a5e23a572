import { expect, test } from "bun:test";
import type { SharedBlock, SharedBlocks } from "../../src/cluster/types";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { HealthTracker } from "../../src/health/tracker";

// Two trackers wired through an in-memory stand-in for the Redis block channel (cluster/blocks.ts):
// what one learns (a 429 cooldown, a 401-disabled key, an open circuit and its closing) the other
// honours at once, without telling it back; a reload forgets disabled keys everywhere.

const config = resolveConfig({
  providers: { a: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", keys: [{ key: "key-a1-xxxxxx", name: "a1" }, { key: "key-a2-xxxxxx", name: "a2" }], models: ["m"] } },
  health: { failureThreshold: 2, cooldownMs: 10_000, probeIntervalMs: 0 },
});

function pair() {
  let now = 5_000_000;
  const published: SharedBlock[] = [];
  let forgets = 0;
  const nodes: HealthTracker[] = [];
  const channel = (from: number): SharedBlocks => ({
    publish(b) {
      published.push(b);
      for (const [i, n] of nodes.entries()) if (i !== from) n.applyShared(structuredClone(b));
    },
    forgetDisabled: () => void forgets++,
  });
  nodes.push(new HealthTracker(config, { now: () => now, share: channel(0) }), new HealthTracker(config, { now: () => now, share: channel(1) }));
  const keys = config.providers.get("a")!.keys;
  const k1 = keys[0]!;
  const k2 = keys[1]!;
  return { a: nodes[0]!, b: nodes[1]!, k1, k2, published, forgets: () => forgets, advance: (ms: number) => (now += ms), now: () => now };
}

const err = (kind: ConstructorParameters<typeof GatewayError>[0], status: number, retryAfterMs?: number) => new GatewayError(kind, `up: ${status}`, { status, retryAfterMs });

test("a 429 cooldown learned on one node blocks the key on the other until it ends", () => {
  const { a, b, k1, k2, published, advance } = pair();
  a.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, 3000));
  expect(published).toEqual([expect.objectContaining({ type: "cooldown", provider: "a", fp: k1.fingerprint, model: "m", kind: "rate_limited" })]);
  expect(b.keyBlock("a", k1, "m")).toMatchObject({ kind: "rate_limited" });
  expect(b.keyBlock("a", k2, "m")).toBeUndefined();
  expect(published).toHaveLength(1); // applied, not told back
  advance(3001);
  expect(b.keyBlock("a", k1, "m")).toBeUndefined();
});

test("a key disabled by a 401 is disabled on every node; a reload forgets it everywhere", () => {
  const { a, b, k2, forgets } = pair();
  a.recordFailure("a", k2, "m", "auth", err("authentication", 401));
  expect(b.keyBlock("a", k2, "m")).toMatchObject({ kind: "disabled" });
  b.adopt(config);
  expect(forgets()).toBe(1);
  expect(b.keyBlock("a", k2, "m")).toBeUndefined();
});

test("an open circuit is shared, and so is its closing", () => {
  const { a, b, k1, published } = pair();
  a.recordFailure("a", k1, "m", "failure", err("upstream_error", 502));
  a.recordFailure("a", k1, "m", "failure", err("upstream_error", 502));
  expect(a.providerBlock("a")).toMatchObject({ kind: "failing" });
  expect(b.providerBlock("a")).toMatchObject({ kind: "failing" });
  a.recordProbe("a", true);
  expect(published.at(-1)).toEqual({ type: "clear", provider: "a", fp: "", model: "" });
  expect(b.providerBlock("a")).toBeUndefined();
});

test("a shorter cooldown from elsewhere does not cut a longer one short; unknown providers are ignored", () => {
  const { a, b, k1, now } = pair();
  b.recordFailure("a", k1, "m", "rate_limited", err("rate_limited", 429, 60_000));
  b.applyShared({ type: "cooldown", provider: "a", fp: k1.fingerprint, model: "m", until: now() + 1000, kind: "rate_limited", reason: "x" });
  expect(b.keyBlock("a", k1, "m")!.until).toBe(now() + 60_000);
  a.applyShared({ type: "disabled", provider: "gone", fp: "abc", status: "401" });
  expect([...a.all()].some((e) => e.provider === "gone")).toBe(false);
});
