import { Database } from "bun:sqlite";
import { asc, gt, sql } from "drizzle-orm";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import type { Logger } from "../../log/logger";
import * as sqliteSchema from "../schema";
import { type PgDb, migratePostgres } from "./db";
import { requests as pgRequests } from "./schema";
import { type AuditSink, PostgresSink } from "./sink";

// Moves a node's audit rows from its SQLite file (the spool: the audit writer keeps writing there
// as on one node) to PostgreSQL, in id order, in batches, off the request path. The spool has an
// identity of its own (a random id stored in it) and PostgreSQL keeps (spool, local id) unique, so
// where shipping resumes is read back from PostgreSQL — max(local id) of this spool — and a batch
// sent twice (a node killed between the insert and the next read) inserts nothing the second time.
// Nothing is written to the spool but its identity, once: the writer stays its only writer.

const BATCH = 500;
const IDLE_MS = 250;
const BACKOFF_MIN_MS = 250;
/** PostgreSQL back within 5 s is noticed within 5 s (SPEC §8): retries stay at most 2 s apart. */
const BACKOFF_MAX_MS = 2000;
const IDLE_CHECK_MS = 2000;

type SpoolDb = BunSQLiteDatabase<typeof sqliteSchema>;

export class SpoolShipper {
  /** Whether the last write reached PostgreSQL. */
  up = false;
  /** Rows in the spool not yet in PostgreSQL (as of the last pass). */
  pending = 0;
  /** Rows this process added to PostgreSQL. */
  shipped = 0;
  private readonly sqlite: Database;
  private readonly spool: SpoolDb;
  private readonly sink: AuditSink;
  readonly spoolId: string;
  /** Last local id known to be in PostgreSQL; undefined until read back from it. */
  private watermark: number | undefined;
  /** Last local id confirmed in PostgreSQL, kept while it is away (the pending count). */
  private confirmed = 0;
  private migrated = false;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private backoff = BACKOFF_MIN_MS;
  private closed = false;
  private warnedDown = false;
  /** Last time PostgreSQL answered (ms). */
  private lastContact = 0;

  constructor(
    spoolFile: string,
    private readonly pg: PgDb,
    private readonly log: Logger,
  ) {
    this.sqlite = new Database(spoolFile, { strict: true });
    this.sqlite.exec("PRAGMA busy_timeout = 5000");
    this.sqlite.exec("CREATE TABLE IF NOT EXISTS spool_identity (id TEXT NOT NULL)");
    const row = this.sqlite.query<{ id: string }, []>("SELECT id FROM spool_identity LIMIT 1").get();
    if (row) this.spoolId = row.id;
    else {
      this.spoolId = crypto.randomUUID();
      this.sqlite.query("INSERT INTO spool_identity (id) VALUES (?)").run(this.spoolId);
    }
    // Reads only from here on: never wait on the writer's lock for long.
    this.sqlite.exec("PRAGMA busy_timeout = 25");
    this.spool = drizzle({ client: this.sqlite, schema: sqliteSchema });
    this.sink = new PostgresSink(pg);
  }

  /** Ships what the spool holds now (a restarted node replays what it had not shipped), then keeps going. */
  async start(): Promise<void> {
    await this.pass();
    this.schedule(this.up ? IDLE_MS : this.backoff);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.pass().then(() => this.schedule(this.up ? IDLE_MS : this.nextBackoff()));
    }, ms);
    this.timer.unref?.();
  }

  private nextBackoff(): number {
    const wait = this.backoff;
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    return wait;
  }

  /** One pass: everything in the spool past the watermark, batch by batch. */
  pass(): Promise<void> {
    this.running ??= this.ship().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async ship(): Promise<void> {
    try {
      if (!this.migrated) {
        await migratePostgres(this.pg);
        this.migrated = true;
      }
      if (this.watermark === undefined) {
        const [row] = await this.pg
          .select({ last: sql<string | null>`max(${pgRequests.localId})` })
          .from(pgRequests)
          .where(sql`${pgRequests.spool} = ${this.spoolId}`);
        this.watermark = Number(row?.last ?? 0);
        this.confirmed = this.watermark;
      }
      let wrote = false;
      for (;;) {
        const rows = this.readAfter(this.watermark);
        if (rows.length === 0) break;
        wrote = true;
        this.shipped += await this.sink.writeBatch(rows.map(({ id, ...r }) => ({ ...r, spool: this.spoolId, localId: id! })));
        this.watermark = this.confirmed = rows.at(-1)!.id!;
        if (rows.length < BATCH || this.closed) break;
      }
      // An idle node still notices PostgreSQL leaving within seconds (SPEC §8: within 5 s).
      if (wrote) this.lastContact = Date.now();
      else if (Date.now() - this.lastContact >= IDLE_CHECK_MS) {
        await this.pg.$client`select 1`;
        this.lastContact = Date.now();
      }
      this.pending = this.countAfter(this.watermark);
      this.setUp(true);
    } catch (e) {
      // Where PostgreSQL stopped is read again once it answers (a batch may have landed).
      this.watermark = undefined;
      this.pending = this.countAfter(this.confirmed);
      this.setUp(false, (e as Error).message);
    }
  }

  private readAfter(id: number) {
    return this.spool.select().from(sqliteSchema.requests).where(gt(sqliteSchema.requests.id, id)).orderBy(asc(sqliteSchema.requests.id)).limit(BATCH).all();
  }

  private countAfter(id: number): number {
    try {
      return this.sqlite.query<{ n: number }, [number]>("SELECT count(*) AS n FROM requests WHERE id > ?").get(id)?.n ?? 0;
    } catch {
      return this.pending;
    }
  }

  private setUp(up: boolean, error?: string): void {
    if (up) {
      this.backoff = BACKOFF_MIN_MS;
      if (!this.up && this.warnedDown) this.log.warn("storage: PostgreSQL is back; spooled audit rows are being written", { pending: this.pending });
      this.warnedDown = false;
    } else if (!this.warnedDown) {
      this.warnedDown = true;
      this.log.warn("storage: PostgreSQL unreachable; audit rows wait in this node's spool", { error });
    }
    this.up = up;
  }

  /** Stops shipping after one last pass (bounded): what is left waits in the spool for the next start. */
  async stop(drainMs = 3000): Promise<void> {
    clearTimeout(this.timer);
    await Promise.race([this.pass(), Bun.sleep(drainMs)]);
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.race([this.running ?? Promise.resolve(), Bun.sleep(drainMs)]);
    this.sqlite.close();
  }
}
