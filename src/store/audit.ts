import { sql } from "drizzle-orm";
import type { Db } from "./db";
import { type RequestRow, requests } from "./schema";

// Audit rows are queued in memory and written in batches, one transaction each, off the request
// path (notes Q5: ≈250k rows/s batched vs ≈10k/s one by one). The queue is bounded; when storage
// fails rows wait and are retried; overflow is counted and logged, never silent.

export interface AuditWriterOptions {
  flushIntervalMs?: number;
  batchSize?: number;
  maxQueue?: number;
  onError?: (err: unknown) => void;
  onDrop?: (dropped: number) => void;
}

export class AuditWriter {
  private queue: RequestRow[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly insert;
  private readonly batchSize: number;
  private readonly maxQueue: number;
  /** Rows dropped because the queue was full (storage failing for long). */
  dropped = 0;
  written = 0;
  private failing = false;

  constructor(
    private readonly db: Db,
    private readonly opts: AuditWriterOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.maxQueue = opts.maxQueue ?? 100_000;
    this.insert = db
      .insert(requests)
      .values({
        ts: sql.placeholder("ts"),
        requestId: sql.placeholder("requestId"),
        protocol: sql.placeholder("protocol"),
        endpoint: sql.placeholder("endpoint"),
        client: sql.placeholder("client"),
        requestedModel: sql.placeholder("requestedModel"),
        provider: sql.placeholder("provider"),
        model: sql.placeholder("model"),
        keyName: sql.placeholder("keyName"),
        status: sql.placeholder("status"),
        stream: sql.placeholder("stream"),
        latencyMs: sql.placeholder("latencyMs"),
        ttftMs: sql.placeholder("ttftMs"),
        inputTokens: sql.placeholder("inputTokens"),
        outputTokens: sql.placeholder("outputTokens"),
        cachedTokens: sql.placeholder("cachedTokens"),
        usageEstimated: sql.placeholder("usageEstimated"),
        costUsd: sql.placeholder("costUsd"),
        error: sql.placeholder("error"),
        attempts: sql.placeholder("attempts"),
      })
      .prepare();
    this.timer = setInterval(() => this.flush(), opts.flushIntervalMs ?? 200);
    this.timer.unref?.();
  }

  get depth(): number {
    return this.queue.length;
  }

  push(row: RequestRow): void {
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.dropped++;
      this.opts.onDrop?.(this.dropped);
    }
    this.queue.push(row);
    if (this.queue.length >= this.batchSize && !this.failing) queueMicrotask(() => this.flush());
  }

  /** Writes everything queued; on failure keeps the rows for the next try. */
  flush(): void {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.batchSize);
      try {
        this.db.transaction(() => {
          for (const row of batch) this.insert.run(normalise(row));
        });
        this.queue.splice(0, batch.length);
        this.written += batch.length;
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.opts.onError?.(err);
        this.failing = true;
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

function normalise(row: RequestRow): Record<string, unknown> {
  return {
    ts: row.ts,
    requestId: row.requestId,
    protocol: row.protocol,
    endpoint: row.endpoint,
    client: row.client ?? null,
    requestedModel: row.requestedModel ?? null,
    provider: row.provider ?? null,
    model: row.model ?? null,
    keyName: row.keyName ?? null,
    status: row.status,
    stream: row.stream ? 1 : 0,
    latencyMs: row.latencyMs,
    ttftMs: row.ttftMs ?? null,
    inputTokens: row.inputTokens ?? 0,
    outputTokens: row.outputTokens ?? 0,
    cachedTokens: row.cachedTokens ?? 0,
    usageEstimated: row.usageEstimated ? 1 : 0,
    costUsd: row.costUsd ?? 0,
    error: row.error ?? null,
    attempts: row.attempts ?? "[]",
  };
}
