import { and, eq, sql } from "drizzle-orm";
import type { Logger } from "../log/logger";
import type { Db } from "../store/db";
import { type HealthRow, health } from "../store/schema";
import type { HealthEntry } from "./entry";
import type { HealthTracker } from "./tracker";

// Health survives restarts: changed records are written in one transaction every second (never on
// the request path), everything is read back at start, and a final flush runs at shutdown.

const FLUSH_MS = 1000;

const COLUMNS = [
  "success",
  "limited",
  "updatedAt",
  "latencyMs",
  "ttftMs",
  "samples",
  "consecutiveFailures",
  "cooldownUntil",
  "cooldownKind",
  "cooldownReason",
  "backoffLevel",
  "rampFrom",
  "remainingShare",
  "lastStatus",
  "lastError",
  "lastAt",
] as const;

export class HealthStore {
  private readonly upsert;
  private readonly remove;
  private timer: ReturnType<typeof setInterval> | undefined;
  private failing = false;

  constructor(
    private readonly db: Db,
    private readonly tracker: HealthTracker,
    private readonly log?: Logger,
  ) {
    const values: Record<string, unknown> = { provider: sql.placeholder("provider"), keyFp: sql.placeholder("fp"), model: sql.placeholder("model") };
    const set: Record<string, unknown> = {};
    for (const c of COLUMNS) {
      values[c] = sql.placeholder(c);
      set[c] = sql.placeholder(c);
    }
    this.upsert = db
      .insert(health)
      .values(values as never)
      .onConflictDoUpdate({ target: [health.provider, health.keyFp, health.model], set: set as never })
      .prepare();
    this.remove = db
      .delete(health)
      .where(and(eq(health.provider, sql.placeholder("provider")), eq(health.keyFp, sql.placeholder("fp")), eq(health.model, sql.placeholder("model"))))
      .prepare();
  }

  /** Reads every stored record into the tracker (which ignores providers and keys no longer configured). */
  load(): number {
    const rows = this.db.select().from(health).all();
    return this.tracker.restore(rows.map(fromRow));
  }

  start(): void {
    this.timer ??= setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref?.();
  }

  /** Writes what changed since the last flush; on failure the records wait for the next one. */
  flush(): void {
    const { changed, removed } = this.tracker.takeDirty();
    if (changed.length === 0 && removed.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const e of changed) this.upsert.run(toParams(e));
        for (const e of removed) this.remove.run({ provider: e.provider, fp: e.fp, model: e.model });
      });
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log?.error("health write failed; routing goes on with in-memory health", { error: (err as Error).message });
      this.failing = true;
      this.tracker.requeue(changed, removed);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}

function toParams(e: HealthEntry): Record<string, unknown> {
  return {
    provider: e.provider,
    fp: e.fp,
    model: e.model,
    success: e.success,
    limited: e.limited,
    updatedAt: e.updatedAt,
    latencyMs: e.latencyMs ?? null,
    ttftMs: e.ttftMs ?? null,
    samples: e.samples,
    consecutiveFailures: e.consecutiveFailures,
    cooldownUntil: e.cooldownUntil ?? null,
    cooldownKind: e.cooldownKind ?? null,
    cooldownReason: e.cooldownReason ?? null,
    backoffLevel: e.backoffLevel,
    rampFrom: e.rampFrom ?? null,
    remainingShare: e.remainingShare ?? null,
    lastStatus: e.lastStatus ?? null,
    lastError: e.lastError ?? null,
    lastAt: e.lastAt ?? null,
  };
}

function fromRow(r: HealthRow): HealthEntry {
  const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return {
    provider: r.provider,
    fp: r.keyFp,
    model: r.model,
    success: r.success,
    limited: r.limited,
    updatedAt: r.updatedAt,
    latencyMs: opt(r.latencyMs),
    ttftMs: opt(r.ttftMs),
    samples: r.samples,
    consecutiveFailures: r.consecutiveFailures,
    cooldownUntil: opt(r.cooldownUntil),
    cooldownKind: opt(r.cooldownKind) as HealthEntry["cooldownKind"],
    cooldownReason: opt(r.cooldownReason),
    backoffLevel: r.backoffLevel,
    rampFrom: opt(r.rampFrom),
    remainingShare: opt(r.remainingShare),
    lastStatus: opt(r.lastStatus),
    lastError: opt(r.lastError),
    lastAt: opt(r.lastAt),
  };
}
