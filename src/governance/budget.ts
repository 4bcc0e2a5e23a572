import { dayKey } from "../store/spend";

// Client spend per budget period (SPEC §6 budgets), in UTC days and months. Spend is loaded from
// the persisted daily rollup the first time a period is needed (so it survives restarts) and kept
// current in memory as requests settle. Costs of requests still running are reserved at admission
// (their input estimate), so many concurrent requests cannot all slip under the same budget.

export type BudgetPeriod = "day" | "month" | "total";

const DAY_MS = 86_400_000;

/** The period a moment falls in: `day:2025-11-01`, `month:2025-11`, `total`. */
export function periodKey(per: BudgetPeriod, ms: number): string {
  if (per === "total") return "total";
  const day = dayKey(ms);
  return per === "day" ? `day:${day}` : `month:${day.slice(0, 7)}`;
}

/** First and (exclusive) last UTC day of the period, as `YYYY-MM-DD`; total spans everything. */
export function periodDays(per: BudgetPeriod, ms: number): { from?: string; until?: string } {
  if (per === "total") return {};
  const d = new Date(ms);
  if (per === "day") return { from: dayKey(ms), until: dayKey(ms + DAY_MS) };
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const until = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { from: dayKey(from), until: dayKey(until) };
}

/** When the period that holds `ms` ends (ms since epoch); undefined for `total`. */
export function periodEnd(per: BudgetPeriod, ms: number): number | undefined {
  if (per === "total") return undefined;
  const d = new Date(ms);
  return per === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export const PERIOD_WORD: Record<BudgetPeriod, string> = { day: "per day", month: "per month", total: "in total" };

/** Reads the persisted spend of a client over UTC days [from, until). */
export type SpendSource = (client: string, days: { from?: string; until?: string }) => number;

export class SpendLedger {
  /** client → period key → USD settled in that period (only periods already loaded). */
  private spent = new Map<string, Map<string, number>>();
  /** client → USD reserved by admitted requests still running. */
  private reserved = new Map<string, number>();

  constructor(private readonly load: SpendSource) {}

  /** Settled spend of the client in the period holding `now`. */
  spentIn(client: string, per: BudgetPeriod, now: number): number {
    const key = periodKey(per, now);
    let periods = this.spent.get(client);
    if (!periods) {
      periods = new Map();
      this.spent.set(client, periods);
    }
    let usd = periods.get(key);
    if (usd === undefined) {
      usd = this.load(client, periodDays(per, now));
      // A new day or month: forget the one that is over.
      const kind = `${per}:`;
      for (const k of periods.keys()) if (k.startsWith(kind)) periods.delete(k);
      periods.set(key, usd);
    }
    return usd;
  }

  reservedBy(client: string): number {
    return this.reserved.get(client) ?? 0;
  }

  reserve(client: string, usd: number): void {
    if (usd > 0) this.reserved.set(client, this.reservedBy(client) + usd);
  }

  release(client: string, usd: number): void {
    if (usd <= 0) return;
    const left = this.reservedBy(client) - usd;
    if (left > 1e-12) this.reserved.set(client, left);
    else this.reserved.delete(client);
  }

  /** Adds a settled request's cost to every loaded period its time falls in. */
  add(client: string, usd: number, at: number): void {
    if (usd <= 0) return;
    const periods = this.spent.get(client);
    if (!periods) return;
    for (const per of ["day", "month", "total"] as const) {
      const key = periodKey(per, at);
      const cur = periods.get(key);
      if (cur !== undefined) periods.set(key, cur + usd);
    }
  }
}
