import { and, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import { type AuditRecord, type RequestFilter, type RequestStats, requestsWhere, type StatsLine } from "../queries";
import type { AuditReader } from "../reader";
import type { DayRange, SpendDimension, SpendLine } from "../spend";
import type { PgDb } from "./db";
import { requests, spendDaily } from "./schema";

// The audit reads of store/queries.ts and store/spend.ts over the shared PostgreSQL database
// (`storage.postgres`): same filters, same shapes, every node's rows.

export async function listRequestsPg(db: PgDb, f: RequestFilter = {}): Promise<AuditRecord[]> {
  const rows = await db
    .select()
    .from(requests)
    .where(requestsWhere(f, requests))
    .orderBy(desc(requests.ts), desc(requests.id))
    .limit(Math.max(1, Math.min(f.limit ?? 50, 10_000)));
  return rows.map(({ spool: _spool, localId: _localId, ...r }) => {
    let attempts: unknown[] = [];
    try {
      attempts = JSON.parse(r.attempts);
    } catch {}
    return { ...r, time: new Date(r.ts).toISOString(), attempts };
  });
}

function rangeWhere(range: DayRange) {
  return [range.from ? gte(spendDaily.day, range.from) : undefined, range.until ? lt(spendDaily.day, range.until) : undefined];
}

export async function clientSpendPg(db: PgDb, client: string, range: DayRange): Promise<number> {
  const [row] = await db
    .select({ usd: sql<number>`coalesce(sum(${spendDaily.costUsd}), 0)` })
    .from(spendDaily)
    .where(and(eq(spendDaily.client, client), ...rangeWhere(range)));
  return Number(row?.usd ?? 0);
}

export async function spendByPg(db: PgDb, dimension: SpendDimension, range: DayRange): Promise<SpendLine[]> {
  const name =
    dimension === "client" ? sql`${spendDaily.client}` : dimension === "provider" ? sql`${spendDaily.provider}` : sql`${spendDaily.provider} || '/' || ${spendDaily.model}`;
  const rows = await db
    .select({
      name: sql<string>`${name}`,
      requests: sql<number>`sum(${spendDaily.requests})`,
      errors: sql<number>`sum(${spendDaily.errors})`,
      inputTokens: sql<number>`sum(${spendDaily.inputTokens})`,
      outputTokens: sql<number>`sum(${spendDaily.outputTokens})`,
      costUsd: sql<number>`sum(${spendDaily.costUsd})`,
    })
    .from(spendDaily)
    // As store/spend.ts: a request no provider served has no provider or model to spend on.
    .where(and(...rangeWhere(range), dimension !== "client" ? sql`${spendDaily.provider} <> ''` : undefined))
    .groupBy(name)
    .orderBy(sql`sum(${spendDaily.costUsd}) desc`, sql`sum(${spendDaily.requests}) desc`);
  return rows.map((r) => ({
    name: r.name === "" ? "(none)" : r.name,
    requests: Number(r.requests),
    errors: Number(r.errors),
    inputTokens: Number(r.inputTokens),
    outputTokens: Number(r.outputTokens),
    costUsd: Number(r.costUsd),
  }));
}

type Dimension = "all" | "client" | "provider" | "model" | "node";

function groupExpr(d: Dimension): SQL {
  switch (d) {
    case "all":
      return sql`'all'`;
    case "client":
      return sql`coalesce(${requests.client}, '(none)')`;
    case "provider":
      return sql`coalesce(${requests.provider}, '(none)')`;
    case "model":
      return sql`coalesce(${requests.provider} || '/' || ${requests.model}, '(none)')`;
    case "node":
      return sql`coalesce(${requests.node}, '(none)')`;
  }
}

/** Per-group totals and nearest-rank percentiles (percentile_disc) of successful answers. */
async function statsBy(db: PgDb, d: Dimension, since: number, until: number): Promise<StatsLine[]> {
  const g = groupExpr(d);
  const ok = sql`${requests.status} < 400`;
  const rows = await db
    .select({
      name: sql<string>`${g}`,
      requests: sql<number>`count(*)`,
      errors: sql<number>`sum(case when ${requests.status} >= 400 then 1 else 0 end)`,
      inputTokens: sql<number>`sum(${requests.inputTokens})`,
      outputTokens: sql<number>`sum(${requests.outputTokens})`,
      costUsd: sql<number>`sum(${requests.costUsd})`,
      p50Ms: sql<number | null>`percentile_disc(0.5) within group (order by ${requests.latencyMs}) filter (where ${ok})`,
      p95Ms: sql<number | null>`percentile_disc(0.95) within group (order by ${requests.latencyMs}) filter (where ${ok})`,
      ttftP50Ms: sql<number | null>`percentile_disc(0.5) within group (order by ${requests.ttftMs}) filter (where ${ok} and ${requests.ttftMs} is not null)`,
    })
    .from(requests)
    .where(and(gte(requests.ts, since), lt(requests.ts, until)))
    // PostgreSQL refuses a constant in GROUP BY: the total is the ungrouped aggregate.
    .groupBy(...(d === "all" ? [] : [g]));
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows
    .map((r) => ({
      name: r.name,
      requests: Number(r.requests),
      errors: Number(r.errors),
      inputTokens: Number(r.inputTokens),
      outputTokens: Number(r.outputTokens),
      costUsd: Number(r.costUsd),
      p50Ms: num(r.p50Ms),
      p95Ms: num(r.p95Ms),
      ttftP50Ms: num(r.ttftP50Ms),
    }))
    .sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests);
}

export async function requestStatsPg(db: PgDb, since: number, until = Date.now()): Promise<RequestStats> {
  const [all, byClient, byProvider, byModel, byNode, unpriced] = await Promise.all([
    statsBy(db, "all", since, until),
    statsBy(db, "client", since, until),
    statsBy(db, "provider", since, until),
    statsBy(db, "model", since, until),
    statsBy(db, "node", since, until),
    db
      .select({ model: sql<string>`${requests.provider} || '/' || ${requests.model}`, requests: sql<number>`count(*)` })
      .from(requests)
      .where(and(gte(requests.ts, since), lt(requests.ts, until), eq(requests.unpriced, true)))
      .groupBy(requests.provider, requests.model),
  ]);
  const total = all[0] ?? { name: "all", requests: 0, errors: 0, p50Ms: null, p95Ms: null, ttftP50Ms: null, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  return { since, until, total, byClient, byProvider, byModel, byNode, unpriced: unpriced.map((u) => ({ model: u.model, requests: Number(u.requests) })) };
}

export function postgresReader(db: PgDb): AuditReader {
  return {
    shared: true,
    listRequests: (f) => listRequestsPg(db, f),
    spendBy: (d, r) => spendByPg(db, d, r),
    clientSpend: (c, r) => clientSpendPg(db, c, r),
    requestStats: (since, until) => requestStatsPg(db, since, until),
  };
}
