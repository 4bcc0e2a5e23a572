import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "./db";
import { spendDaily } from "./schema";

// Reads of the daily spend rollup (written by the audit writer): a client's spend over a range of
// UTC days for budgets, and spend per client, provider and model for the admin API and stats.

export { dayKey } from "./day";

export interface DayRange {
  /** First UTC day, YYYY-MM-DD (inclusive); absent = from the beginning. */
  from?: string;
  /** Last UTC day (exclusive); absent = up to now. */
  until?: string;
}

function rangeWhere(range: DayRange) {
  return [range.from ? gte(spendDaily.day, range.from) : undefined, range.until ? lt(spendDaily.day, range.until) : undefined];
}

/** A client's settled spend (USD) over the days of `range`; `client` "" = requests without one. */
export function clientSpend(db: Db, client: string, range: DayRange): number {
  const row = db
    .select({ usd: sql<number>`coalesce(sum(${spendDaily.costUsd}), 0)` })
    .from(spendDaily)
    .where(and(eq(spendDaily.client, client), ...rangeWhere(range)))
    .get();
  return row?.usd ?? 0;
}

export interface SpendLine {
  name: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export type SpendDimension = "client" | "provider" | "model";

/** Spend grouped by one dimension (model groups are `provider/model`), most expensive first. By
 *  provider or model, only requests a provider served count. */
export function spendBy(db: Db, dimension: SpendDimension, range: DayRange): SpendLine[] {
  const name =
    dimension === "client" ? spendDaily.client : dimension === "provider" ? spendDaily.provider : sql<string>`${spendDaily.provider} || '/' || ${spendDaily.model}`;
  const rows = db
    .select({
      name: sql<string>`${name}`,
      requests: sql<number>`sum(${spendDaily.requests})`,
      errors: sql<number>`sum(${spendDaily.errors})`,
      inputTokens: sql<number>`sum(${spendDaily.inputTokens})`,
      outputTokens: sql<number>`sum(${spendDaily.outputTokens})`,
      costUsd: sql<number>`sum(${spendDaily.costUsd})`,
    })
    .from(spendDaily)
    // A request no provider served (rejected, unknown model) has no provider or model to spend on.
    .where(and(...rangeWhere(range), dimension !== "client" ? sql`${spendDaily.provider} <> ''` : undefined))
    .groupBy(name)
    .orderBy(sql`sum(${spendDaily.costUsd}) desc`, sql`sum(${spendDaily.requests}) desc`)
    .all();
  return rows.map((r) => ({ ...r, name: r.name === "" ? "(none)" : r.name }));
}
