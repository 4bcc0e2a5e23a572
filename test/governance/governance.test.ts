import { describe, expect, test } from "bun:test";
import type { ClientConfig } from "../../src/config/define";
import { resolveConfig, type ResolvedConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { periodEnd } from "../../src/governance/budget";
import { Governance } from "../../src/governance/governance";
import type { ClientContext } from "../../src/governance/auth";
import type { RequestRow } from "../../src/store/schema";

// Admission and settlement without HTTP: a fake clock, a fake persisted spend.

function setup(client: Omit<ClientConfig, "key">, persisted = 0) {
  const config: ResolvedConfig = resolveConfig({
    providers: { oa: { type: "openai", keys: ["sk-test-0001"], models: ["m"], pricing: { m: { input: 1_000_000, output: 0 } } } },
    clients: { c: { key: "client-key-1", ...client } },
  });
  let now = Date.UTC(2025, 10, 1, 10, 0, 0);
  const loads: string[] = [];
  const observed: RequestRow[] = [];
  const gov = new Governance({
    config: () => config,
    spend: (id, days) => {
      loads.push(`${id} ${days.from ?? "-"}..${days.until ?? "-"}`);
      return persisted;
    },
    observe: (row) => observed.push(row),
    now: () => now,
  });
  const candidates = [{ provider: config.providers.get("oa")!, model: "m" }];
  const ctx = (protocol: ClientContext["protocol"] = "openai"): ClientContext => ({
    requestId: "r",
    protocol,
    endpoint: "/v1/chat/completions",
    headers: new Headers(),
    signal: new AbortController().signal,
    receivedAt: 0,
    receivedAtMs: now,
    client: config.clients.get("c"),
  });
  const admit = (c: ClientContext, promptTokens = 1) => gov.admit(c, { model: "oa/m", candidates, promptTokens });
  const settle = (c: ClientContext, input = 10, output = 0) => {
    const row: RequestRow = { ts: now, requestId: "r", protocol: c.protocol, endpoint: "/", client: "c", provider: "oa", model: "m", status: 200, latencyMs: 1, inputTokens: input, outputTokens: output };
    gov.settle(c, row, []);
    return row;
  };
  return { gov, config, admit, settle, ctx, loads, observed, tick: (ms: number) => (now += ms), now: () => now };
}

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("rpm", () => {
  test("exactly rpm requests a minute; the next one is 429 with Retry-After and rate-limit headers", () => {
    const t = setup({ rpm: 3 });
    for (let i = 0; i < 3; i++) {
      const c = t.ctx();
      expect(t.admit(c).headers["x-ratelimit-remaining-requests"]).toBe(String(2 - i));
      t.settle(c);
      t.tick(1000);
    }
    const err = refusal(() => t.admit(t.ctx()));
    expect(err.status).toBe(429);
    expect(err.message).toBe('lmrelay: client "c" is over its limit of 3 requests per minute; retry in 57 s');
    expect(err.retryAfterMs).toBe(57_000);
    expect(err.headers).toMatchObject({ "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0" });
    const anthropic = refusal(() => t.admit(t.ctx("anthropic")));
    expect(anthropic.headers?.["anthropic-ratelimit-requests-remaining"]).toBe("0");
    // A refused request does not use up the window: once the first leaves, one more fits.
    t.tick(57_000);
    expect(() => t.admit(t.ctx())).not.toThrow();
    expect(() => t.admit(t.ctx())).toThrow();
  });
});

describe("concurrency", () => {
  test("held until the request settles", () => {
    const t = setup({ concurrency: 2 });
    const a = t.ctx();
    const b = t.ctx();
    t.admit(a);
    t.admit(b);
    const err = refusal(() => t.admit(t.ctx()));
    expect(err.status).toBe(429);
    expect(err.message).toContain("2 requests in flight");
    expect(err.retryAfterMs).toBe(1000);
    t.settle(a);
    expect(() => t.admit(t.ctx())).not.toThrow();
    expect(t.gov.usage(t.config.clients.get("c")!).inFlight).toBe(2);
  });
});

describe("tpm", () => {
  test("the estimate counts at admission and is replaced by real usage", () => {
    const t = setup({ tpm: 1000 });
    const a = t.ctx();
    t.admit(a, 600);
    expect(refusal(() => t.admit(t.ctx(), 500)).message).toContain("1000 tokens per minute");
    // It really used 100 in and 50 out: 150 counted, so 800 more fit.
    t.settle(a, 100, 50);
    expect(t.gov.usage(t.config.clients.get("c")!).tokensLastMinute).toBe(150);
    expect(() => t.admit(t.ctx(), 800)).not.toThrow();
  });
  test("a request larger than the whole limit is refused with a clear message", () => {
    const t = setup({ tpm: 100 });
    expect(refusal(() => t.admit(t.ctx(), 101)).message).toContain("needs about 101 tokens, more than the 100 tokens per minute");
  });
});

describe("budget", () => {
  test("exact at the boundary: refused once spend reaches the budget", () => {
    // Each request costs $10 (10 input tokens at $1 per token); the budget is $30.
    const t = setup({ budget: { usd: 30, per: "day" } });
    for (let i = 0; i < 3; i++) {
      const c = t.ctx();
      t.admit(c);
      expect(t.settle(c).costUsd).toBe(10);
    }
    const err = refusal(() => t.admit(t.ctx()));
    expect(err.status).toBe(429);
    expect(err.code).toBe("insufficient_quota");
    expect(err.message).toContain('client "c" has reached its budget of $30 per day (spent $30.0000)');
    expect(err.headers?.["x-should-retry"]).toBe("false");
    expect(err.retryAfterMs).toBe(periodEnd("day", t.now())! - t.now());
  });

  test("a request whose least cost would pass the budget is refused; running requests reserve theirs", () => {
    const t = setup({ budget: { usd: 25, per: "total" } });
    const a = t.ctx();
    t.admit(a, 10); // reserves $10
    const b = t.ctx();
    t.admit(b, 10); // $20 reserved
    expect(refusal(() => t.admit(t.ctx(), 10)).status).toBe(429);
    t.settle(a, 1); // really cost $1: $11 committed
    expect(() => t.admit(t.ctx(), 10)).not.toThrow();
  });

  test("persisted spend is loaded once per period, and a new day starts from what the store says", () => {
    const t = setup({ budget: { usd: 100, per: "day" } }, 95);
    expect(refusal(() => t.admit(t.ctx(), 10)).status).toBe(429);
    expect(() => t.admit(t.ctx(), 5)).not.toThrow();
    expect(t.loads).toEqual(["c 2025-11-01..2025-11-02"]);
    t.tick(86_400_000);
    expect(() => t.admit(t.ctx(), 4)).toThrow(); // the store still says 95 (a fake), and it was asked again
    expect(t.loads).toEqual(["c 2025-11-01..2025-11-02", "c 2025-11-02..2025-11-03"]);
  });

  test("month periods span the calendar month", () => {
    const t = setup({ budget: { usd: 100, per: "month" } });
    t.admit(t.ctx());
    expect(t.loads).toEqual(["c 2025-11-01..2025-12-01"]);
  });
});

describe("budget and free candidates", () => {
  test("a client over its budget may still use free candidates; priced ones are dropped", () => {
    const config = resolveConfig({
      providers: {
        paid: { type: "openai", keys: ["sk-test-0001"], models: ["m"], pricing: { m: { input: 1_000_000, output: 0 } } },
        local: { type: "ollama", models: ["llama3.2:latest"] },
      },
      clients: { c: { key: "client-key-1", budget: { usd: 10, per: "total" } } },
    });
    const gov = new Governance({ config: () => config, spend: () => 10 });
    const paid = { provider: config.providers.get("paid")!, model: "m" };
    const free = { provider: config.providers.get("local")!, model: "llama3.2:latest" };
    const ctx = { requestId: "r", protocol: "openai", endpoint: "/", headers: new Headers(), signal: new AbortController().signal, receivedAt: 0, receivedAtMs: 0, client: config.clients.get("c") } as ClientContext;
    expect(gov.admit(ctx, { model: "alias", candidates: [paid, free], promptTokens: 1 }).candidates).toEqual([free]);
    expect(refusal(() => gov.admit({ ...ctx }, { model: "paid/m", candidates: [paid], promptTokens: 1 })).status).toBe(429);
  });
});

describe("settle", () => {
  test("prices the row, flags unknown models, and hands the row to the observer", () => {
    const t = setup({});
    const c = t.ctx();
    t.admit(c);
    const row = t.settle(c, 3, 0);
    expect(row.costUsd).toBe(3);
    expect(row.unpriced).toBe(false);
    expect(t.observed).toEqual([row]);
    const unknown: RequestRow = { ts: 0, requestId: "x", protocol: "openai", endpoint: "/", provider: "oa", model: "other", status: 200, latencyMs: 1, inputTokens: 5, outputTokens: 5 };
    t.gov.settle(t.ctx(), unknown, []);
    expect(unknown.costUsd).toBe(0);
    expect(unknown.unpriced).toBe(true);
  });
});
