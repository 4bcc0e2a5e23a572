import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisLimits } from "../../src/cluster/limits";
import { RedisLink } from "../../src/cluster/link";
import type { SharedAdmission } from "../../src/cluster/types";
import { silentLogger } from "../../src/log/logger";
import { portOpen, randomName, SHARED_REDIS } from "./nodes";

// The admission and settlement scripts against the machine's Redis (a fresh key prefix, removed
// after), as two nodes would use them: tokens per minute with the estimate replaced by the real
// count, a budget seeded once and spent by settlements, a dead node's lease expiring, a renewed
// one living on.

const up = await portOpen(6379);
if (!up) console.warn("SKIPPED test/cluster/limits.test.ts: no Redis on 127.0.0.1:6379 (.ci/run starts one)");

const prefix = randomName("lmrelay-test-") + ":";
let link: RedisLink;
let a: RedisLimits;
let b: RedisLimits;

beforeAll(async () => {
  if (!up) return;
  link = new RedisLink({ url: SHARED_REDIS, log: silentLogger, callBoundMs: 2000 });
  await link.start();
  a = new RedisLimits(link, prefix, silentLogger, 300);
  b = new RedisLimits(link, prefix, silentLogger, 300);
});

afterAll(async () => {
  if (!up) return;
  const keys = (await link.call("KEYS", [`${prefix}*`])) as string[];
  if (keys.length) await link.call("DEL", keys);
  a.close();
  b.close();
  link.close();
});

const admission = (over: Partial<SharedAdmission>): SharedAdmission => ({ subject: "client:t", lease: crypto.randomUUID(), tokens: 0, ...over });

describe.skipIf(!up)("shared limits scripts", () => {
  test("tpm: estimates count until settled, then the real usage does", async () => {
    const first = await a.admit(admission({ subject: "client:tpm", tpm: 100, tokens: 60 }));
    expect(first).toMatchObject({ refused: undefined, tokens: 60 });
    const second = await b.admit(admission({ subject: "client:tpm", tpm: 100, tokens: 60 }));
    expect(second?.refused).toBe("tpm");
    expect(second!.waitMs).toBeGreaterThan(0);
    expect((await b.admit(admission({ subject: "client:tpm", tpm: 100, tokens: 101 })))?.refused).toBe("tpm_request");
    // The first request used 10 tokens, not 60: room for the second now.
    a.settle({ subject: "client:tpm", lease: "x", tpm: { second: first!.second, estimate: 60, tokens: 10 }, costUsd: 0, periods: [] });
    await Bun.sleep(50);
    expect(await b.admit(admission({ subject: "client:tpm", tpm: 100, tokens: 60 }))).toMatchObject({ refused: undefined, tokens: 70 });
  });

  test("budget: seeded once, reserved while running, spent at settlement", async () => {
    const budget = { usd: 1, period: "day:2026-12-07", leastUsd: 0.3, free: false };
    expect((await a.admit(admission({ subject: "client:bud", budget })))?.refused).toBe("seed");
    expect(await a.seedSpend("client:bud", "day:2026-12-07", 0.5)).toBe(true);
    await b.seedSpend("client:bud", "day:2026-12-07", 0.9); // a second seed does not overwrite
    const lease = crypto.randomUUID();
    expect(await a.admit(admission({ subject: "client:bud", lease, budget }))).toMatchObject({ refused: undefined, committedUsd: 0.5 });
    // 0.5 spent + 0.3 reserved: another 0.3 does not fit, a free candidate still does.
    expect((await b.admit(admission({ subject: "client:bud", budget })))?.refused).toBe("budget");
    expect((await b.admit(admission({ subject: "client:bud", budget: { ...budget, leastUsd: 0, free: true } })))?.refused).toBeUndefined();
    a.settle({ subject: "client:bud", lease, costUsd: 0.1, periods: ["day:2026-12-07", "month:2026-12", "total"] });
    await Bun.sleep(50);
    expect(await b.admit(admission({ subject: "client:bud", budget: { ...budget, leastUsd: 0.2 } }))).toMatchObject({ refused: undefined, committedUsd: 0.6 });
    expect(await link.call("GET", [`${prefix}{client:bud}:spent:month:2026-12`])).toBeNull(); // only seeded periods are kept
  });

  test("a lease not renewed (its node died) expires; a renewed one lives on", async () => {
    const dead = new RedisLimits(link, prefix, silentLogger, 300);
    dead.close(); // never renews
    expect((await dead.admit(admission({ subject: "client:conc", concurrency: 2 })))?.refused).toBeUndefined();
    expect((await a.admit(admission({ subject: "client:conc", concurrency: 2 })))?.refused).toBeUndefined();
    expect((await b.admit(admission({ subject: "client:conc", concurrency: 2 })))?.refused).toBe("concurrency");
    await Bun.sleep(700); // a renews every 100 ms; the dead node's lease ran out
    expect((await b.admit(admission({ subject: "client:conc", concurrency: 2 })))?.refused).toBeUndefined();
    expect((await b.admit(admission({ subject: "client:conc", concurrency: 2 })))?.refused).toBe("concurrency");
  });
});
