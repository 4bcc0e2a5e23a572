import type { Database } from "bun:sqlite";
import type { Logger } from "../log/logger";
import type { Db } from "./db";

// `audit.retainDays`: audit rows and captured bodies older than that are deleted in the background
// (at start, then hourly), a few thousand rows per transaction so writers are never blocked long.
// The daily spend rollup is kept: budgets with `per: "total"` and long-range stats need it.
// Plain SQL (tables and columns as in schema.ts): it runs on the audit writer thread, which does
// not load the query builder.

const DAY_MS = 86_400_000;
const CHUNK = 5_000;
const TABLES = ["requests", "request_bodies"] as const;

/** Deletes up to `chunk` rows of each table older than `retainDays`: how many audit rows went, and
 *  whether more of that age are left in either table. */
export function purgeAudit(db: Db | Database, retainDays: number, now = Date.now(), chunk = CHUNK): { rows: number; more: boolean } {
  const client = "$client" in db ? db.$client : db;
  const cutoff = now - retainDays * DAY_MS;
  let rows = 0;
  let more = false;
  for (const table of TABLES) {
    const { changes } = client.query(`DELETE FROM "${table}" WHERE "id" IN (SELECT "id" FROM "${table}" WHERE "ts" < ? LIMIT ?)`).run(cutoff, chunk);
    if (table === "requests") rows = changes;
    if (changes === chunk) more = true;
  }
  return { rows, more };
}

/** Where old rows are deleted: the database, or the audit writer (which deletes on its own thread). */
export interface AuditPurger {
  purge(days: number, now: number): Promise<{ rows: number; more: boolean }>;
}

export class AuditRetention {
  private timer: ReturnType<typeof setInterval> | undefined;
  private first: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(
    private readonly store: Db | AuditPurger,
    /** Read at each run, so a reload that changes it takes effect. */
    private readonly retainDays: () => number | undefined,
    private readonly log: Logger,
    intervalMs = 3_600_000,
  ) {
    // First run shortly after start, off the start-up path.
    this.first = setTimeout(() => void this.run(), 5_000);
    this.first.unref?.();
    this.timer = setInterval(() => void this.run(), intervalMs);
    this.timer.unref?.();
  }

  /** One pass: deletes old rows chunk by chunk, yielding between chunks so requests are served. */
  async run(now = Date.now()): Promise<number> {
    const days = this.retainDays();
    if (!days || this.running) return 0;
    this.running = true;
    let total = 0;
    try {
      for (;;) {
        const store = this.store;
        const { rows, more } = "purge" in store ? await store.purge(days, now) : purgeAudit(store, days, now);
        total += rows;
        if (!more) break;
        await Bun.sleep(1);
      }
      if (total > 0) this.log.info("audit retention: old rows deleted", { rows: total, retainDays: days });
    } catch (e) {
      this.log.error("audit retention failed; will retry", { error: (e as Error).message });
    } finally {
      this.running = false;
    }
    return total;
  }

  stop(): void {
    clearTimeout(this.first);
    clearInterval(this.timer);
    this.first = this.timer = undefined;
  }
}
