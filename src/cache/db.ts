import type { Statement } from "bun:sqlite";
import type { AnswerStore, CachedAnswer } from "../core/answer-cache";
import type { Db } from "../store/db";

// Cached answers in the SQLite database (`store: "db"`): they survive a restart. Expired rows are
// never served and are deleted every minute, so the table holds no more than the TTL allows.

const SWEEP_MS = 60_000;

export class DbAnswerStore implements AnswerStore {
  private readonly select: Statement;
  private readonly upsert: Statement;
  private readonly sweep: Statement;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    db: Db,
    private readonly now: () => number = Date.now,
  ) {
    const sqlite = db.$client;
    this.select = sqlite.prepare(`SELECT entry FROM response_cache WHERE key = ? AND expires_at > ?`);
    this.upsert = sqlite.prepare(`INSERT INTO response_cache (key, expires_at, entry) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at, entry = excluded.entry`);
    this.sweep = sqlite.prepare(`DELETE FROM response_cache WHERE expires_at <= ?`);
    this.timer = setInterval(() => this.deleteExpired(), SWEEP_MS);
    this.timer.unref?.();
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    const row = this.select.get(key, this.now()) as { entry: string } | null;
    return row ? (JSON.parse(row.entry) as CachedAnswer) : undefined;
  }

  async set(key: string, entry: CachedAnswer, ttlMs: number): Promise<void> {
    this.upsert.run(key, this.now() + ttlMs, JSON.stringify(entry));
  }

  /** Deletes expired entries; a storage fault is left to the next sweep (the cache is optional). */
  deleteExpired(): number {
    try {
      return this.sweep.run(this.now()).changes;
    } catch {
      return 0;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
