import { sql } from "drizzle-orm";
import type { Db } from "../../store/db";
import { requests } from "../../store/schema";

// Requests per time bucket for the dashboard's charts: one GROUP BY over the `ts` index, empty
// buckets filled in so the chart's x axis is time, not "minutes that had traffic".

export interface SeriesPoint {
  /** Bucket start, ms since epoch. */
  t: number;
  requests: number;
  /** Answered with status ≥ 400 (lmrelay's or the upstream's), client disconnects included. */
  errors: number;
  /** Status ≥ 500: failures of lmrelay or of every upstream it tried. */
  serverErrors: number;
  /** Mean latency of the bucket's successful requests, ms. */
  latencyMs: number | null;
  costUsd: number;
}

export interface Series {
  bucketMs: number;
  from: number;
  to: number;
  points: SeriesPoint[];
}

export const MAX_BUCKETS = 1440;

export function requestSeries(db: Db, opts: { minutes: number; bucketMs?: number; now?: number }): Series {
  const bucketMs = opts.bucketMs ?? 60_000;
  const now = opts.now ?? Date.now();
  const to = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  const count = Math.min(MAX_BUCKETS, Math.max(1, Math.ceil((opts.minutes * 60_000) / bucketMs)));
  const from = to - count * bucketMs;
  // An integer literal, not a bound parameter: SQLite must divide integers to get whole buckets.
  const bucket = sql<number>`(${requests.ts} / ${sql.raw(String(Math.trunc(bucketMs)))})`;
  const rows = db
    .select({
      b: sql<number>`${bucket}`,
      requests: sql<number>`count(*)`,
      errors: sql<number>`sum(case when ${requests.status} >= 400 then 1 else 0 end)`,
      serverErrors: sql<number>`sum(case when ${requests.status} >= 500 then 1 else 0 end)`,
      latencyMs: sql<number | null>`avg(case when ${requests.status} < 400 then ${requests.latencyMs} end)`,
      costUsd: sql<number>`sum(${requests.costUsd})`,
    })
    .from(requests)
    .where(sql`${requests.ts} >= ${from} and ${requests.ts} < ${to}`)
    .groupBy(bucket)
    .all();
  const byBucket = new Map(rows.map((r) => [Number(r.b), r]));
  const points: SeriesPoint[] = [];
  for (let t = from; t < to; t += bucketMs) {
    const r = byBucket.get(t / bucketMs);
    points.push({
      t,
      requests: r?.requests ?? 0,
      errors: r?.errors ?? 0,
      serverErrors: r?.serverErrors ?? 0,
      latencyMs: r?.latencyMs == null ? null : Math.round(r.latencyMs),
      costUsd: r?.costUsd ?? 0,
    });
  }
  return { bucketMs, from, to, points };
}
