import { afterAll, describe, expect, test } from "bun:test";
import { getTableColumns } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditWriter } from "../../src/store/audit";
import { type Db, openDatabase } from "../../src/store/db";
import { listRequests, parseSince, requestStats } from "../../src/store/queries";
import { createLogger } from "../../src/log/logger";
import { AuditRetention, purgeAudit } from "../../src/store/retention";
import { COLUMN_NAMES, COLUMNS } from "../../src/store/audit-rows";
import { type RequestRow, requests } from "../../src/store/schema";
import { clientSpend, dayKey, spendBy } from "../../src/store/spend";

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 10, 1, 12, 0, 0);

function row(over: Partial<RequestRow> = {}): RequestRow {
  return {
    ts: T0,
    requestId: "req",
    protocol: "openai",
    endpoint: "/v1/chat/completions",
    client: "app",
    requestedModel: "fast",
    provider: "oa",
    model: "gpt-4o",
    status: 200,
    latencyMs: 100,
    inputTokens: 10,
    outputTokens: 5,
    costUsd: 0.5,
    attempts: "[]",
    ...over,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-audit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

// A database file gets the writer thread; an in-memory one (which no other thread can open) keeps
// its queue on the request thread. Both must keep the same promises.
const MODES = [
  { mode: "same thread", open: (): Db => openDatabase(":memory:") },
  { mode: "writer thread", open: (): Db => openDatabase(path.join(dir, `audit-${++files}.db`)) },
] as const;

for (const { mode, open } of MODES)
  describe(`AuditWriter (${mode})`, () => {
    test("writes every row in batches and rolls spend up per day, client, provider and model", () => {
      const db = open();
      const w = new AuditWriter(db, { batchSize: 7, flushIntervalMs: 60_000 });
      for (let i = 0; i < 20; i++) w.push(row({ requestId: `r${i}`, ts: T0 + (i % 2) * DAY, status: i === 3 ? 502 : 200 }));
      w.close();
      expect(w.written).toBe(20);
      expect(db.$client.query("select count(*) as n from requests").get()).toEqual({ n: 20 });
      const days = db.$client.query("select day, requests, errors, input_tokens, output_tokens, cost_usd from spend_daily order by day").all();
      expect(days).toEqual([
        { day: "2025-11-01", requests: 10, errors: 0, input_tokens: 100, output_tokens: 50, cost_usd: 5 },
        { day: "2025-11-02", requests: 10, errors: 1, input_tokens: 100, output_tokens: 50, cost_usd: 5 },
      ]);
      expect(clientSpend(db, "app", { from: "2025-11-02" })).toBe(5);
      expect(clientSpend(db, "app", {})).toBe(10);
      expect(clientSpend(db, "other", {})).toBe(0);
      db.$client.close();
    });

    test("when storage fails rows wait and are retried; a full queue drops the oldest and says so", () => {
      const db = open();
      const errors: unknown[] = [];
      const drops: number[] = [];
      const w = new AuditWriter(db, { batchSize: 2, maxQueue: 3, flushIntervalMs: 60_000, onError: (e) => errors.push(e), onDrop: (n) => drops.push(n) });
      db.$client.exec("alter table requests rename to requests_away");
      for (let i = 0; i < 5; i++) w.push(row({ requestId: `r${i}` }));
      w.flush();
      expect(errors.length).toBe(1); // reported once while failing, not once per try
      expect(w.dropped).toBe(2);
      expect(drops).toEqual([1, 2]);
      expect(w.depth).toBe(3);
      db.$client.exec("alter table requests_away rename to requests");
      w.close();
      expect(listRequests(db, { limit: 10 }).map((r) => r.requestId).sort()).toEqual(["r2", "r3", "r4"]);
      db.$client.close();
    });

    test("captured bodies are written beside the rows", () => {
      const db = open();
      const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
      w.pushBody({ ts: T0, requestId: "b1", request: '{"a":1}', response: '{"b":2}', truncated: false });
      w.close();
      expect(db.$client.query("select request_id, request, response, truncated from request_bodies").all()).toEqual([
        { request_id: "b1", request: '{"a":1}', response: '{"b":2}', truncated: 0 },
      ]);
      db.$client.close();
    });
  });

test("the writer's plain SQL names the schema's columns, in the order of its row tuples", () => {
  expect([...COLUMN_NAMES] as string[]).toEqual(COLUMNS.map((c) => requests[c].name));
  // Every column of the table but its id is written.
  expect([...COLUMNS].sort() as string[]).toEqual(Object.keys(getTableColumns(requests)).filter((k) => k !== "id").sort());
});

describe("AuditWriter on its writer thread", () => {
  const count = (db: Db) => (db.$client.query("select count(*) as n from requests").get() as { n: number }).n;

  test("rows reach the database without a flush, shortly after they are queued; the request thread writes none itself", async () => {
    const db = MODES[1].open();
    const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) w.push(row({ requestId: `t${i}` }));
    // Queued on this thread, nothing written yet: the writer thread is not even started.
    expect(count(db)).toBe(0);
    expect(w.depth).toBe(3);
    for (const end = Date.now() + 5_000; Date.now() < end && count(db) < 3; ) await Bun.sleep(10);
    expect(count(db)).toBe(3);
    for (const end = Date.now() + 2_000; Date.now() < end && w.written < 3; ) await Bun.sleep(10);
    expect(w.written).toBe(3);
    expect(w.depth).toBe(0);
    w.close();
    db.$client.close();
  });

  test("a full batch is posted at once, and close() writes what is left and stops the thread", async () => {
    const db = MODES[1].open();
    const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) w.push(row({ requestId: `b${i}` }));
    w.close();
    expect(count(db)).toBe(1000);
    expect(w.written).toBe(1000);
    expect(w.depth).toBe(0);
    // The thread is gone: a late flush (a second signal, a test) returns at once instead of waiting.
    w.flush();
    w.close();
    await expect(w.purge(30, Date.now())).rejects.toThrow("closed");
    db.$client.close();
  });

  test("the spend counter: the rollup at start plus every queued row, exact before the rows are written", () => {
    const file = path.join(dir, `spend-${++files}.db`);
    let db = openDatabase(file);
    const first = new AuditWriter(db, { flushIntervalMs: 60_000 });
    const now = Date.now();
    const today = dayKey(now);
    first.push(row({ requestId: "old", ts: now - 400 * DAY, costUsd: 2 }));
    first.push(row({ requestId: "a1", ts: now, costUsd: 0.25 }));
    first.close();
    db.$client.close();

    db = openDatabase(file);
    const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
    expect(w.spend.of("app", {})).toBeCloseTo(2.25, 10);
    expect(w.spend.of("app", { from: today })).toBeCloseTo(0.25, 10);
    w.push(row({ requestId: "a2", ts: now, costUsd: 0.5 }));
    w.push(row({ requestId: "b1", ts: now, client: "other", costUsd: 1 }));
    w.push(row({ requestId: "free", ts: now, costUsd: 0 }));
    // Not written yet (the thread posts later), counted already.
    expect(count(db)).toBe(2);
    expect(w.spend.of("app", { from: today })).toBeCloseTo(0.75, 10);
    expect(w.spend.of("app", { from: today, until: today })).toBe(0);
    expect(w.spend.of("app", {})).toBeCloseTo(2.75, 10);
    expect(w.spend.of("other", {})).toBeCloseTo(1, 10);
    expect(w.spend.of("nobody", {})).toBe(0);
    w.close();
    // And it agrees with the table once written.
    expect(clientSpend(db, "app", {})).toBeCloseTo(w.spend.of("app", {}), 10);
    expect(clientSpend(db, "app", { from: today })).toBeCloseTo(w.spend.of("app", { from: today }), 10);
    // A range before the month it started in is read from the table.
    expect(w.spend.of("app", { from: dayKey(now - 500 * DAY), until: dayKey(now - 300 * DAY) })).toBeCloseTo(2, 10);
    db.$client.close();
  });

  test("retention deletes on the writer thread", async () => {
    const db = MODES[1].open();
    const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 3; i++) w.push(row({ requestId: `o${i}`, ts: now - 40 * DAY }));
    w.push(row({ requestId: "fresh", ts: now }));
    w.flush();
    const lines: string[] = [];
    const retention = new AuditRetention(w, () => 30, createLogger({ write: (l) => lines.push(l), pretty: false }), 60_000);
    try {
      expect(await retention.run()).toBe(3);
      expect(await w.purge(30, now, 10)).toEqual({ rows: 0, more: false });
      expect(listRequests(db).map((r) => r.requestId)).toEqual(["fresh"]);
      expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ msg: "audit retention: old rows deleted", rows: 3, retainDays: 30 })]);
    } finally {
      retention.stop();
      w.close();
      db.$client.close();
    }
  });
});

describe("retention", () => {
  test("deletes rows and bodies older than retainDays, keeps the spend rollup", () => {
    const db = openDatabase(":memory:");
    const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) w.push(row({ requestId: `old${i}`, ts: T0 - 10 * DAY }));
    w.push(row({ requestId: "new", ts: T0 }));
    w.pushBody({ ts: T0 - 10 * DAY, requestId: "old0", request: "x", response: "y" });
    w.close();
    expect(purgeAudit(db, 7, T0, 4)).toEqual({ rows: 4, more: true });
    expect(purgeAudit(db, 7, T0, 4)).toEqual({ rows: 4, more: true });
    expect(purgeAudit(db, 7, T0, 4)).toEqual({ rows: 2, more: false });
    expect(listRequests(db).map((r) => r.requestId)).toEqual(["new"]);
    expect(db.$client.query("select count(*) as n from request_bodies").get()).toEqual({ n: 0 });
    expect(clientSpend(db, "app", {})).toBeCloseTo(5.5, 10);
    db.$client.close();
  });
});

describe("AuditRetention", () => {
  test("runs with the retainDays in force, logs what it deleted, does nothing without it", async () => {
    const db = openDatabase(":memory:");
    const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 3; i++) w.push(row({ requestId: `o${i}`, ts: now - 40 * DAY }));
    w.push(row({ requestId: "fresh", ts: now }));
    w.close();
    const lines: string[] = [];
    let days: number | undefined;
    const retention = new AuditRetention(db, () => days, createLogger({ write: (l) => lines.push(l), pretty: false }), 60_000);
    try {
      expect(await retention.run()).toBe(0);
      days = 30;
      expect(await retention.run()).toBe(3);
      expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ msg: "audit retention: old rows deleted", rows: 3, retainDays: 30 })]);
      expect(listRequests(db).map((r) => r.requestId)).toEqual(["fresh"]);
    } finally {
      retention.stop();
      db.$client.close();
    }
  });
});

describe("queries", () => {
  const db = openDatabase(":memory:");
  const w = new AuditWriter(db, { flushIntervalMs: 60_000 });
  for (let i = 1; i <= 100; i++)
    w.push(row({ requestId: `q${i}`, ts: T0 + i, latencyMs: i, ttftMs: i / 2, client: i % 2 ? "a" : "b", provider: i <= 80 ? "oa" : "cl", model: i <= 80 ? "gpt-4o" : "claude", costUsd: 0.01 }));
  w.push(row({ requestId: "e1", ts: T0 + 200, status: 429, latencyMs: 5000, provider: null, model: null, client: "b", inputTokens: 0, outputTokens: 0, costUsd: 0 }));
  w.push(row({ requestId: "u1", ts: T0 + 300, provider: "oa", model: "mystery", unpriced: true, costUsd: 0 }));
  w.close();

  test("filters: client, model (requested, upstream or provider/model), provider, status forms, since, limit", () => {
    expect(listRequests(db, { status: "429" }).map((r) => r.requestId)).toEqual(["e1"]);
    expect(listRequests(db, { status: "4xx" }).map((r) => r.requestId)).toEqual(["e1"]);
    expect(listRequests(db, { status: "error" }).length).toBe(1);
    expect(listRequests(db, { status: "ok", limit: 1000 }).length).toBe(101);
    expect(listRequests(db, { model: "cl/claude", limit: 1000 }).length).toBe(20);
    expect(listRequests(db, { model: "claude", limit: 1000 }).length).toBe(20);
    expect(listRequests(db, { model: "fast", limit: 1000 }).length).toBe(102);
    expect(listRequests(db, { provider: "cl", client: "a", limit: 1000 }).length).toBe(10);
    expect(listRequests(db, { since: T0 + 250 }).map((r) => r.requestId)).toEqual(["u1"]);
    expect(listRequests(db, { limit: 3 }).map((r) => r.requestId)).toEqual(["u1", "e1", "q100"]);
    expect(() => listRequests(db, { status: "bad" })).toThrow('status "bad"');
  });

  test("stats: totals, nearest-rank p50/p95 over successful answers, groups, unpriced models", () => {
    const s = requestStats(db, T0, T0 + 1000);
    // 101 successful answers (latencies 1..100 and one more of 100): ranks 51 and 96.
    expect(s.total).toMatchObject({ requests: 102, errors: 1, p50Ms: 51, p95Ms: 96 });
    const oa = s.byProvider.find((l) => l.name === "oa")!;
    expect(oa).toMatchObject({ requests: 81, p50Ms: 41, p95Ms: 77 });
    expect(s.byProvider.find((l) => l.name === "(none)")).toMatchObject({ requests: 1, errors: 1, p50Ms: null });
    expect(s.byModel.map((l) => l.name).sort()).toEqual(["(none)", "cl/claude", "oa/gpt-4o", "oa/mystery"]);
    expect(s.byClient.find((l) => l.name === "a")!.costUsd).toBeCloseTo(0.5 + 0, 10);
    expect(s.unpriced).toEqual([{ model: "oa/mystery", requests: 1 }]);
    expect(s.total.ttftP50Ms).toBe(25);
  });

  test("spend by dimension from the rollup", () => {
    const byModel = spendBy(db, "model", {});
    expect(byModel[0]).toMatchObject({ name: "oa/gpt-4o", requests: 80 });
    expect(byModel.some((l) => l.name === "(none)")).toBe(false);
    // Spend by provider counts what providers served: a rejected request has no "(none)" row.
    expect(spendBy(db, "provider", {}).some((l) => l.name === "(none)")).toBe(false);
  });

  test("parseSince: durations and dates", () => {
    expect(parseSince("30m", 1_000_000_000)).toBe(1_000_000_000 - 1_800_000);
    expect(parseSince("7d", 1_000_000_000_000)).toBe(1_000_000_000_000 - 7 * DAY);
    expect(parseSince("2025-11-01")).toBe(Date.UTC(2025, 10, 1));
    expect(parseSince("2025-11-01T12:00:00Z")).toBe(T0);
    expect(parseSince("yesterday")).toBeUndefined();
    expect(parseSince("10")).toBeUndefined();
  });
});
