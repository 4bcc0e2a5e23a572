import { sql } from "drizzle-orm";
import { dayKey } from "./spend";
import type { Db } from "./db";
import { type BodyRow, type RequestRow, requestBodies, requests, spendDaily } from "./schema";

// Audit rows are queued in memory and written in batches, one transaction each, off the request
// path (notes Q5: ≈250k rows/s batched vs ≈10k/s one by one). The same transaction adds each row
// to the daily spend rollup, so the rollup never disagrees with the rows. The queue is bounded;
// when storage fails rows wait and are retried; overflow is counted and reported, never silent.

export interface AuditWriterOptions {
  flushIntervalMs?: number;
  batchSize?: number;
  maxQueue?: number;
  /** Captured bodies waiting to be written, in characters (they can be large). */
  maxBodyChars?: number;
  onError?: (err: unknown) => void;
  onDrop?: (dropped: number) => void;
}

const p = (name: string) => sql.placeholder(name);

const MAX_RETRY_MS = 5_000;

export class AuditWriter {
  private queue: RequestRow[] = [];
  private bodies: BodyRow[] = [];
  private bodyChars = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly insert;
  private readonly insertMany;
  private readonly rollup;
  private readonly insertBody;
  private readonly batchSize: number;
  private readonly maxQueue: number;
  private readonly maxBodyChars: number;
  /** Rows dropped because the queue was full (storage failing for long). */
  dropped = 0;
  /** Captured bodies dropped because their queue was full. */
  droppedBodies = 0;
  written = 0;
  private failing = false;
  private flushQueued = false;
  /** While storage fails, timer ticks wait until then (backing off up to MAX_RETRY_MS). */
  private retryAt = 0;
  private retryMs: number;

  constructor(
    private readonly db: Db,
    private readonly opts: AuditWriterOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.maxQueue = opts.maxQueue ?? 100_000;
    this.maxBodyChars = opts.maxBodyChars ?? 64 * 1024 * 1024;
    // The row insert is the hot one: a raw prepared statement with positional values costs half of
    // drizzle's per-row placeholder mapping. Column names come from the schema, so they stay in step.
    // Several rows per statement: each run() crossing into SQLite costs about as much as a row.
    const names = COLUMNS.map((c) => `"${requests[c].name}"`).join(", ");
    const tuple = `(${COLUMNS.map(() => "?").join(", ")})`;
    this.insert = db.$client.prepare(`INSERT INTO "requests" (${names}) VALUES ${tuple}`);
    this.insertMany = db.$client.prepare(`INSERT INTO "requests" (${names}) VALUES ${Array(ROWS_PER_INSERT).fill(tuple).join(", ")}`);
    this.rollup = db
      .insert(spendDaily)
      .values({
        day: p("day"),
        client: p("client"),
        provider: p("provider"),
        model: p("model"),
        requests: p("requests"),
        errors: p("errors"),
        inputTokens: p("inputTokens"),
        outputTokens: p("outputTokens"),
        costUsd: p("costUsd"),
      } as never)
      .onConflictDoUpdate({
        target: [spendDaily.day, spendDaily.client, spendDaily.provider, spendDaily.model],
        set: {
          requests: sql`${spendDaily.requests} + excluded.requests`,
          errors: sql`${spendDaily.errors} + excluded.errors`,
          inputTokens: sql`${spendDaily.inputTokens} + excluded.input_tokens`,
          outputTokens: sql`${spendDaily.outputTokens} + excluded.output_tokens`,
          costUsd: sql`${spendDaily.costUsd} + excluded.cost_usd`,
        },
      })
      .prepare();
    this.insertBody = db
      .insert(requestBodies)
      .values({ ts: p("ts"), requestId: p("requestId"), request: p("request"), response: p("response"), truncated: p("truncated") } as never)
      .prepare();
    this.retryMs = opts.flushIntervalMs ?? 200;
    this.timer = setInterval(() => {
      if (!this.failing || Date.now() >= this.retryAt) this.flush();
    }, opts.flushIntervalMs ?? 200);
    this.timer.unref?.();
  }

  /** Rows and bodies waiting to be written. */
  get depth(): number {
    return this.queue.length + this.bodies.length;
  }

  push(row: RequestRow): void {
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.dropped++;
      this.opts.onDrop?.(this.dropped);
    }
    this.queue.push(row);
    this.flushSoon(this.queue.length >= this.batchSize);
  }

  pushBody(row: BodyRow): void {
    const size = (row.request?.length ?? 0) + (row.response?.length ?? 0);
    while (this.bodies.length > 0 && this.bodyChars + size > this.maxBodyChars) {
      const old = this.bodies.shift()!;
      this.bodyChars -= (old.request?.length ?? 0) + (old.response?.length ?? 0);
      this.droppedBodies++;
      this.opts.onDrop?.(this.dropped + this.droppedBodies);
    }
    this.bodies.push(row);
    this.bodyChars += size;
    this.flushSoon(this.bodies.length >= this.batchSize);
  }

  private flushSoon(full: boolean): void {
    if (!full || this.failing || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Writes everything queued; on failure keeps the rows for the next try. */
  flush(): void {
    while (this.queue.length > 0 || this.bodies.length > 0) {
      const batch = this.queue.slice(0, this.batchSize);
      const bodies = this.bodies.slice(0, this.batchSize);
      try {
        this.db.transaction(() => {
          let i = 0;
          for (; i + ROWS_PER_INSERT <= batch.length; i += ROWS_PER_INSERT) {
            const values: (string | number | null)[] = [];
            for (let j = i; j < i + ROWS_PER_INSERT; j++) pushRowValues(values, batch[j]!);
            this.insertMany.run(...values);
          }
          for (; i < batch.length; i++) {
            const values: (string | number | null)[] = [];
            pushRowValues(values, batch[i]!);
            this.insert.run(...values);
          }
          for (const group of rollupOf(batch)) this.rollup.run(group);
          for (const b of bodies)
            this.insertBody.run({ ts: b.ts, requestId: b.requestId, request: b.request ?? null, response: b.response ?? null, truncated: b.truncated ? 1 : 0 });
        });
        this.queue.splice(0, batch.length);
        this.bodies.splice(0, bodies.length);
        for (const b of bodies) this.bodyChars -= (b.request?.length ?? 0) + (b.response?.length ?? 0);
        this.written += batch.length;
        this.failing = false;
        this.retryMs = this.opts.flushIntervalMs ?? 200;
      } catch (err) {
        if (!this.failing) this.opts.onError?.(err);
        this.failing = true;
        // Each try of a locked or full database costs a (short) synchronous wait: space them out.
        this.retryAt = Date.now() + this.retryMs;
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        return;
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}

function rollupOf(batch: RequestRow[]): Record<string, unknown>[] {
  const groups = new Map<string, Record<string, number | string>>();
  for (const row of batch) {
    const day = dayKey(row.ts);
    const client = row.client ?? "";
    const provider = row.provider ?? "";
    const model = row.model ?? "";
    const key = `${day}\0${client}\0${provider}\0${model}`;
    let g = groups.get(key);
    if (!g) {
      g = { day, client, provider, model, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      groups.set(key, g);
    }
    (g.requests as number)++;
    if (row.status >= 400) (g.errors as number)++;
    (g.inputTokens as number) += row.inputTokens ?? 0;
    (g.outputTokens as number) += row.outputTokens ?? 0;
    (g.costUsd as number) += row.costUsd ?? 0;
  }
  return [...groups.values()];
}

const COLUMNS = [
  "ts", "requestId", "protocol", "endpoint", "client", "requestedModel", "provider", "model", "keyName", "status", "stream",
  "latencyMs", "ttftMs", "inputTokens", "outputTokens", "cachedTokens", "cacheWriteTokens", "usageEstimated", "costUsd",
  "unpriced", "error", "attempts", "adjusted", "node",
] as const;

/** Rows per multi-row INSERT (24 columns each: well under SQLite's 32766 variables). */
const ROWS_PER_INSERT = 32;

/** Appends a row's values in COLUMNS order. */
function pushRowValues(out: (string | number | null)[], row: RequestRow): void {
  out.push(
    row.ts,
    row.requestId,
    row.protocol,
    row.endpoint,
    row.client ?? null,
    row.requestedModel ?? null,
    row.provider ?? null,
    row.model ?? null,
    row.keyName ?? null,
    row.status,
    row.stream ? 1 : 0,
    row.latencyMs,
    row.ttftMs ?? null,
    row.inputTokens ?? 0,
    row.outputTokens ?? 0,
    row.cachedTokens ?? 0,
    row.cacheWriteTokens ?? 0,
    row.usageEstimated ? 1 : 0,
    row.costUsd ?? 0,
    row.unpriced ? 1 : 0,
    row.error ?? null,
    row.attempts ?? "[]",
    row.adjusted ?? null,
    row.node ?? null,
  );
}
