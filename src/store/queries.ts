import { and, type AnyColumn, desc, eq, gte, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "./db";
import { requests } from "./schema";

// Reads of the audit log shared by `lmrelay logs`, `lmrelay stats` and the admin API.

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `24h`, `7d` (before `now`) or an ISO date/time → ms since epoch; undefined if neither. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (m) return now - Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

export interface RequestFilter {
  requestId?: string;
  client?: string;
  /** Matches the requested model, the upstream model or `provider/model`. */
  model?: string;
  provider?: string;
  /** The node that served it (`cluster.node`). */
  node?: string;
  /** `200`, `4xx`, `5xx`, `error` (≥ 400) or `ok` (< 400). */
  status?: string;
  /** ms since epoch, inclusive. */
  since?: number;
  /** ms since epoch, exclusive. */
  until?: number;
  limit?: number;
}

/** The `requests` columns a filter reads; the SQLite and the PostgreSQL tables both have them. */
export interface FilterColumns {
  requestId: AnyColumn;
  client: AnyColumn;
  provider: AnyColumn;
  node: AnyColumn;
  model: AnyColumn;
  requestedModel: AnyColumn;
  status: AnyColumn;
  ts: AnyColumn;
}

/** Parses a `--status` value; throws with the accepted forms. */
export function statusCondition(status: string, t: FilterColumns = requests): SQL {
  const s = status.trim().toLowerCase();
  if (/^\d{3}$/.test(s)) return eq(t.status, Number(s));
  const cls = /^([1-5])xx$/.exec(s);
  if (cls) return and(gte(t.status, Number(cls[1]) * 100), lt(t.status, Number(cls[1]) * 100 + 100))!;
  if (s === "error" || s === "errors") return gte(t.status, 400);
  if (s === "ok") return lt(t.status, 400);
  throw new Error(`status "${status}" is not a status code, a class like 4xx, "error" or "ok"`);
}

/** A request filter as a WHERE clause over either dialect's `requests` table. */
export function requestsWhere(f: RequestFilter, t: FilterColumns = requests): SQL | undefined {
  const conds: (SQL | undefined)[] = [];
  if (f.requestId) conds.push(eq(t.requestId, f.requestId));
  if (f.client) conds.push(eq(t.client, f.client));
  if (f.provider) conds.push(eq(t.provider, f.provider));
  if (f.node) conds.push(eq(t.node, f.node));
  if (f.model) {
    const slash = f.model.indexOf("/");
    conds.push(
      or(
        eq(t.requestedModel, f.model),
        eq(t.model, f.model),
        slash > 0 ? and(eq(t.provider, f.model.slice(0, slash)), eq(t.model, f.model.slice(slash + 1))) : undefined,
      ),
    );
  }
  if (f.status) conds.push(statusCondition(f.status, t));
  if (f.since !== undefined) conds.push(gte(t.ts, f.since));
  if (f.until !== undefined) conds.push(lt(t.ts, f.until));
  return conds.length ? and(...conds) : undefined;
}

export interface AuditRecord {
  id: number;
  ts: number;
  time: string;
  requestId: string;
  protocol: string;
  endpoint: string;
  client: string | null;
  requestedModel: string | null;
  provider: string | null;
  model: string | null;
  keyName: string | null;
  status: number;
  stream: boolean;
  latencyMs: number;
  ttftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  usageEstimated: boolean;
  costUsd: number;
  unpriced: boolean;
  error: string | null;
  attempts: unknown[];
  /** The node that served it (`cluster.node`); null on a single node. */
  node: string | null;
}

/** The most recent requests matching the filter, newest first. */
export function listRequests(db: Db, f: RequestFilter = {}): AuditRecord[] {
  const rows = db
    .select()
    .from(requests)
    .where(requestsWhere(f))
    .orderBy(desc(requests.ts), desc(requests.id))
    .limit(Math.max(1, Math.min(f.limit ?? 50, 10_000)))
    .all();
  return rows.map((r) => {
    let attempts: unknown[] = [];
    try {
      attempts = JSON.parse(r.attempts);
    } catch {}
    return { ...r, time: new Date(r.ts).toISOString(), attempts };
  });
}

export interface StatsLine {
  name: string;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
  ttftP50Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RequestStats {
  since: number;
  until: number;
  total: StatsLine;
  byClient: StatsLine[];
  byProvider: StatsLine[];
  byModel: StatsLine[];
  /** Per node (`cluster.node`); one "(none)" line on a single node. */
  byNode: StatsLine[];
  /** Models that used tokens but had no price (their cost counted as 0). */
  unpriced: { model: string; requests: number }[];
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

/** Per-group totals and nearest-rank latency percentiles over [since, until). */
function statsBy(db: Db, d: Dimension, since: number, until: number): StatsLine[] {
  const g = groupExpr(d);
  const window = and(gte(requests.ts, since), lt(requests.ts, until));
  const totals = db
    .select({
      name: sql<string>`${g}`,
      requests: sql<number>`count(*)`,
      errors: sql<number>`sum(case when ${requests.status} >= 400 then 1 else 0 end)`,
      inputTokens: sql<number>`sum(${requests.inputTokens})`,
      outputTokens: sql<number>`sum(${requests.outputTokens})`,
      costUsd: sql<number>`sum(${requests.costUsd})`,
    })
    .from(requests)
    .where(window)
    .groupBy(g)
    .all();
  // Percentiles over successful answers only: failures' latencies say little about the service.
  const pct = (column: SQL, p: number) =>
    db.all<{ name: string; v: number }>(sql`
      select name, v from (
        select ${g} as name, ${column} as v,
               row_number() over (partition by ${g} order by ${column}) as rn,
               count(*) over (partition by ${g}) as n
        from ${requests}
        where ${window} and ${requests.status} < 400 and ${column} is not null
      ) where rn = max(1, cast(((n * ${p}) + 0.999999999) as integer))`);
  const p50 = new Map(pct(sql`${requests.latencyMs}`, 0.5).map((r) => [r.name, r.v]));
  const p95 = new Map(pct(sql`${requests.latencyMs}`, 0.95).map((r) => [r.name, r.v]));
  const t50 = new Map(pct(sql`${requests.ttftMs}`, 0.5).map((r) => [r.name, r.v]));
  return totals
    .map((t) => ({
      ...t,
      p50Ms: p50.get(t.name) ?? null,
      p95Ms: p95.get(t.name) ?? null,
      ttftP50Ms: t50.get(t.name) ?? null,
    }))
    .sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests);
}

export function requestStats(db: Db, since: number, until = Date.now()): RequestStats {
  const total = statsBy(db, "all", since, until)[0] ?? {
    name: "all",
    requests: 0,
    errors: 0,
    p50Ms: null,
    p95Ms: null,
    ttftP50Ms: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  };
  const unpriced = db
    .select({ model: sql<string>`${requests.provider} || '/' || ${requests.model}`, requests: sql<number>`count(*)` })
    .from(requests)
    .where(and(gte(requests.ts, since), lt(requests.ts, until), eq(requests.unpriced, true)))
    .groupBy(requests.provider, requests.model)
    .all();
  return {
    since,
    until,
    total,
    byClient: statsBy(db, "client", since, until),
    byProvider: statsBy(db, "provider", since, until),
    byModel: statsBy(db, "model", since, until),
    byNode: statsBy(db, "node", since, until),
    unpriced,
  };
}
