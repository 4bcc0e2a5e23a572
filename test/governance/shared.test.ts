import { expect, test } from "bun:test";
import type { SharedAdmission, SharedAnswer, SharedLimits, SharedSettlement } from "../../src/cluster/types";
import type { ClientConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { Governance } from "../../src/governance/governance";
import type { ClientContext } from "../../src/governance/auth";
import type { RequestRow } from "../../src/store/schema";

// Governance over shared limits (cluster), with a scripted stand-in for Redis: the shared answer
// decides, its refusals read as one node's would, no answer falls back to this node's own state
// or (onRedisDown "reject") to a 503, a budget period missing in Redis is seeded from the shared
// spend once, and settlement tells the shared state what the request really used.

function setup(client: Omit<ClientConfig, "key">, mode: "local" | "reject" = "local") {
  const config = resolveConfig({
    providers: { oa: { type: "openai", keys: ["sk-test-0001"], models: ["m"], pricing: { m: { input: 1000, output: 0 } } } },
    clients: { c: { key: "client-key-1", ...client } },
    cluster: { redis: "redis://127.0.0.1:6379", onRedisDown: mode },
  });
  const admissions: SharedAdmission[] = [];
  const settlements: SharedSettlement[] = [];
  const seeds: [string, string, number][] = [];
  const answers: (Partial<SharedAnswer> | undefined)[] = [];
  const shared: SharedLimits = {
    up: true,
    async admit(a) {
      admissions.push(structuredClone(a));
      const next = answers.length ? answers.shift() : {};
      return next && { waitMs: 0, inFlight: 1, requests: 1, tokens: a.tokens, committedUsd: 0, second: 1_796_000_000, ...next };
    },
    settle: (s) => void settlements.push(s),
    async seedSpend(subject, period, usd) {
      seeds.push([subject, period, usd]);
      return true;
    },
  };
  const spendAsked: string[] = [];
  const now = Date.UTC(2026, 11, 7, 10, 0, 0);
  const gov = new Governance({
    config: () => config,
    spend: () => 0.25,
    sharedSpend: async (id, days) => (spendAsked.push(`${id} ${days.from}..${days.until}`), 0.5),
    shared,
    now: () => now,
  });
  const ctx: ClientContext = {
    requestId: "r1",
    protocol: "openai",
    endpoint: "/v1/chat/completions",
    headers: new Headers(),
    signal: new AbortController().signal,
    receivedAt: 0,
    receivedAtMs: now,
    client: config.clients.get("c"),
  };
  const candidates = [{ provider: config.providers.get("oa")!, model: "m" }];
  const admit = (tokens = 2) => gov.admission(ctx, { model: "oa/m", candidates, promptTokens: tokens });
  return { gov, ctx, admit, answers, admissions, settlements, seeds, spendAsked, now };
}

async function refusal(p: unknown): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

test("a client without limits never waits for the shared state", () => {
  const { admit, admissions } = setup({});
  expect(admit()).not.toBeInstanceOf(Promise);
  expect(admissions).toEqual([]);
});

test("the shared answer decides; its refusal reads as one node's, with the shared wait", async () => {
  const { admit, answers, admissions } = setup({ rpm: 5, concurrency: 3 });
  answers.push({ refused: "rpm", waitMs: 12_300, requests: 5 });
  const e = await refusal(admit());
  expect(e.status).toBe(429);
  expect(e.message).toBe('lmrelay: client "c" is over its limit of 5 requests per minute; retry in 13 s');
  expect(e.retryAfterMs).toBe(13_000);
  expect(e.headers?.["x-ratelimit-remaining-requests"]).toBe("0");
  expect(admissions[0]).toMatchObject({ subject: "client:c", rpm: 5, concurrency: 3, tokens: 2 });
  expect(admissions[0]!.lease).toStartWith("r1:");
  answers.push({ refused: "concurrency", inFlight: 3 });
  expect((await refusal(admit())).message).toStartWith('lmrelay: client "c" already has 3 requests in flight, its concurrency limit');
});

test("no answer: this node decides under onRedisDown local, a 503 under reject", async () => {
  const local = setup({ rpm: 1 });
  local.answers.push(undefined, undefined);
  await local.admit();
  expect((await refusal(local.admit())).message).toStartWith('lmrelay: client "c" is over its limit of 1 requests per minute');
  const strict = setup({ rpm: 1 }, "reject");
  strict.answers.push(undefined);
  const e = await refusal(strict.admit());
  expect(e.status).toBe(503);
  expect(e.message).toStartWith('lmrelay: the shared limits store (Redis) does not answer and client "c" has limits or a budget');
  expect(e.retryAfterMs).toBe(1000);
});

test("a budget period Redis lacks is seeded from every node's spend, then admitted; settlement reports the spend", async () => {
  const { gov, ctx, admit, answers, seeds, spendAsked, settlements, admissions } = setup({ budget: { usd: 1, per: "day" }, tpm: 1000 });
  answers.push({ refused: "seed" }, { committedUsd: 0.5 });
  const admitted = await admit(100);
  expect(admitted.candidates).toHaveLength(1);
  expect(spendAsked).toEqual(["c 2026-12-07..2026-12-08"]);
  expect(seeds).toEqual([["client:c", "day:2026-12-07", 0.5]]);
  // $1,000 per M input tokens: 100 tokens cost at least $0.1, reserved until the request settles.
  expect(admissions[1]!.budget).toEqual({ usd: 1, period: "day:2026-12-07", leastUsd: 0.1, free: false });
  const row: RequestRow = { ts: Date.UTC(2026, 11, 7, 10), requestId: "r1", protocol: "openai", endpoint: "/", client: "c", provider: "oa", model: "m", status: 200, latencyMs: 1, inputTokens: 3, outputTokens: 4 };
  gov.settle(ctx, row, []);
  expect(settlements).toEqual([
    {
      subject: "client:c",
      lease: admissions[1]!.lease,
      tpm: { second: 1_796_000_000, estimate: 100, tokens: 7 },
      costUsd: 0.003,
      periods: ["day:2026-12-07", "month:2026-12", "total"],
    },
  ]);
});

test("over budget in the shared state is the budget refusal", async () => {
  const { admit, answers, settlements } = setup({ budget: { usd: 1, per: "day" } });
  answers.push({ refused: "budget", committedUsd: 1.2 });
  const e = await refusal(admit());
  expect(e.status).toBe(429);
  expect(e.message).toStartWith('lmrelay: client "c" has reached its budget of $1 per day (spent $1.2000)');
  // Admitted by a stale reading but nothing fits: refused too, and the slot given back.
  answers.push({ committedUsd: 0.95 });
  expect((await refusal(admit(100))).message).toStartWith('lmrelay: client "c" has reached its budget of $1 per day (spent $0.9500)');
  expect(settlements).toHaveLength(1);
});
