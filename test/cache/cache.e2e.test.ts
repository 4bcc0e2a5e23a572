import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import type { LmrelayConfig } from "../../src/config/define";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { portOpen } from "../cluster/nodes";
import { startGateway, type TestGateway } from "../helpers/gateway";

// The exact response cache through the real server (SPEC §9): a repeated request is answered
// without an upstream call, in the caller's protocol (streams replayed as streams), whichever
// protocol filled it; the headers, the audit row and the client's limits say so.

const KEY_A = "lmr-cache-client-a-123456";
const KEY_B = "lmr-cache-client-b-123456";

let up: OpenAIFake;

beforeAll(async () => {
  up = await startOpenAIFake({ models: ["gpt-4o-mini"] });
  up.reply({ text: "the cached answer", usage: { input: 30, output: 5 } });
});

afterAll(() => up.stop());

function config(extra: Partial<LmrelayConfig> = {}): LmrelayConfig {
  return {
    providers: { up: { type: "openai", baseUrl: `${up.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"], pricing: { "gpt-4o-mini": { input: 1, output: 2 } } } },
    models: { fast: ["up/gpt-4o-mini"], nocache: { targets: ["up/gpt-4o-mini"], cache: false } },
    clients: { a: { key: KEY_A, rpm: 1000, tpm: 100_000 }, b: { key: KEY_B } },
    health: { probeIntervalMs: 0 },
    cache: { ttl: "1h" },
    ...extra,
  };
}

async function withCache<T>(cfg: LmrelayConfig, fn: (gw: TestGateway) => Promise<T>): Promise<T> {
  const gw = await startGateway(cfg);
  try {
    return await fn(gw);
  } finally {
    await gw.stop();
  }
}

const upstreamCalls = () => up.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
let n = 0;
/** A question no earlier test asked, so each test starts with an empty cache entry. */
const fresh = () => `question ${++n} ${Math.random()}`;

function auditRows(gw: TestGateway): { cache_hit: number; cost_usd: number; status: number; input_tokens: number }[] {
  gw.runtime.audit.flush();
  return gw.runtime.db.$client.query("SELECT cache_hit, cost_usd, status, input_tokens FROM requests ORDER BY id").all() as never;
}

async function openaiChat(gw: TestGateway, content: string, opts: { key?: string; headers?: Record<string, string>; temperature?: number; model?: string } = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${opts.key ?? KEY_A}`, ...opts.headers },
    body: JSON.stringify({ model: opts.model ?? "fast", messages: [{ role: "user", content }], max_tokens: 100, temperature: opts.temperature }),
  });
  return { res, body: (await res.json()) as any };
}

describe("hit and miss in each protocol", () => {
  test("OpenAI: the second identical request is a hit, answered without the upstream, cost 0 in the audit", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      const calls = upstreamCalls();
      const first = await openaiChat(gw, q);
      expect(first.res.headers.get("x-lmrelay-cache")).toBe("miss");
      const second = await openaiChat(gw, q);
      expect(second.res.status).toBe(200);
      expect(second.res.headers.get("x-lmrelay-cache")).toBe("hit");
      expect(second.res.headers.get("x-lmrelay-attempts")).toBe("0");
      expect(second.res.headers.get("x-lmrelay-provider")).toBe("up");
      expect(second.body.choices[0].message.content).toBe("the cached answer");
      expect(second.body.usage.prompt_tokens).toBe(30);
      expect(second.body.usage.prompt_tokens_details.cached_tokens).toBe(30);
      expect(upstreamCalls()).toBe(calls + 1);
      const rows = auditRows(gw);
      expect(rows.map((r) => r.cache_hit)).toEqual([0, 1]);
      expect(rows[0]!.cost_usd).toBeGreaterThan(0);
      expect(rows[1]!.cost_usd).toBe(0);
    });
  });

  test("OpenAI SDK stream: filled by a stream, replayed as a stream", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
      const calls = upstreamCalls();
      const read = async () => {
        const { data, response } = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: q }], max_tokens: 100, stream: true }).withResponse();
        let text = "";
        for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? "";
        return { text, cache: response.headers.get("x-lmrelay-cache") };
      };
      expect(await read()).toEqual({ text: "the cached answer", cache: "miss" });
      expect(await read()).toEqual({ text: "the cached answer", cache: "hit" });
      expect(upstreamCalls()).toBe(calls + 1);
    });
  });

  test("Anthropic SDK, stream and not; filled by an OpenAI request (another protocol)", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      const calls = upstreamCalls();
      await openaiChat(gw, q);
      const client = new Anthropic({ baseURL: gw.url, apiKey: KEY_A, maxRetries: 0 });
      const { data: msg, response } = await client.messages.create({ model: "fast", max_tokens: 100, messages: [{ role: "user", content: q }] }).withResponse();
      expect(response.headers.get("x-lmrelay-cache")).toBe("hit");
      expect(msg.content[0]).toMatchObject({ type: "text", text: "the cached answer" });
      expect(msg.usage.cache_read_input_tokens).toBe(30);
      const streamed = await client.messages.stream({ model: "fast", max_tokens: 100, messages: [{ role: "user", content: q }] }).finalMessage();
      expect(streamed.content[0]).toMatchObject({ type: "text", text: "the cached answer" });
      expect(upstreamCalls()).toBe(calls + 1);
    });
  });

  test("Ollama client, stream and not", async () => {
    await withCache(config({ clients: undefined }), async (gw) => {
      const q = fresh();
      const calls = upstreamCalls();
      const ollama = new Ollama({ host: gw.url });
      const first = await ollama.chat({ model: "fast", messages: [{ role: "user", content: q }], options: { num_predict: 100 } });
      expect(first.message.content).toBe("the cached answer");
      const again = await ollama.chat({ model: "fast", messages: [{ role: "user", content: q }], options: { num_predict: 100 } });
      expect(again.message.content).toBe("the cached answer");
      let streamed = "";
      for await (const part of await ollama.chat({ model: "fast", messages: [{ role: "user", content: q }], options: { num_predict: 100 }, stream: true })) streamed += part.message.content;
      expect(streamed).toBe("the cached answer");
      expect(upstreamCalls()).toBe(calls + 1);
    });
  });
});

describe("what is cached, for whom, and for how long", () => {
  test("per client key unless shared", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      const calls = upstreamCalls();
      await openaiChat(gw, q, { key: KEY_A });
      const other = await openaiChat(gw, q, { key: KEY_B });
      expect(other.res.headers.get("x-lmrelay-cache")).toBe("miss");
      expect(upstreamCalls()).toBe(calls + 2);
    });
    await withCache(config({ cache: { ttl: "1h", shared: true } }), async (gw) => {
      const q = fresh();
      await openaiChat(gw, q, { key: KEY_A });
      expect((await openaiChat(gw, q, { key: KEY_B })).res.headers.get("x-lmrelay-cache")).toBe("hit");
    });
  });

  test("bypass skips the cache; temperature above 0 is cached only with force; a cache: false alias never", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      await openaiChat(gw, q);
      const bypassed = await openaiChat(gw, q, { headers: { "x-lmrelay-cache": "bypass" } });
      expect(bypassed.res.headers.get("x-lmrelay-cache")).toBe("bypass");

      const warm = fresh();
      const calls = upstreamCalls();
      const t1 = await openaiChat(gw, warm, { temperature: 0.7 });
      expect(t1.res.headers.get("x-lmrelay-cache")).toBeNull();
      await openaiChat(gw, warm, { temperature: 0.7 });
      expect(upstreamCalls()).toBe(calls + 2);
      expect((await openaiChat(gw, warm, { temperature: 0.7, headers: { "x-lmrelay-cache": "force" } })).res.headers.get("x-lmrelay-cache")).toBe("miss");
      expect((await openaiChat(gw, warm, { temperature: 0.7, headers: { "x-lmrelay-cache": "force" } })).res.headers.get("x-lmrelay-cache")).toBe("hit");

      const zero = fresh();
      await openaiChat(gw, zero, { temperature: 0 });
      expect((await openaiChat(gw, zero, { temperature: 0 })).res.headers.get("x-lmrelay-cache")).toBe("hit");

      const excluded = fresh();
      await openaiChat(gw, excluded, { model: "nocache" });
      const again = await openaiChat(gw, excluded, { model: "nocache" });
      expect(again.res.headers.get("x-lmrelay-cache")).toBeNull();
    });
  });

  test("an entry expires with its TTL", async () => {
    await withCache(config({ cache: { ttl: "300ms" } }), async (gw) => {
      const q = fresh();
      await openaiChat(gw, q);
      expect((await openaiChat(gw, q)).res.headers.get("x-lmrelay-cache")).toBe("hit");
      await Bun.sleep(400);
      expect((await openaiChat(gw, q)).res.headers.get("x-lmrelay-cache")).toBe("miss");
    });
  });

  test("a hit counts toward rpm but uses no tokens of tpm", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      await openaiChat(gw, q);
      const client = gw.runtime.config.clients.get("a")!;
      const before = gw.runtime.governance.usage(client);
      await openaiChat(gw, q);
      const after = gw.runtime.governance.usage(client);
      expect(after.requestsLastMinute).toBe(before.requestsLastMinute + 1);
      expect(after.tokensLastMinute).toBe(before.tokensLastMinute);
    });
  });

  test("an upstream error is never cached", async () => {
    await withCache(config(), async (gw) => {
      const q = fresh();
      up.fail({ kind: "status", status: 400, body: { error: { message: "bad", type: "invalid_request_error" } } });
      expect((await openaiChat(gw, q)).res.status).toBe(400);
      const ok = await openaiChat(gw, q);
      expect(ok.res.status).toBe(200);
      expect(ok.res.headers.get("x-lmrelay-cache")).toBe("miss");
    });
  });

  test("store: db keeps answers across a restart", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-cache-"));
    try {
      const cfg = config({ cache: { ttl: "1h", store: "db" }, storage: { path: path.join(dir, "cache.db") } });
      const q = fresh();
      await withCache(cfg, async (gw) => void (await openaiChat(gw, q)));
      await withCache(cfg, async (gw) => {
        expect((await openaiChat(gw, q)).res.headers.get("x-lmrelay-cache")).toBe("hit");
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bad ttl is a config error naming the field", async () => {
    await expect(startGateway(config({ clients: { a: { key: KEY_A, cache: { ttl: "soon" } } } }))).rejects.toThrow(/clients\.a\.cache\.ttl/);
  });
});

const redisUp = await portOpen(6379);
if (!redisUp) console.warn("cache.e2e: no Redis on 127.0.0.1:6379; the two-node cache test is skipped");

describe.skipIf(!redisUp)("with cluster.redis (Redis on 127.0.0.1:6379)", () => {
  test("an answer stored by one node is a hit on another", async () => {
    const keyPrefix = `lmrelay-test-${crypto.randomUUID().slice(0, 8)}:`;
    // A short TTL: the test leaves nothing behind in the shared Redis for long.
    const cfg = config({ cache: { ttl: "5s" }, cluster: { redis: "redis://127.0.0.1:6379", keyPrefix, node: "one" } });
    const [one, two] = [await startGateway(cfg), await startGateway({ ...cfg, cluster: { ...cfg.cluster!, node: "two" } })];
    try {
      const q = fresh();
      const calls = upstreamCalls();
      expect((await openaiChat(one, q)).res.headers.get("x-lmrelay-cache")).toBe("miss");
      // The store is written as the answer ends; give Redis its round trip.
      let hit: string | null = null;
      for (let i = 0; i < 20 && hit !== "hit"; i++) {
        if (i > 0) await Bun.sleep(25);
        hit = (await openaiChat(two, q)).res.headers.get("x-lmrelay-cache");
      }
      expect(hit).toBe("hit");
      expect(upstreamCalls()).toBeLessThanOrEqual(calls + 2);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });
});
