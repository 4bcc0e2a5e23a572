import { receiveMessageOnPort } from "node:worker_threads";
import { AuditQueue, type AuditQueueOptions } from "./audit-queue";
import { COUNTER, type FromWriter, STATE_FAILED, STATE_READY, SYNC_DONE, SYNC_STATE, type ToWriter, type WriterInit } from "./audit-protocol";
import { pushRowValues, type RowValue, SqliteAuditSink } from "./audit-rows";
import type { Db } from "./db";
import { purgeAudit } from "./retention";
import type { BodyRow, RequestRow } from "./schema";
import { SpendCounter } from "./spend-counter";

// The audit writer as the request thread sees it. For a database file the SQLite work (inserts,
// the spend rollup, retention deletes) runs on a writer thread (audit-worker.ts) with its own
// connection: a request appends its row as one short JSON tuple to a text batch, posted every few
// milliseconds or every POST_ROWS rows, so the request thread never waits for SQLite and never
// pauses for a batch. An in-memory database cannot be shared with another thread: its queue runs
// here. Either way the same queue (audit-queue.ts) bounds, retries and counts.
//
// `flush()` stays synchronous (shutdown, the admin API, tests): it posts what is pending and waits
// (Atomics.wait, bounded) until the writer has tried to write all of it, then takes the writer's
// reports (errors, drops) at once, so callers see the same state as with a same-thread writer.

export interface AuditWriterOptions extends AuditQueueOptions {
  /** Write on a worker thread: default when the database is a file. */
  thread?: boolean;
}

/** Rows gathered before they are posted at once, and the longest a row waits to be posted. */
const POST_ROWS = 256;
const POST_MS = 20;
/** The longest a synchronous flush waits for the writer thread (it normally takes milliseconds). */
const FLUSH_WAIT_MS = 15_000;
/** The longest anything waits for the writer thread to start. */
const START_WAIT_MS = 5_000;

/** The writer thread's module: beside this file when run from source. In the compiled binary it is
 *  an entry point of its own (scripts/build.ts), found by its path under src/ — this file is then
 *  part of a chunk at the root, so a path relative to it would miss. */
function writerModule(): string {
  return /\/\$bunfs\/|~BUN/.test(import.meta.url) ? "./store/audit-worker.ts" : new URL("./audit-worker.ts", import.meta.url).href;
}

export class AuditWriter {
  /** Spend per client and day, current as rows are queued (budgets read it, not the table). */
  readonly spend: SpendCounter;
  private inline: AuditQueue | undefined;
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private counters: Float64Array | undefined;
  private sync: Int32Array | undefined;
  /** Rows not posted yet: their tuples as JSON, comma-separated. */
  private pending = "";
  private pendingRows = 0;
  private pendingBodies: BodyRow[] = [];
  /** Rows and bodies posted to the writer thread so far. */
  private posted = 0;
  private seq = 0;
  private purgeId = 0;
  private postTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly scratch: RowValue[] = [];
  private readonly purges = new Map<number, { resolve: (r: { rows: number; more: boolean }) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly opts: AuditWriterOptions = {},
  ) {
    this.spend = new SpendCounter(db);
    const file = db.$client.filename;
    if (!(opts.thread ?? (file !== ":memory:" && file !== ""))) this.inline = this.inlineQueue();
  }

  private inlineQueue(): AuditQueue {
    return new AuditQueue(new SqliteAuditSink(this.db.$client), this.opts);
  }

  /** Rows and bodies waiting to be written. */
  get depth(): number {
    if (this.inline) return this.inline.depth;
    const c = this.counters;
    return this.pendingRows + this.pendingBodies.length + (c ? this.posted - c[COUNTER.received]! + c[COUNTER.queued]! : 0);
  }

  get written(): number {
    return this.inline ? this.inline.written : (this.counters?.[COUNTER.written] ?? 0);
  }

  /** Rows dropped because the queue was full (storage failing for long). */
  get dropped(): number {
    return this.inline ? this.inline.dropped : (this.counters?.[COUNTER.dropped] ?? 0);
  }

  /** Captured bodies dropped because their queue was full. */
  get droppedBodies(): number {
    return this.inline ? this.inline.droppedBodies : (this.counters?.[COUNTER.droppedBodies] ?? 0);
  }

  push(row: RequestRow): void {
    this.spend.add(row.client ?? "", row.ts, row.costUsd ?? 0);
    if (this.inline) {
      const values: RowValue[] = [];
      pushRowValues(values, row);
      this.inline.push(values);
      return;
    }
    const scratch = this.scratch;
    scratch.length = 0;
    pushRowValues(scratch, row);
    const json = JSON.stringify(scratch);
    this.pending = this.pendingRows === 0 ? json : `${this.pending},${json}`;
    if (++this.pendingRows >= POST_ROWS) this.post();
    else this.postSoon();
  }

  pushBody(row: BodyRow): void {
    if (this.inline) return this.inline.pushBody(row);
    this.pendingBodies.push(row);
    this.postSoon();
  }

  private postSoon(): void {
    if (this.postTimer || this.closed) return;
    this.postTimer = setTimeout(() => {
      this.postTimer = undefined;
      this.post();
    }, POST_MS);
    this.postTimer.unref?.();
  }

  /** Hands what is pending to the writer thread (starting it on first use). */
  private post(): void {
    if (this.inline) return;
    if (!this.port) this.startWorker();
    if (this.inline || !this.port) return;
    const n = this.pendingRows + this.pendingBodies.length;
    if (n === 0) return;
    if (Atomics.load(this.sync!, SYNC_STATE) !== STATE_READY) {
      // Not up yet: rows stay here (a thread that fails to start leaves them to the inline queue).
      this.postSoon();
      return;
    }
    this.send({ t: "rows", rows: this.pending, n, bodies: this.pendingBodies.length ? this.pendingBodies : undefined });
    this.posted += n;
    this.pending = "";
    this.pendingRows = 0;
    this.pendingBodies = [];
  }

  private send(m: ToWriter): void {
    this.port!.postMessage(m);
  }

  private startWorker(): void {
    const channel = new MessageChannel();
    const counters = new SharedArrayBuffer(8 * 8);
    const sync = new SharedArrayBuffer(4 * 4);
    this.counters = new Float64Array(counters);
    this.sync = new Int32Array(sync);
    this.port = channel.port1;
    this.port.onmessage = (e) => this.onReport(e.data as FromWriter);
    (this.port as unknown as { unref?: () => void }).unref?.();
    // A small heap: the thread holds a queue of rows and a few prepared statements, nothing more.
    const worker = new Worker(writerModule(), { smol: true, ref: false, name: "lmrelay audit writer" });
    worker.addEventListener("error", (e) => this.writerFailed((e as ErrorEvent).message || "it stopped"));
    const { onError, onDrop, ...options } = this.opts;
    const init: WriterInit = { file: this.db.$client.filename, options, port: channel.port2, counters, sync };
    worker.postMessage(init, [channel.port2]);
    this.worker = worker;
  }

  /** The writer thread could not start or stopped: write on this thread from now on. */
  private writerFailed(why: string): void {
    if (this.inline) return;
    this.opts.onError?.(new Error(`the audit writer thread failed (${why}); writing on the request thread`));
    this.worker?.terminate();
    this.worker = undefined;
    this.port?.close();
    this.inline = this.inlineQueue();
    if (this.pendingRows > 0) for (const values of JSON.parse(`[${this.pending}]`) as RowValue[][]) this.inline.push(values);
    for (const b of this.pendingBodies) this.inline.pushBody(b);
    this.pending = "";
    this.pendingRows = 0;
    this.pendingBodies = [];
  }

  private onReport(m: FromWriter): void {
    if (m.t === "error") this.opts.onError?.(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
    else if (m.t === "drop") for (let n = m.from; n <= m.to; n++) this.opts.onDrop?.(n);
    else {
      const waiter = this.purges.get(m.id);
      this.purges.delete(m.id);
      if ("error" in m) waiter?.reject(new Error(m.error));
      else waiter?.resolve({ rows: m.rows, more: m.more });
    }
  }

  /** Waits until the writer thread is up; false when it is not (then rows go to the inline queue). */
  private ready(): boolean {
    const sync = this.sync!;
    const end = Date.now() + START_WAIT_MS;
    for (let s; (s = Atomics.load(sync, SYNC_STATE)) !== STATE_READY; ) {
      const left = end - Date.now();
      if (s === STATE_FAILED || left <= 0) {
        this.takeReports();
        this.writerFailed(s === STATE_FAILED ? "it could not open the database" : "it did not start");
        return false;
      }
      Atomics.wait(sync, SYNC_STATE, s, left);
    }
    return true;
  }

  /** Asks the writer thread for `t` and waits (bounded) until it is done. */
  private roundTrip(t: "flush" | "close"): void {
    if (!this.port) this.startWorker();
    if (!this.ready()) return;
    this.post();
    const seq = ++this.seq;
    this.send({ t, seq });
    const sync = this.sync!;
    const end = Date.now() + FLUSH_WAIT_MS;
    for (let done; (done = Atomics.load(sync, SYNC_DONE)) < seq; ) {
      const left = end - Date.now();
      if (left <= 0) break;
      Atomics.wait(sync, SYNC_DONE, done, left);
    }
    this.takeReports();
  }

  /** Delivers the writer thread's reports now instead of on a later turn of the event loop. */
  private takeReports(): void {
    const port = this.port as unknown as Parameters<typeof receiveMessageOnPort>[0];
    for (let m; (m = receiveMessageOnPort(port)); ) this.onReport(m.message as FromWriter);
  }

  /** Writes everything queued (waiting for the writer thread); on failure keeps it for the next try. */
  flush(): void {
    if (this.inline) return this.inline.flush();
    // After close() the thread is gone: nothing to wait for.
    if (this.closed || (this.pendingRows + this.pendingBodies.length === 0 && !this.port)) return;
    this.roundTrip("flush");
    if (this.inline) (this.inline as AuditQueue).flush();
  }

  /** One chunk of retention (retention.ts): deleted on the writer thread, like every write. */
  purge(days: number, now: number, chunk?: number): Promise<{ rows: number; more: boolean }> {
    if (this.inline || !this.port) return Promise.resolve(purgeAudit(this.db, days, now, chunk));
    if (this.closed) return Promise.reject(new Error("the audit writer is closed"));
    const id = ++this.purgeId;
    return new Promise((resolve, reject) => {
      this.purges.set(id, { resolve, reject });
      this.send({ t: "purge", id, days, now, chunk });
    });
  }

  /** Stops taking rows, writes what is queued (one last try if storage fails), stops the thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
    if (this.inline) return this.inline.close();
    if (this.pendingRows + this.pendingBodies.length > 0 || this.port) this.roundTrip("close");
    if (this.inline) return (this.inline as AuditQueue).close();
    for (const w of this.purges.values()) w.reject(new Error("the audit writer closed"));
    this.purges.clear();
    this.port?.close();
    this.worker?.terminate();
    this.worker = undefined;
  }
}
