import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import type { LmrelayConfig } from "../../src/config/define";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway } from "../helpers/gateway";

// Budgets and request limits at their exact boundaries, through the real server and the official
// SDK; spend persisted in the SQLite file survives a restart; keyless clients by network.

let upstream: OpenAIFake;
let dir: string;

beforeAll(async () => {
  upstream = await startOpenAIFake();
  // Every answer reports 10 input and 5 output tokens; at $1 per input token a request costs $10.
  upstream.reply({ text: "ok", usage: { input: 10, output: 5 } });
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-budget-"));
});

afterAll(async () => {
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config(budget: { usd: number; per: "day" | "month" | "total" }, extra: Partial<LmrelayConfig> = {}): LmrelayConfig {
  return {
    storage: { path: path.join(dir, "lmrelay.db") },
    providers: {
      oa: {
        type: "openai",
        baseUrl: `${upstream.url}/v1`,
        keys: ["sk-test"],
        models: ["gpt-4o-mini"],
        pricing: { "gpt-4o-mini": { input: 1_000_000, output: 0 } },
      },
    },
    clients: { spender: { key: "lmr-spender-key", budget }, counter: { key: "lmr-counter-key", rpm: 3 } },
    ...extra,
  };
}

const ask = (c: OpenAI) => c.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });

async function refusal(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal");
}

describe("budget", () => {
  test("exact at the boundary, refused with a clear 429, and still spent after a restart", async () => {
    let gw = await startGateway(config({ usd: 30, per: "day" }));
    let client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-spender-key", maxRetries: 0 });
    for (let i = 0; i < 3; i++) await ask(client);
    const e = await refusal(ask(client));
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.code).toBe("insufficient_quota");
    expect(e.error.message).toStartWith('lmrelay: client "spender" has reached its budget of $30 per day (spent $30.0000); it resets at ');
    expect(Number(e.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(e.headers.get("x-should-retry")).toBe("false");
    expect(upstream.requests.filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(3);
    await gw.stop();

    // A new process on the same file remembers the $30.
    gw = await startGateway(config({ usd: 30, per: "day" }));
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-spender-key", maxRetries: 0 });
    expect((await refusal(ask(client))).status).toBe(429);
    await gw.stop();

    // Raised to $40 (a total budget now): one more $10 request fits, then no more.
    gw = await startGateway(config({ usd: 40, per: "total" }));
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-spender-key", maxRetries: 0 });
    await ask(client);
    const total = await refusal(ask(client));
    expect(total.error.message).toContain("budget of $40 in total (spent $40.0000); it does not reset");
    const spend = await fetch(`${gw.url}/admin/api/spend`);
    expect(spend.status).toBe(404); // no admin key configured: no admin API
    await gw.stop();
  });
});

describe("rpm", () => {
  test("exactly rpm requests pass in a minute; the next is refused and reaches no upstream", async () => {
    const gw = await startGateway(config({ usd: 1000, per: "day" }));
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-counter-key", maxRetries: 0 });
    const before = upstream.requests.length;
    for (let i = 0; i < 3; i++) await ask(client);
    const e = await refusal(ask(client));
    expect(e.status).toBe(429);
    expect(upstream.requests.length - before).toBe(3);
    await gw.stop();
  });
});

describe("tpm", () => {
  test("estimated at admission, corrected by real usage; refused with x-ratelimit-*-tokens", async () => {
    // Each request is estimated at 5 input tokens and really uses 10 + 5 = 15.
    const gw = await startGateway({
      providers: { oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] } },
      clients: { tokens: { key: "lmr-tokens-key", tpm: 30 } },
    });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-tokens-key", maxRetries: 0 });
    const first = await client.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(first.response.headers.get("x-ratelimit-limit-tokens")).toBe("30");
    expect(first.response.headers.get("x-ratelimit-remaining-tokens")).toBe("25");
    await ask(client);
    // 30 used by real counts (estimates alone would say 10): the next is refused.
    const e = await refusal(ask(client));
    expect(e.status).toBe(429);
    expect(e.error.message).toContain("over its limit of 30 tokens per minute");
    expect(e.headers.get("x-ratelimit-remaining-tokens")).toBe("0");
    expect(Number(e.headers.get("retry-after"))).toBeGreaterThan(0);
    await gw.stop();
  });
});

describe("concurrency", () => {
  test("one request at a time: a second concurrent one is refused until the first ends", async () => {
    const gw = await startGateway({
      providers: { oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] } },
      clients: { single: { key: "lmr-single-key", concurrency: 1 } },
    });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-single-key", maxRetries: 0 });
    upstream.fail({ kind: "delay", ms: 300 });
    const slow = ask(client);
    await Bun.sleep(100);
    const e = await refusal(ask(client));
    expect(e.status).toBe(429);
    expect(e.error.message).toContain("concurrency limit");
    await slow;
    await ask(client);
    await gw.stop();
  });
});

describe("allowNoAuthFrom", () => {
  test("a keyless Ollama client on an allowed network is that client; elsewhere it needs a key", async () => {
    const base = {
      providers: { oa: { type: "openai" as const, baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] } },
    };
    let gw = await startGateway({ ...base, clients: { lan: { key: "lmr-lan-key", models: ["oa/*"], allowNoAuthFrom: ["10.0.0.0/8", "127.0.0.0/8", "::1/128"] } } });
    const reply = await new Ollama({ host: gw.url }).chat({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(reply.message.content).toBe("ok");
    // A wrong key is refused even from an allowed network.
    const wrong = await fetch(`${gw.url}/api/tags`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    gw.runtime.audit.flush();
    const rows = gw.runtime.db.$client.query("select client, status from requests order by id").all();
    expect(rows).toEqual([
      { client: "lan", status: 200 },
      { client: null, status: 401 },
    ]);
    await gw.stop();

    gw = await startGateway({ ...base, clients: { lan: { key: "lmr-lan-key", allowNoAuthFrom: ["10.0.0.0/8"] } } });
    const refused = await fetch(`${gw.url}/api/tags`);
    expect(refused.status).toBe(401);
    await gw.stop();
  });
});
