import { Database } from "bun:sqlite";
import { AuditQueue } from "./audit-queue";
import { COUNTER, type FromWriter, STATE_FAILED, STATE_READY, SYNC_DONE, SYNC_STATE, type ToWriter, WRITER_BUSY_TIMEOUT_MS, type WriterInit } from "./audit-protocol";
import { type RowValues, SqliteAuditSink } from "./audit-rows";
import { purgeAudit } from "./retention";

// The audit writer thread (a Bun Worker with its own SQLite connection): the request thread only
// appends rows to a text batch and posts it now and then; here they are queued, written in
// transactions, retried while storage fails, and old ones deleted for retention. Counters the
// request thread reads at any time (metrics, depth) live in shared memory; a synchronous flush on
// the request thread waits on `SYNC_DONE` for the sequence number it posted (audit-protocol.ts).

function start(init: WriterInit): void {
  const { port } = init;
  const counters = new Float64Array(init.counters);
  const sync = new Int32Array(init.sync);
  const send = (m: FromWriter) => port.postMessage(m);
  let client: Database;
  let queue: AuditQueue;
  let dropFrom = 0;
  let dropTo = 0;
  try {
    client = new Database(init.file, { strict: true });
    // The request thread's connection migrated the file and set WAL (persistent); these are per
    // connection. Waiting for a lock blocks only this thread, so it may wait longer than the request
    // thread's connection does — but not long: a shutdown flush waits for this thread.
    client.exec(`PRAGMA busy_timeout = ${WRITER_BUSY_TIMEOUT_MS}`);
    client.exec("PRAGMA synchronous = NORMAL");
    // It appends and deletes by index: a small page cache will do (SQLite's default is 2 MB).
    client.exec("PRAGMA cache_size = -512");
    queue = new AuditQueue(new SqliteAuditSink(client), {
      ...init.options,
      onError: (err) => send({ t: "error", message: (err as Error)?.message ?? String(err), code: (err as { code?: string })?.code }),
      onDrop: (n) => {
        if (dropFrom === 0) dropFrom = n;
        dropTo = n;
      },
    });
  } catch (err) {
    send({ t: "error", message: `the audit writer thread could not open the database: ${(err as Error).message}` });
    Atomics.store(sync, SYNC_STATE, STATE_FAILED);
    Atomics.notify(sync, SYNC_STATE);
    return;
  }

  const report = () => {
    if (dropFrom !== 0) {
      send({ t: "drop", from: dropFrom, to: dropTo });
      dropFrom = dropTo = 0;
    }
    counters[COUNTER.written] = queue.written;
    counters[COUNTER.dropped] = queue.dropped;
    counters[COUNTER.droppedBodies] = queue.droppedBodies;
    counters[COUNTER.queued] = queue.depth;
  };
  // Retries while storage fails run on the queue's own timer: keep the counters current after them.
  const idle = setInterval(report, init.options.flushIntervalMs ?? 200);

  port.onmessage = (e) => {
    const m = e.data as ToWriter;
    if (m.t === "rows") {
      const rows = JSON.parse(`[${m.rows}]`) as RowValues[];
      for (const row of rows) queue.push(row);
      if (m.bodies) for (const b of m.bodies) queue.pushBody(b);
      counters[COUNTER.received] = counters[COUNTER.received]! + m.n;
      queue.tick();
      report();
    } else if (m.t === "purge") {
      try {
        send({ t: "purged", id: m.id, ...purgeAudit(client, m.days, m.now, m.chunk) });
      } catch (err) {
        send({ t: "purged", id: m.id, error: (err as Error).message });
      }
    } else {
      if (m.t === "close") {
        clearInterval(idle);
        queue.close();
      } else queue.flush();
      report();
      if (m.t === "close") {
        port.close();
        client.close();
      }
      Atomics.store(sync, SYNC_DONE, m.seq);
      Atomics.notify(sync, SYNC_DONE);
    }
  };
  Atomics.store(sync, SYNC_STATE, STATE_READY);
  Atomics.notify(sync, SYNC_STATE);
}

// A worker's global scope: the first message carries the port and shared memory.
const scope = globalThis as unknown as { onmessage: ((e: MessageEvent<WriterInit>) => void) | null };
scope.onmessage = (e) => {
  scope.onmessage = null;
  start(e.data);
};
