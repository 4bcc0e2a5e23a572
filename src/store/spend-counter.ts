import { gte, lt, sql } from "drizzle-orm";
import type { Db } from "./db";
import { spendDaily } from "./schema";
import { clientSpend, type DayRange, dayKey } from "./spend";

// Budgets need a client's exact spend over a range of UTC days, including the rows still on their
// way to the database (the audit writer runs on its own thread). Reading the table would mean
// waiting for the writer on the request path, so the writer keeps this counter instead: the
// rollup as it stood at start (per client and day from the first day of that month; one total per
// client before it), plus every row's cost as it is queued. This process writes no row dated before
// the month it started in (unless the clock goes back), so older ranges are read from the table.

export class SpendCounter {
  /** client → UTC day → USD, from `since` on: the rollup at start plus every row counted since. */
  private readonly days = new Map<string, Map<string, number>>();
  /** client → USD on the days before `since`, as the rollup held them at start. */
  private readonly before = new Map<string, number>();
  /** The first UTC day kept per day (the first of the month the counter started in). */
  readonly since: string;

  constructor(
    private readonly db: Db,
    now = Date.now(),
  ) {
    const d = new Date(now);
    this.since = dayKey(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    const usd = sql<number>`sum(${spendDaily.costUsd})`;
    const recent = db
      .select({ client: spendDaily.client, day: spendDaily.day, usd })
      .from(spendDaily)
      .where(gte(spendDaily.day, this.since))
      .groupBy(spendDaily.client, spendDaily.day)
      .all();
    for (const r of recent) if (r.usd) this.dayMap(r.client).set(r.day, r.usd);
    const older = db.select({ client: spendDaily.client, usd }).from(spendDaily).where(lt(spendDaily.day, this.since)).groupBy(spendDaily.client).all();
    for (const r of older) if (r.usd) this.before.set(r.client, r.usd);
  }

  private dayMap(client: string): Map<string, number> {
    let m = this.days.get(client);
    if (!m) this.days.set(client, (m = new Map()));
    return m;
  }

  /** Counts a queued row's cost; `client` "" = requests without one. */
  add(client: string, ts: number, usd: number): void {
    if (!(usd > 0)) return;
    const day = dayKey(ts);
    if (day < this.since) {
      // Only with a clock that went back (or a test's old timestamps): counted in the total.
      this.before.set(client, (this.before.get(client) ?? 0) + usd);
      return;
    }
    const m = this.dayMap(client);
    m.set(day, (m.get(day) ?? 0) + usd);
  }

  /** A client's spend (USD) over the days of `range`, every queued row included. */
  of(client: string, range: DayRange): number {
    const { from, until } = range;
    let usd = 0;
    if (from === undefined) usd += this.before.get(client) ?? 0;
    else if (from < this.since) usd += clientSpend(this.db, client, { from, until: until !== undefined && until < this.since ? until : this.since });
    const m = this.days.get(client);
    if (m) for (const [day, v] of m) if ((from === undefined || day >= from) && (until === undefined || day < until)) usd += v;
    return usd;
  }
}
