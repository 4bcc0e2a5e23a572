import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { GatewayError, lmrelayError } from "../../core/errors";
import type { ResponseStore, StoredResponse } from "../../core/responses-store";
import { type PgDb, migratePostgres } from "./db";
import { responseItems, responses } from "./schema";

// The Responses API store of several nodes (`storage.postgres`, SPEC §2 and §8): every node reads
// the responses every node stored. A response is readable on the node that stored it at once (it
// is kept in memory until PostgreSQL has it) and on the others as soon as its write lands, well
// within SPEC's 5 s; while PostgreSQL is away, writes wait in memory and are retried. Reads are
// bounded: a PostgreSQL that does not answer fails the lookup (the route says so), never hangs it.

type Json = Record<string, unknown>;


const DAY_MS = 86_400_000;
const RETRY_MS = 1_000;
const PURGE_CHUNK = 2_000;
/** Longest a read may wait for PostgreSQL. */
const READ_TIMEOUT_MS = 3_000;
/** Responses waiting for PostgreSQL; beyond it the oldest is given up (logged by `onError`). */
const MAX_PENDING = 10_000;

export class PostgresResponseStore implements ResponseStore {
  /** Responses PostgreSQL does not have yet, by client and id, in the order they were stored. */
  private readonly pending = new Map<string, StoredResponse>();
  private migrated: Promise<void> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private writing = false;
  private closed = false;
  private readonly purger: ReturnType<typeof setInterval>;
  private readonly firstPurge: ReturnType<typeof setTimeout>;

  constructor(
    private readonly db: PgDb,
    private readonly retentionDays: () => number,
    private readonly onError: (err: unknown) => void = () => {},
    purgeIntervalMs = 3_600_000,
  ) {
    this.firstPurge = setTimeout(() => void this.purge(), 5_000);
    this.firstPurge.unref?.();
    this.purger = setInterval(() => void this.purge(), purgeIntervalMs);
    this.purger.unref?.();
  }

  /** Readable here at once; written to PostgreSQL in the background, in order. */
  put(r: StoredResponse): void {
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      this.onError(new Error(`PostgreSQL has not taken stored responses for a while; ${MAX_PENDING} wait, the oldest is given up`));
    }
    this.pending.set(key(r.client, r.id), r);
    void this.drain();
  }

  /** Number of responses waiting for PostgreSQL (metrics, tests). */
  get waiting(): number {
    return this.pending.size;
  }

  /** Writes the waiting responses one after another; stops at the first failure and retries later. */
  async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      await this.ready();
      for (const [k, r] of this.pending) {
        await this.write(r);
        if (this.pending.get(k) === r) this.pending.delete(k);
      }
    } catch (e) {
      this.onError(e);
      if (this.closed) return;
      this.retry ??= setTimeout(() => {
        this.retry = undefined;
        void this.drain();
      }, RETRY_MS);
      this.retry.unref?.();
    } finally {
      this.writing = false;
    }
  }

  private ready(): Promise<void> {
    this.migrated ??= migratePostgres(this.db).catch((e) => {
      this.migrated = undefined;
      throw e;
    });
    return this.migrated;
  }

  private async write(r: StoredResponse): Promise<void> {
    const items: (typeof responseItems.$inferInsert)[] = [];
    for (const item of [...r.input, ...((r.response.output as Json[] | undefined) ?? [])])
      if (typeof item.id === "string") items.push({ client: r.client, id: item.id, responseId: r.id, ts: r.createdAt, item: JSON.stringify(item) });
    await this.db.transaction(async (tx) => {
      await tx
        .insert(responses)
        .values({ id: r.id, client: r.client, ts: r.createdAt, previousId: r.previousResponseId ?? null, response: JSON.stringify(r.response), input: JSON.stringify(r.input) })
        .onConflictDoNothing();
      for (let i = 0; i < items.length; i += 100)
        await tx
          .insert(responseItems)
          .values(items.slice(i, i + 100))
          .onConflictDoUpdate({ target: [responseItems.client, responseItems.id], set: { responseId: r.id, ts: r.createdAt, item: sql.raw("excluded.item") } });
    });
  }

  async get(client: string, id: string): Promise<StoredResponse | undefined> {
    const hit = this.pending.get(key(client, id));
    if (hit) return hit;
    const [row] = await this.query(() => this.db.select().from(responses).where(and(eq(responses.client, client), eq(responses.id, id))).limit(1));
    if (!row || row.ts < this.cutoff()) return undefined;
    const out: StoredResponse = { id: row.id, client: row.client, createdAt: row.ts, response: JSON.parse(row.response), input: JSON.parse(row.input) };
    if (row.previousId) out.previousResponseId = row.previousId;
    return out;
  }

  async item(client: string, id: string): Promise<Json | undefined> {
    for (const r of this.pending.values())
      if (r.client === client) for (const item of [...r.input, ...((r.response.output as Json[] | undefined) ?? [])]) if (item.id === id) return item;
    const [row] = await this.query(() =>
      this.db
        .select({ item: responseItems.item, ts: responseItems.ts })
        .from(responseItems)
        .innerJoin(responses, and(eq(responses.client, responseItems.client), eq(responses.id, responseItems.responseId)))
        .where(and(eq(responseItems.client, client), eq(responseItems.id, id)))
        .limit(1),
    );
    return row && row.ts >= this.cutoff() ? JSON.parse(row.item) : undefined;
  }

  async delete(client: string, id: string): Promise<boolean> {
    const wasPending = this.pending.delete(key(client, id));
    const deleted = await this.query(() =>
      this.db.transaction(async (tx) => {
        const gone = await tx.delete(responses).where(and(eq(responses.client, client), eq(responses.id, id))).returning({ id: responses.id });
        if (gone.length > 0) await tx.delete(responseItems).where(and(eq(responseItems.client, client), eq(responseItems.responseId, id)));
        return gone.length > 0;
      }),
    );
    return deleted || wasPending;
  }

  /** Deletes responses (and their items) older than the retention, a chunk per transaction. Every
   *  node runs it; deleting what another node already deleted is a no-op. */
  async purge(now = Date.now()): Promise<number> {
    const cutoff = this.cutoff(now);
    let total = 0;
    try {
      await this.ready();
      for (let round = 0; round < 1_000; round++) {
        const ids = (await this.db.select({ id: responses.id }).from(responses).where(lt(responses.ts, cutoff)).limit(PURGE_CHUNK)).map((r) => r.id);
        await this.db.transaction(async (tx) => {
          if (ids.length > 0) await tx.delete(responses).where(and(inArray(responses.id, ids), lt(responses.ts, cutoff)));
          await tx.delete(responseItems).where(lt(responseItems.ts, cutoff));
        });
        total += ids.length;
        if (ids.length < PURGE_CHUNK) break;
      }
    } catch (e) {
      this.onError(e);
    }
    return total;
  }

  /** A read on the request's path: bounded, and a PostgreSQL that fails is a 503 to the client. */
  private async query<T>(run: () => PromiseLike<T>): Promise<T> {
    try {
      await bounded(this.ready());
      return await bounded(run());
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      // The driver's words go to the log (scrubbed there), not to the client.
      this.onError(e);
      throw lmrelayError("unavailable", "the stored responses are in PostgreSQL, which failed to answer; retry shortly", { retryAfterMs: 1000 });
    }
  }

  private cutoff(now = Date.now()): number {
    return now - this.retentionDays() * DAY_MS;
  }

  /** Stops the timers and tries once more, for at most 2 s, to write what waits. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.purger);
    clearTimeout(this.firstPurge);
    clearTimeout(this.retry);
    this.retry = undefined;
    const until = Date.now() + 2_000;
    while (this.pending.size > 0 && Date.now() < until) {
      await Promise.race([this.drain(), Bun.sleep(Math.max(0, until - Date.now()))]);
      if (this.pending.size > 0) await Bun.sleep(50);
    }
    if (this.pending.size > 0) this.onError(new Error(`${this.pending.size} stored responses never reached PostgreSQL before shutdown`));
  }
}

function key(client: string, id: string): string {
  return `${client}\n${id}`;
}

function bounded<T>(p: PromiseLike<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    Promise.resolve(p),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(lmrelayError("unavailable", `the stored responses are in PostgreSQL, which did not answer within ${READ_TIMEOUT_MS} ms; retry shortly`, { retryAfterMs: 1000 })),
        READ_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
