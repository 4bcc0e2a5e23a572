import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import type { Fault } from "../fakes/common";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { chat, servedBy, withGateway } from "./support";

// Traffic splits through the real server: three providers where one fails and one rate-limits
// (200 requests, all served, split as the rules say), and each key rotation over 300 requests.

let pool: OpenAIFake;

beforeAll(async () => {
  pool = await startOpenAIFake({ keys: ["key-one", "key-two", "key-three"] });
});

afterAll(async () => {
  await pool.stop();
});

/** Fresh fakes per test, so no queued fault outlives its test. */
async function withFakes(fn: (f: { failing: OpenAIFake; limited: OpenAIFake; healthy: OpenAIFake }) => Promise<void>): Promise<void> {
  const [failing, limited, healthy] = await Promise.all([startOpenAIFake(), startOpenAIFake(), startOpenAIFake()]);
  try {
    await fn({ failing, limited, healthy });
  } finally {
    await Promise.all([failing.stop(), limited.stop(), healthy.stop()]);
  }
}

const M = "gpt-4o-mini";
const provider = (fake: OpenAIFake, extra: Record<string, unknown> = {}) => ({ type: "openai" as const, baseUrl: `${fake.url}/v1`, keys: ["sk-test"], models: [M], ...extra });
const chats = (fake: OpenAIFake) => fake.requests.filter((r) => r.path.endsWith("/chat/completions")).length;

/** Sends `n` requests, `parallel` at a time; returns who served each, in order. */
async function run(gw: Parameters<typeof chat>[0], model: string, n: number, parallel = 1): Promise<{ served: string[]; routes: string[] }> {
  const served: string[] = [];
  const routes: string[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => chat(gw, model)));
    for (const res of batch) {
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      served.push(servedBy(res)!);
      routes.push(res.headers.get("x-lmrelay-route")!);
    }
  }
  return { served, routes };
}

describe("three providers, one failing and one rate-limiting: 200 requests", () => {
  const server500: Fault = { kind: "status", status: 500, body: { error: { message: "internal error", type: "server_error" } } };
  const tooMany: Fault = { kind: "status", status: 429, body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }, headers: { "retry-after": "60" } };

  test("health strategy: the failing provider drops behind after its first failure, the limited one cools down, all succeed", () =>
    withFakes(async ({ failing, limited, healthy }) => {
      const config: LmrelayConfig = {
        providers: { failing: provider(failing), limited: provider(limited), healthy: provider(healthy) },
        routing: { strategy: "health", explainHeader: true },
        health: { probeIntervalMs: 0, failureThreshold: 3, cooldownMs: 60_000 },
      };
      failing.fail(...Array.from({ length: 200 }, () => server500));
      limited.fail(tooMany);
      await withGateway(config, async (gw) => {
        const { served, routes } = await run(gw, M, 200);
        expect(served.every((p) => p === "healthy")).toBe(true);
        expect(chats(failing)).toBe(1);
        expect(chats(limited)).toBe(1);
        expect(chats(healthy)).toBe(200);
        expect(routes[0]).toMatch(/^served=healthy\/gpt-4o-mini\[fp:\w+\]; failed=failing\/gpt-4o-mini\[fp:\w+\] 500 server_error,limited\/gpt-4o-mini\[fp:\w+\] 429 rate_limited$/);
        expect(routes[1]).toMatch(/^served=healthy\/gpt-4o-mini\[fp:\w+\]; skipped=limited\/gpt-4o-mini rate-limited \(429\) until /);
      });
    }));

  test("priority strategy: the preferred provider is tried until its circuit opens (failureThreshold), then skipped", () =>
    withFakes(async ({ failing, limited, healthy }) => {
      const config: LmrelayConfig = {
        providers: { failing: provider(failing, { priority: 10 }), limited: provider(limited, { priority: 5 }), healthy: provider(healthy) },
        routing: { strategy: "priority", explainHeader: true },
        health: { probeIntervalMs: 0, failureThreshold: 3, cooldownMs: 60_000 },
      };
      failing.fail(...Array.from({ length: 200 }, () => server500));
      limited.fail(tooMany);
      await withGateway(config, async (gw) => {
        const { served, routes } = await run(gw, M, 200);
        expect(served.every((p) => p === "healthy")).toBe(true);
        expect(chats(failing)).toBe(3);
        expect(chats(limited)).toBe(1);
        expect(chats(healthy)).toBe(200);
        expect(routes[2]).toContain("failed=failing/gpt-4o-mini");
        expect(routes[3]).toMatch(/skipped=.*failing\/gpt-4o-mini circuit open: 3 consecutive failures \(last 500\) until /);
      });
    }));
});

describe("key rotation over 300 requests, within ±10% of the target share", () => {
  const keys = [
    { key: "key-one", name: "one", weight: 1 },
    { key: "key-two", name: "two", weight: 2 },
    { key: "key-three", name: "three", weight: 3 },
  ];
  const byKey = (from: number) => {
    const counts = { one: 0, two: 0, three: 0 };
    for (const r of pool.requests.slice(from)) if (r.path.endsWith("/chat/completions")) counts[r.headers.authorization!.replace("Bearer key-", "") as keyof typeof counts]++;
    return counts;
  };

  test.each([
    ["round-robin", { one: 1 / 3, two: 1 / 3, three: 1 / 3 }, 0.1],
    ["least-used", { one: 1 / 3, two: 1 / 3, three: 1 / 3 }, 0.1],
    ["weighted", { one: 1 / 6, two: 2 / 6, three: 3 / 6 }, 0.1],
    // Random cannot promise ±10% of each share over 300 draws (σ ≈ 8%); it gets ±10% of the total.
    // The unit test checks it within 3% over 30 000 draws.
    ["random", { one: 1 / 3, two: 1 / 3, three: 1 / 3 }, 0.3],
  ] as const)("%s", async (rotation, shares, tolerance) => {
    const config: LmrelayConfig = {
      providers: { p: { type: "openai", baseUrl: `${pool.url}/v1`, keys, models: [M] } },
      routing: { keyRotation: rotation, explainHeader: true },
      health: { probeIntervalMs: 0 },
    };
    await withGateway(config, async (gw) => {
      const from = pool.requests.length;
      await run(gw, M, 300, 6);
      const counts = byKey(from);
      expect(counts.one + counts.two + counts.three).toBe(300);
      for (const k of ["one", "two", "three"] as const) {
        const target = 300 * shares[k];
        expect(Math.abs(counts[k] - target)).toBeLessThanOrEqual(target * tolerance);
      }
    });
  });
});
