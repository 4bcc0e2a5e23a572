import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { type KeyRotation, KeyPool } from "../../src/router/keypool";

// Key pools without the network: each rotation's long-run shares, least-used following in-flight
// work and tokens, and per-key rpm/tpm counted locally on a fake clock.

function provider(keys: { key: string; name: string; weight?: number; rpm?: number; tpm?: number }[]) {
  return resolveConfig({ providers: { p: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", keys } } }).providers.get("p")!;
}

const three = provider([
  { key: "k-1", name: "one", weight: 1 },
  { key: "k-2", name: "two", weight: 2 },
  { key: "k-3", name: "three", weight: 3 },
]);

function firsts(pool: KeyPool, rotation: KeyRotation, n: number): Record<string, number> {
  const counts: Record<string, number> = { one: 0, two: 0, three: 0 };
  for (let i = 0; i < n; i++) counts[pool.order("p", three.keys, rotation)[0]!.name]!++;
  return counts;
}

describe("key rotation", () => {
  test("round-robin: exact equal shares, every key still offered as a fallback", () => {
    const pool = new KeyPool();
    expect(firsts(pool, "round-robin", 300)).toEqual({ one: 100, two: 100, three: 100 });
    expect(pool.order("p", three.keys, "round-robin")).toHaveLength(3);
  });

  test("weighted: shares follow weights exactly (smooth weighted round-robin), interleaved", () => {
    const pool = new KeyPool();
    expect(firsts(pool, "weighted", 600)).toEqual({ one: 100, two: 200, three: 300 });
    const seq = Array.from({ length: 6 }, () => pool.order("p", three.keys, "weighted")[0]!.name);
    expect(seq.filter((n) => n === "three")).toHaveLength(3);
    expect(seq.join(",")).not.toContain("three,three,three");
  });

  test("random: uniform within 5% over 30 000 draws", () => {
    const counts = firsts(new KeyPool(), "random", 30_000);
    // One key's count has a standard deviation of ≈ 82 draws: 3% (3.7σ) failed about once in a
    // thousand CI runs of three keys; 5% (6σ) still catches any real bias (a skewed pick is off by far more).
    for (const n of Object.values(counts)) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  test("least-used: fewest in flight first, then fewest tokens in the last minute", () => {
    const pool = new KeyPool();
    const [one, two, three_] = three.keys;
    const l1 = pool.begin("p", one, 100);
    const l2 = pool.begin("p", two, 100);
    expect(pool.order("p", three.keys, "least-used")[0]).toBe(three_);
    l1.end(5000);
    l2.end(50);
    const l3 = pool.begin("p", three_, 100);
    // one and two are idle now; two has spent fewer tokens.
    expect(pool.order("p", three.keys, "least-used").map((k) => k.name)).toEqual(["two", "one", "three"]);
    l3.end(100);
    expect(pool.load("p", one!)).toEqual({ inFlight: 0, requests: 1, tokens: 5000 });
  });

  test("least-used with equal load takes turns", () => {
    const pool = new KeyPool();
    const counts: Record<string, number> = { one: 0, two: 0, three: 0 };
    for (let i = 0; i < 300; i++) {
      const k = pool.order("p", three.keys, "least-used")[0]!;
      counts[k.name]!++;
      pool.begin("p", k, 10).end(10);
    }
    expect(counts).toEqual({ one: 100, two: 100, three: 100 });
  });
});

describe("per-key rpm / tpm, counted before sending", () => {
  test("rpm: the key is refused once its minute is full, and free again a minute later", () => {
    let now = 5_000_000;
    const pool = new KeyPool({ now: () => now });
    const key = provider([{ key: "k", name: "k", rpm: 3 }]).keys[0]!;
    for (let i = 0; i < 3; i++) {
      expect(pool.admit("p", key, 10)).toBeUndefined();
      pool.begin("p", key, 10).end(10);
      now += 1000;
    }
    const refused = pool.admit("p", key, 10);
    expect(refused?.reason).toContain("rpm 3");
    expect(refused!.until).toBe(5_000_000 + 60_000);
    now = refused!.until;
    expect(pool.admit("p", key, 10)).toBeUndefined();
  });

  test("tpm: estimates count at once and are corrected by real usage", () => {
    let now = 9_000_000;
    const pool = new KeyPool({ now: () => now });
    const key = provider([{ key: "k", name: "k", tpm: 1000 }]).keys[0]!;
    const lease = pool.begin("p", key, 600);
    expect(pool.admit("p", key, 500)?.reason).toContain("tpm 1000");
    lease.end(300);
    expect(pool.admit("p", key, 500)).toBeUndefined();
    // A request larger than the whole budget still gets its chance on an empty window.
    now += 61_000;
    expect(pool.admit("p", key, 5000)).toBeUndefined();
  });
});
