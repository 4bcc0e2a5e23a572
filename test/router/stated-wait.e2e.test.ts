import { afterAll, beforeAll, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { CLIENTS, sdkClient } from "../helpers/sdk-clients";
import { withGateway } from "./support";

// A key back from a 429 whose wait the provider stated gets its full share of traffic as soon as
// the wait is over; ramp-up (10% → 100%) is only for recovery from failures, such as a backoff
// lmrelay chose itself. A two-key pool with round-robin rotation, driven by the three client SDKs.

let up: OpenAIFake;

beforeAll(async () => {
  up = await startOpenAIFake({ keys: ["sk-one", "sk-two"] });
});

afterAll(async () => {
  await up.stop();
});

const M = "gpt-4o-mini";
const config = (): LmrelayConfig => ({
  providers: { up: { type: "openai", baseUrl: `${up.url}/v1`, keys: [{ key: "sk-one", name: "one" }, { key: "sk-two", name: "two" }], models: [M] } },
  routing: { keyRotation: "round-robin" },
  health: { probeIntervalMs: 0, failureThreshold: 50, cooldownMs: 60_000 },
});

const tooMany = (headers: Record<string, string>) => ({
  kind: "status" as const,
  status: 429,
  body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } },
  headers,
});

/** Which key each upstream chat request since `from` carried. */
const keysSince = (from: number) => up.requests.slice(from).filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers.authorization);

test("Retry-After: when the wait is over, the key takes every other request again at once", async () => {
  await withGateway(config(), async (gw) => {
    const clients = CLIENTS.map((name) => sdkClient(name, gw.url));
    let from = up.requests.length;
    up.fail(tooMany({ "retry-after": "1" }));
    expect((await clients[0]!.chat({ model: `up/${M}`, stream: false })).headers.get("x-lmrelay-attempts")).toBe("2");
    const [limited, other] = keysSince(from);
    expect(limited).not.toBe(other);
    await Bun.sleep(1050);
    from = up.requests.length;
    for (let i = 0; i < 12; i++) await clients[i % 3]!.chat({ model: `up/${M}`, stream: i % 2 === 1 });
    const used = keysSince(from);
    expect(used).toHaveLength(12);
    // Round-robin's exact halves: no ramp-up held the returning key back.
    expect(used.filter((k) => k === limited)).toHaveLength(6);
    const resolved = resolveConfig(config()).providers.get("up")!;
    for (const key of resolved.keys) expect(gw.runtime.health.keyRamp("up", key, M)).toBe(1);
  });
});

test("a backoff without a stated wait still ramps the key back up", async () => {
  await withGateway(config(), async (gw) => {
    const from = up.requests.length;
    up.fail(tooMany({}));
    await sdkClient("anthropic", gw.url).chat({ model: `up/${M}`, stream: false });
    const limited = keysSince(from)[0];
    const key = resolveConfig(config()).providers.get("up")!.keys.find((k) => `Bearer ${k.secret}` === limited)!;
    // The first backoff step is 0.5–1 s.
    await Bun.sleep(1050);
    expect(gw.runtime.health.keyBlock("up", key, M)).toBeUndefined();
    const share = gw.runtime.health.keyRamp("up", key, M);
    expect(share).toBeGreaterThanOrEqual(0.1);
    expect(share).toBeLessThan(0.2);
  });
});
