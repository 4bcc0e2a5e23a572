import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { ask, type Cluster, portOpen, randomName, SHARED_REDIS, startCluster } from "./nodes";

// Three lmrelay processes sharing one Redis (SPEC §8) behave as one node: a client's rpm,
// concurrency and budget hold in total, and a cooldown or a key disabled by a 401 learned on one
// node is honoured by the others within a second. Each run uses its own key prefix, removed after.

const redisUp = await portOpen(6379);
if (!redisUp) console.warn("SKIPPED test/cluster/limits.e2e.test.ts: no Redis on 127.0.0.1:6379 (.ci/run starts one)");

let fake: OpenAIFake;
let fake2: OpenAIFake;
let cluster: Cluster;
const prefix = randomName("lmrelay-test-") + ":";

beforeAll(async () => {
  if (!redisUp) return;
  fake = await startOpenAIFake({ keys: ["sk-one-0000000001", "sk-two-0000000002"], models: ["m"] });
  fake.reply({ text: "ok", usage: { input: 10, output: 10 } });
  fake2 = await startOpenAIFake({ keys: ["sk-three-000000003", "sk-four-0000000004"], models: ["m2", "m3"] });
  cluster = await startCluster(
    3,
    `{
  storage: { path: env("LMRELAY_SPOOL") },
  // A generous bound: exactness is what this file tests (the bound itself: faults.e2e.test.ts).
  cluster: { redis: "${SHARED_REDIS}", node: env("LMRELAY_NODE"), keyPrefix: "${prefix}", timeoutMs: 2000 },
  providers: {
    up: {
      type: "openai-compatible", baseUrl: "${fake.url}/v1", models: ["m"],
      keys: ["sk-one-0000000001", "sk-two-0000000002"],
      pricing: { m: { input: 100, output: 100 } },
    },
    other: { type: "openai-compatible", baseUrl: "${fake2.url}/v1", models: ["m2"], keys: ["sk-three-000000003", "sk-four-0000000004"] },
    capped: { type: "openai-compatible", baseUrl: "${fake2.url}/v1", models: ["m3"], keys: [{ key: "sk-three-000000003", name: "capped", rpm: 3 }] },
  },
  clients: {
    paced: { key: "client-paced-key-1", rpm: 6 },
    narrow: { key: "client-narrow-key-1", concurrency: 2 },
    thrifty: { key: "client-thrifty-key-1", budget: { usd: 0.003, per: "day" } },
    plain: { key: "client-plain-key-01" },
  },
  health: { probeIntervalMs: 0 },
}`,
  );
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await fake?.stop();
  await fake2?.stop();
  if (redisUp) {
    const r = new RedisClient(SHARED_REDIS);
    const keys = (await r.send("KEYS", [`${prefix}*`])) as string[];
    if (keys.length) await r.send("DEL", keys);
    r.close();
  }
}, 30_000);

const urls = () => cluster.nodes.map((n) => n.url);

describe.skipIf(!redisUp)("three nodes over one Redis", () => {
  test("a client's rpm holds in total across nodes, under concurrent load", async () => {
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => ask(urls()[i % 3]!, "client-paced-key-1")));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.error.message).toStartWith('lmrelay: client "paced" is over its limit of 6 requests per minute');
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("concurrency holds across nodes: two in flight in total, a third waits for one to finish", async () => {
    fake.reply({ text: "slow", usage: { input: 10, output: 10 }, chunkDelayMs: 0 });
    // Exactly two requests reach the upstream; each is held there long enough for the rest to arrive.
    fake.fail({ kind: "delay", ms: 700 }, { kind: "delay", ms: 700 });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => ask(urls()[i % 3]!, "client-narrow-key-1")));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    expect(answers.find((a) => a.status === 429)!.body.error.message).toContain('client "narrow" already has 2 requests in flight');
    const after = await ask(urls()[2]!, "client-narrow-key-1");
    expect(after.status).toBe(200);
  });

  test("a budget is spent once: requests on any node draw from the same spend", async () => {
    fake.reply({ text: "ok", usage: { input: 10, output: 10 } });
    // Each request costs 20 tokens × $100/M = $0.002; $0.003 admits two, whichever nodes serve them.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const a = await ask(urls()[i % 3]!, "client-thrifty-key-1");
      statuses.push(a.status);
      if (a.status === 429) expect(a.body.error.message).toContain('client "thrifty" has reached its budget of $0.003 per day');
      // Settlement is sent after the answer: give it a moment to land before the next admission.
      await Bun.sleep(30);
    }
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
  });

  test("a 429 cooldown learned on one node keeps the others off that key within a second", async () => {
    fake.fail({ kind: "status", status: 429, headers: { "retry-after": "30" }, body: { error: { message: "slow down", type: "rate_limit_error" } } });
    const first = await ask(urls()[0]!, "client-plain-key-01");
    expect(first.status).toBe(200);
    const cooled = fake.requests.at(-2)!.headers.authorization!;
    const served = fake.requests.at(-1)!.headers.authorization!;
    expect(cooled).not.toBe(served);
    await Bun.sleep(300);
    const before = fake.requests.length;
    for (const url of [urls()[1]!, urls()[2]!, urls()[1]!, urls()[2]!]) expect((await ask(url, "client-plain-key-01")).status).toBe(200);
    const sent = fake.requests.slice(before).map((r) => r.headers.authorization);
    expect(sent).toEqual([served, served, served, served]);
  });

  test("a key disabled by a 401 on one node is not tried by the others", async () => {
    fake2.fail({ kind: "status", status: 401, body: { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } } });
    const r = await ask(urls()[2]!, "client-plain-key-01", "m2");
    expect(r.status).toBe(200);
    const disabled = fake2.requests.at(-2)!.headers.authorization!;
    const good = fake2.requests.at(-1)!.headers.authorization!;
    expect(disabled).not.toBe(good);
    await Bun.sleep(300);
    const before = fake2.requests.length;
    for (const url of [urls()[0]!, urls()[1]!, urls()[0]!, urls()[1]!]) expect((await ask(url, "client-plain-key-01", "m2")).status).toBe(200);
    expect(fake2.requests.slice(before).map((x) => x.headers.authorization)).toEqual([good, good, good, good]);
  });

  test("an upstream key's own rpm holds across nodes", async () => {
    const before = fake2.requests.length;
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => ask(urls()[i % 3]!, "client-plain-key-01", "m3")));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(fake2.requests.length - before).toBe(3);
    const refused = answers.find((a) => a.status !== 200)!;
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toContain("capped/m3[capped]: skipped, key rpm 3 reached across nodes until");
  });
});
