import type { Statement } from "bun:sqlite";
import { and, eq, inArray, lt } from "drizzle-orm";
import type { ResponseStore, StoredResponse } from "../core/responses-store";
import type { Db } from "./db";
import { responseItems, responses } from "./schema";

// The Responses API store in SQLite (the `ResponseStore` of inbound/responses/store.ts, by shape).
// A response is written synchronously when its answer ends, so the client's next request reads it;
// if the write fails (the database locked by another process), it stays in memory, is served from
// there, and is written again shortly. Old responses go after `responses.retentionDays`.

type Json = Record<string, unknown>;


const DAY_MS = 86_400_000;
const RETRY_MS = 1_000;
const PURGE_CHUNK = 2_000;

export class SqliteResponseStore implements ResponseStore {
  /** Responses not yet written (a failed write), by client and id. */
  private readonly pending = new Map<string, StoredResponse>();
  private retry: ReturnType<typeof setTimeout> | undefined;
  private purger: ReturnType<typeof setInterval> | undefined;
  private firstPurge: ReturnType<typeof setTimeout> | undefined;
  private prepared: Statements | undefined;

  constructor(
    private readonly db: Db,
    /** Read at each purge, so a reload that changes it takes effect. */
    private readonly retentionDays: () => number,
    private readonly onError: (err: unknown) => void = () => {},
    purgeIntervalMs = 3_600_000,
  ) {
    // First pass shortly after start (off the start-up path), then hourly.
    this.firstPurge = setTimeout(() => this.purge(), 5_000);
    this.firstPurge.unref?.();
    this.purger = setInterval(() => this.purge(), purgeIntervalMs);
    this.purger.unref?.();
  }

  put(r: StoredResponse): void {
    try {
      this.write(r);
    } catch (e) {
      this.onError(e);
      this.pending.set(key(r.client, r.id), r);
      this.retry ??= setTimeout(() => this.flush(), RETRY_MS);
    }
  }

  private write(r: StoredResponse): void {
    const items: [string, string][] = [];
    for (const item of [...r.input, ...((r.response.output as Json[] | undefined) ?? [])]) if (typeof item.id === "string") items.push([item.id, JSON.stringify(item)]);
    this.statements().write(r, items);
  }

  /** Prepared once (drizzle's query builder cost ~20 µs a statement; a response is written on the
   *  request thread when its answer ends, in one transaction: readable by the next request). */
  private statements(): Statements {
    if (this.prepared) return this.prepared;
    const c = this.db.$client;
    // Same statements as drizzle's insert().onConflictDoNothing() and .onConflictDoUpdate(): an id
    // stored again keeps its first response; an item id seen again points at the newest response.
    const insertResponse = c.prepare('INSERT INTO "responses" ("id", "client", "ts", "previous_id", "response", "input") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    const insertItem = c.prepare(
      'INSERT INTO "response_items" ("client", "id", "response_id", "ts", "item") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("client", "id") DO UPDATE SET "response_id" = excluded."response_id", "ts" = excluded."ts", "item" = excluded."item"',
    );
    const selectResponse = c.prepare<ResponseRow, [string, string]>('SELECT "id", "client", "ts", "previous_id", "response", "input" FROM "responses" WHERE "client" = ? AND "id" = ?');
    // The statements run on the connection drizzle's transaction holds: one transaction as before.
    const write = (r: StoredResponse, items: [string, string][]) =>
      this.db.transaction(() => {
        insertResponse.run(r.id, r.client, r.createdAt, r.previousResponseId ?? null, JSON.stringify(r.response), JSON.stringify(r.input));
        for (const [id, item] of items) insertItem.run(r.client, id, r.id, r.createdAt, item);
      });
    // An item counts while the response it belongs to is stored (a deleted response takes its items).
    const selectItem = c.prepare<{ item: string; ts: number }, [string, string]>(
      'SELECT "response_items"."item", "response_items"."ts" FROM "response_items" INNER JOIN "responses" ON "responses"."id" = "response_items"."response_id" WHERE "response_items"."client" = ? AND "response_items"."id" = ?',
    );
    this.prepared = { write, selectResponse, selectItem };
    return this.prepared;
  }

  /** Writes what failed before; what fails again waits for the next try. */
  flush(): void {
    this.retry = undefined;
    for (const [k, r] of this.pending) {
      try {
        this.write(r);
        this.pending.delete(k);
      } catch (e) {
        this.onError(e);
        break;
      }
    }
    if (this.pending.size > 0) this.retry ??= setTimeout(() => this.flush(), RETRY_MS);
  }

  async get(client: string, id: string): Promise<StoredResponse | undefined> {
    const hit = this.pending.get(key(client, id));
    if (hit) return hit;
    const row = this.statements().selectResponse.get(client, id);
    if (!row || row.ts < this.cutoff()) return undefined;
    const out: StoredResponse = { id: row.id, client: row.client, createdAt: row.ts, response: JSON.parse(row.response), input: JSON.parse(row.input) };
    if (row.previous_id) out.previousResponseId = row.previous_id;
    return out;
  }

  async item(client: string, id: string): Promise<Json | undefined> {
    for (const r of this.pending.values())
      if (r.client === client) for (const item of [...r.input, ...((r.response.output as Json[] | undefined) ?? [])]) if (item.id === id) return item;
    const row = this.statements().selectItem.get(client, id);
    return row && row.ts >= this.cutoff() ? JSON.parse(row.item) : undefined;
  }

  async delete(client: string, id: string): Promise<boolean> {
    const wasPending = this.pending.delete(key(client, id));
    let deleted = false;
    this.db.transaction((tx) => {
      deleted = tx.delete(responses).where(and(eq(responses.client, client), eq(responses.id, id))).returning({ id: responses.id }).all().length > 0;
      if (deleted) tx.delete(responseItems).where(eq(responseItems.responseId, id)).run();
    });
    return deleted || wasPending;
  }

  /** Deletes responses (and their items) older than the retention, a chunk per transaction. */
  purge(now = Date.now()): number {
    const cutoff = this.cutoff(now);
    let total = 0;
    try {
      for (let round = 0; round < 1_000; round++) {
        const ids = this.db.select({ id: responses.id }).from(responses).where(lt(responses.ts, cutoff)).limit(PURGE_CHUNK).all().map((r) => r.id);
        this.db.transaction((tx) => {
          if (ids.length > 0) tx.delete(responses).where(inArray(responses.id, ids)).run();
          tx.delete(responseItems).where(lt(responseItems.ts, cutoff)).run();
        });
        total += ids.length;
        if (ids.length < PURGE_CHUNK) break;
      }
    } catch (e) {
      this.onError(e);
    }
    return total;
  }

  private cutoff(now = Date.now()): number {
    return now - this.retentionDays() * DAY_MS;
  }

  close(): void {
    clearInterval(this.purger);
    clearTimeout(this.firstPurge);
    clearTimeout(this.retry);
    this.purger = this.retry = this.firstPurge = undefined;
    this.flush();
  }
}

interface ResponseRow {
  id: string;
  client: string;
  ts: number;
  previous_id: string | null;
  response: string;
  input: string;
}

interface Statements {
  write: (r: StoredResponse, items: [string, string][]) => void;
  selectResponse: Statement<ResponseRow, [string, string]>;
  selectItem: Statement<{ item: string; ts: number }, [string, string]>;
}

function key(client: string, id: string): string {
  return `${client}\n${id}`;
}
