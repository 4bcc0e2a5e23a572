import { describe, expect, test } from "bun:test";
import { type ErrorKind, GatewayError } from "../../src/core/errors";
import { silentLogger } from "../../src/log/logger";
import { type AttemptRecord, explainHeaders, routeHeader } from "../../src/router/explain";
import { ERROR_POLICY, exhaustedError, policyFor } from "../../src/router/failover";
import type { PlannedCandidate } from "../../src/router/plan";
import { applyUserRoute, routeFailures, routeRequestOf } from "../../src/router/userroute";

// The error-class policy table, the explanation formats, and the guard around the user's route().

const e = (kind: ErrorKind, status: number, code?: string) => new GatewayError(kind, `p: ${kind}`, { status, code });

describe("error-class policy", () => {
  test.each([
    [e("rate_limited", 429), "rate_limited", "rotate", "rate_limited"],
    [e("rate_limited", 429, "insufficient_quota"), "quota_exhausted", "rotate", "quota"],
    [e("rate_limited", 402, "insufficient_quota"), "quota_exhausted", "rotate", "quota"],
    [e("authentication", 401), "auth", "rotate", "auth"],
    [e("permission", 403), "auth", "rotate", "auth"],
    [e("authentication", 400, "API_KEY_INVALID"), "auth", "rotate", "auth"],
    [e("overloaded", 529), "overloaded", "failover", "failure"],
    [e("overloaded", 503), "overloaded", "failover", "failure"],
    [e("upstream_error", 500), "server_error", "failover", "failure"],
    [e("upstream_error", 502, "connection_error"), "connection", "failover", "failure"],
    [e("timeout", 504), "timeout", "failover", "failure"],
    [e("timeout", 408), "conflict", "retry", "none"],
    [e("invalid_request", 409), "conflict", "retry", "none"],
    [e("context_length", 400, "context_length_exceeded"), "context_length", "larger", "reachable"],
    [e("content_filter", 400), "content_policy", "fail", "reachable"],
    [e("invalid_request", 400), "client_error", "fail", "reachable"],
    [e("not_found", 404), "client_error", "fail", "reachable"],
    [e("internal", 500), "lmrelay_bug", "failover", "none"],
  ])("%s → %s", (err, cls, action, health) => expect(policyFor(err)).toEqual({ cls, action, health } as never));

  test("the table covers every class", () => expect(Object.keys(ERROR_POLICY)).toHaveLength(13));

  test("routing.contentPolicyFailover lets a refusal fail over; nothing else changes", () => {
    expect(policyFor(e("content_filter", 400), true)).toEqual({ cls: "content_policy", action: "failover", health: "reachable" });
    expect(policyFor(e("invalid_request", 400), true).action).toBe("fail");
  });
});

const rec = (r: Partial<AttemptRecord>): AttemptRecord => ({ outcome: "failed", provider: "p", model: "m", status: 500, ...r });

describe("explanations", () => {
  test("x-lmrelay-route lists served, failed with what, skipped and why", () => {
    const records = [
      rec({ outcome: "skipped", provider: "c", status: 0, reason: "rate-limited (429)", until: Date.parse("2025-06-01T12:00:03Z") }),
      rec({ provider: "a", key: "team", status: 503, reason: "overloaded" }),
      rec({ outcome: "served", provider: "b", status: 200 }),
    ];
    expect(routeHeader(records)).toBe("served=b/m; failed=a/m[team] 503 overloaded; skipped=c/m rate-limited (429) until 2025-06-01T12:00:03.000Z");
    expect(explainHeaders(records)["x-lmrelay-attempts"]).toBe("2");
  });

  test("header values stay printable ASCII and bounded", () => {
    const v = routeHeader([rec({ model: "modèle,étrange;x" }), ...Array.from({ length: 200 }, (_, i) => rec({ provider: `p${i}`, error: "x" }))]);
    expect(v).toMatch(/^[\x20-\x7e]+$/);
    expect(v.length).toBeLessThanOrEqual(1500);
    expect(v).toContain("mod?le ?trange x");
  });

  test("exhausted: 503 with Retry-After when everything is only cooling down; 429 when every attempt was; else 502; 504 on the deadline", () => {
    const now = 1_000_000;
    const cooling = exhaustedError([rec({ outcome: "skipped", status: 0, reason: "rate-limited", until: now + 4000 }), rec({ outcome: "skipped", provider: "q", status: 0, reason: "rate-limited", until: now + 9000 })], undefined, false, now);
    expect(cooling).toMatchObject({ kind: "unavailable", status: 503, retryAfterMs: 4000 });
    expect(cooling.message).toStartWith("lmrelay: no upstream could be tried for this request: p/m: skipped, rate-limited until");
    const limited = exhaustedError([rec({ status: 429 }), rec({ status: 429, provider: "q" })], e("rate_limited", 429), false);
    expect(limited).toMatchObject({ status: 429 });
    const mixed = exhaustedError([rec({ status: 429 }), rec({ status: 500, provider: "q", error: "q: boom" })], undefined, false);
    expect(mixed).toMatchObject({ status: 502 });
    expect(mixed.message).toContain("q/m: 500 q: boom");
    expect(exhaustedError([rec({})], undefined, true)).toMatchObject({ status: 504 });
  });
});

describe("routing.route() guard", () => {
  const planned = ["a", "b", "c"].map(
    (id, index) =>
      ({
        provider: { id, type: "openai", priority: 0 },
        model: "m",
        index,
        free: id === "c",
        health: { score: 1, errorRate: 0, coolingDown: false, samples: 0 },
        cost: { input: 1, output: 2, estimateUsd: 0.01, known: true },
        ramp: 1,
      }) as unknown as PlannedCandidate,
  );
  const req = routeRequestOf(
    { model: "x", system: [], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: false },
    { protocol: "openai", client: "webapp", headers: new Headers({ authorization: "Bearer secret", "x-team": "blue" }), promptTokens: 3 },
  );
  const run = (route: Parameters<typeof applyUserRoute>[0], timeoutMs?: number) => applyUserRoute(route, req, planned, silentLogger, "req_1", timeoutMs);

  test("sees the request summary without credentials", () => {
    expect(req).toMatchObject({ model: "x", client: "webapp", protocol: "openai", stream: false, tools: false, images: false, promptTokens: 3 });
    expect(req.headers).toEqual({ "x-team": "blue" });
  });

  test("filters and reorders; unknown entries are ignored", async () => {
    const r = await run((_q, cands) => [cands[2]!, { provider: "a", model: "m" } as never, { provider: "zzz", model: "m" } as never]);
    expect(r.candidates.map((c) => c.provider.id)).toEqual(["c", "a"]);
    expect(r.dropped.map((c) => c.provider.id)).toEqual(["b"]);
    expect(r.error).toBeUndefined();
  });

  test("async route() works; one that throws, times out or returns junk falls back to the default order", async () => {
    expect((await run(async (_q, cands) => cands.filter((c) => c.free))).candidates.map((c) => c.provider.id)).toEqual(["c"]);
    const logged: string[] = [];
    const log = { ...silentLogger, error: (m: string) => void logged.push(m) };
    const threw = await applyUserRoute(() => { throw new Error("boom"); }, req, planned, log, "req_2");
    expect(threw.candidates).toEqual(planned);
    expect(threw.error).toBe("routing.route() threw: boom");
    expect(logged[0]).toContain("routing.route() threw: boom; using the default order");
    const slow = await run(() => new Promise(() => {}), 50);
    expect(slow.error).toContain("no answer within 50 ms");
    expect(slow.candidates).toEqual(planned);
    expect((await run(() => "nope" as never)).error).toContain("returned string");
  });

  test("a route() that throws on every request logs its stack once per config generation, then counts", async () => {
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      ...silentLogger,
      error: (msg: string, fields?: Record<string, unknown>) => void lines.push({ level: "error", msg, fields }),
      warn: (msg: string, fields?: Record<string, unknown>) => void lines.push({ level: "warn", msg, fields }),
    };
    const broken = () => {
      throw new Error("bug in my rule");
    };
    for (let i = 0; i < 5; i++) expect((await applyUserRoute(broken, req, planned, log, `req_${i}`)).error).toBe("routing.route() threw: bug in my rule");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields!.stack).toContain("bug in my rule");
    expect(routeFailures(broken)).toBe(5);
    // A reload evaluates the config again: a new function, a new generation, one more full report.
    const reloaded = () => {
      throw new Error("bug in my rule");
    };
    await applyUserRoute(reloaded, req, planned, log, "req_9");
    expect(lines).toHaveLength(2);
    expect(lines[1]!.fields!.stack).toContain("bug in my rule");
    expect(routeFailures(reloaded)).toBe(1);
  });
});
