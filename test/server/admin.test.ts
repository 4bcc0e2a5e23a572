import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { fingerprint } from "../../src/core/secrets";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// The admin API and /metrics access: the admin key as Bearer or x-api-key, 401 without it, 404
// when no admin key is configured; providers and keys with health and cooldowns, clients with their
// limits in use, recent requests (filters, one request with its captured bodies), spend.

const ADMIN = "lmr-admin-test-key";
// gpt-4o-mini at the built-in $0.15 / $0.60 per million: 100 input and 20 output tokens.
const COST = (100 * 0.15 + 20 * 0.6) / 1_000_000;
let gw: TestGateway;
let upstream: OpenAIFake;
let openai: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIFake({ keys: ["sk-test", "sk-second"] });
  upstream.reply({ text: "hi there", usage: { input: 100, output: 20 } });
  gw = await startGateway({
    admin: { key: ADMIN },
    metrics: { auth: true },
    audit: { bodies: true, redact: ["content"] },
    providers: {
      oa: {
        type: "openai",
        baseUrl: `${upstream.url}/v1`,
        keys: [{ key: "sk-test", name: "main", rpm: 100 }, "sk-second"],
        models: ["gpt-4o-mini"],
        headers: { "x-custom-auth": "header-secret-value" },
      },
    },
    clients: { team: { key: "lmr-team-key", rpm: 50, budget: { usd: 5, per: "month" } } },
  });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-team-key", maxRetries: 0 });
  await openai.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "first" }] }, { headers: { "x-request-id": "adm-1" } });
  // The upstream rate-limits the next attempt: that key cools down, the other answers.
  upstream.fail({ kind: "status", status: 429, headers: { "retry-after": "30" } });
  await openai.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "second" }] }, { headers: { "x-request-id": "adm-2" } });
  await openai.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }).catch(() => {});
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
});

const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` }) => fetch(`${gw.url}${path}`, { headers });

describe("access", () => {
  test("401 without the admin key or with a client key; Bearer and x-api-key both work", async () => {
    for (const headers of [{}, { authorization: "Bearer lmr-team-key" }, { "x-api-key": "wrong" }] as Record<string, string>[]) {
      const res = await get("/admin/api/providers", headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { message: expect.stringMatching(/^lmrelay: the admin API needs the admin key/), type: "authentication_error", code: "invalid_api_key" } });
    }
    expect((await get("/admin/api/providers", { "x-api-key": ADMIN })).status).toBe(200);
    expect((await get("/admin/api/providers")).status).toBe(200);
  });

  test("/metrics behind the admin key when metrics.auth is set", async () => {
    expect((await get("/metrics", {})).status).toBe(401);
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain('lmrelay_requests_total{protocol="openai",client="team",provider="oa",model="gpt-4o-mini",status="200"} 2');
    expect(text).toContain('lmrelay_failovers_total{provider="oa",model="gpt-4o-mini",status="429"} 1');
    expect(text).toMatch(/^lmrelay_cooldowns\{provider="oa",kind="rate_limited"\} 1$/m);
    expect(text).toMatch(/^lmrelay_in_flight \d+$/m);
    expect(text).toMatch(/^lmrelay_audit_queue_depth \d+$/m);
    expect(text).toContain('lmrelay_audit_dropped_total{what="rows"} 0');
    expect(text).toContain(`lmrelay_client_budget_spent_usd{client="team",per="month"} ${2 * COST}`);
  });

  test("unknown admin paths are 404 in the same shape", async () => {
    const res = await get("/admin/api/nothing");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("not_found_error");
  });

  test("no admin key configured: the admin API does not exist; /metrics is open", async () => {
    const open = await startGateway({ providers: { echo: { type: "echo", models: ["echo-1"] } } });
    try {
      const res = await fetch(`${open.url}/admin/api/providers`, { headers: { authorization: "Bearer anything" } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("admin API is disabled");
      expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});

describe("views", () => {
  test("providers: catalog, header names only, keys by name and fingerprint with health and cooldowns", async () => {
    const body = (await (await get("/admin/api/providers")).json()) as { data: any[] };
    const oa = body.data.find((p) => p.id === "oa");
    expect(oa).toMatchObject({ type: "openai", models: ["gpt-4o-mini"], catalog: "configured", headers: ["x-custom-auth"] });
    expect(oa.keys.map((k: any) => [k.name, k.fingerprint])).toEqual([
      ["main", fingerprint("sk-test")],
      [fingerprint("sk-second"), fingerprint("sk-second")],
    ]);
    const cooled = oa.keys.flatMap((k: any) => Object.values(k.byModel)).filter((h: any) => h.cooldown);
    expect(cooled).toHaveLength(1);
    expect(cooled[0].cooldown).toMatchObject({ kind: "rate_limited", until: expect.any(String) });
    const text = JSON.stringify(body);
    expect(text).not.toContain("sk-test\"");
    expect(text).not.toContain("header-secret-value");
  });

  test("keys: a flat list", async () => {
    const body = (await (await get("/admin/api/keys")).json()) as { data: any[] };
    expect(body.data.map((k) => `${k.provider}/${k.name}`)).toEqual(["oa/main", `oa/${fingerprint("sk-second")}`]);
    expect(body.data[0]).toMatchObject({ rpm: 100 });
  });

  test("clients: limits and their use", async () => {
    const body = (await (await get("/admin/api/clients")).json()) as { data: any[] };
    expect(body.data).toEqual([
      {
        id: "team",
        fingerprint: fingerprint("lmr-team-key"),
        rpm: 50,
        budget: { usd: 5, per: "month" },
        allowNoAuthFrom: [],
        usage: {
          inFlight: 0,
          requestsLastMinute: 2,
          tokensLastMinute: 0,
          budget: { usd: 5, per: "month", spentUsd: 2 * COST, reservedUsd: 0, resetsAt: expect.stringMatching(/^\d{4}-\d{2}-01T00:00:00.000Z$/) },
        },
      },
    ]);
  });

  test("requests: newest first, filters, attempts; one request with its redacted bodies", async () => {
    const all = (await (await get("/admin/api/requests")).json()) as { data: any[] };
    expect(all.data.map((r) => r.status)).toEqual([404, 200, 200]);
    const second = all.data[1];
    expect(second).toMatchObject({ requestId: "adm-2", client: "team", provider: "oa", inputTokens: 100, outputTokens: 20, costUsd: COST, unpriced: false });
    expect(second.attempts.filter((a: any) => a.outcome !== "skipped").map((a: any) => a.status)).toEqual([429, 200]);
    const errors = (await (await get("/admin/api/requests?status=4xx&limit=5")).json()) as { data: any[] };
    expect(errors.data.map((r) => r.requestedModel)).toEqual(["nope"]);
    expect(((await (await get("/admin/api/requests?client=nobody")).json()) as { data: unknown[] }).data).toEqual([]);
    const bad = await get("/admin/api/requests?since=yesterday");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('since "yesterday"');

    // Bodies are written when the response body has been read through; give the writer a moment.
    await Bun.sleep(50);
    const one = (await (await get("/admin/api/requests/adm-1")).json()) as { data: any[]; bodies: any[] };
    expect(one.data).toHaveLength(1);
    expect(one.bodies).toHaveLength(1);
    expect(JSON.parse(one.bodies[0].request)).toMatchObject({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "[redacted]" }] });
    expect(JSON.parse(one.bodies[0].response).choices[0].message.content).toBe("[redacted]");
    expect((await get("/admin/api/requests/unknown-id")).status).toBe(404);
  });

  test("spend: windows by client, provider and model, with budgets", async () => {
    const day = (await (await get("/admin/api/spend")).json()) as any;
    expect(day).toMatchObject({ window: "day", totalUsd: 2 * COST, pricesAsOf: expect.any(String) });
    expect(day.byModel).toEqual([{ name: "oa/gpt-4o-mini", requests: 2, errors: 0, inputTokens: 200, outputTokens: 40, costUsd: 2 * COST }]);
    expect(day.byClient).toEqual([{ name: "team", requests: 3, errors: 1, inputTokens: 200, outputTokens: 40, costUsd: 2 * COST }]);
    expect(day.budgets).toEqual([{ client: "team", usd: 5, per: "month", spentUsd: 2 * COST, reservedUsd: 0, resetsAt: expect.any(String) }]);
    expect((await get("/admin/api/spend?window=total")).status).toBe(200);
    expect((await get("/admin/api/spend?window=week")).status).toBe(400);
  });
});
