import type { AuditQueueOptions } from "./audit-queue";
import type { BodyRow } from "./schema";

// What the request thread and the audit writer thread (audit-worker.ts) say to each other.
// Protocol (over the MessagePort handed over in the first message):
//   → { t: "rows", rows: "<tuple JSON>,<tuple JSON>…", n, bodies? }   → { t: "error", message, code }
//   → { t: "flush" | "close", seq }                                    → { t: "drop", from, to }
//   → { t: "purge", id, days, now, chunk? }                                 → { t: "purged", id, rows, more } | { t: "purged", id, error }

/** How long the writer thread's connection waits for another's lock: its wait blocks no request,
 *  but a shutdown flush waits for the thread. */
export const WRITER_BUSY_TIMEOUT_MS = 250;

export const COUNTER = { written: 0, dropped: 1, droppedBodies: 2, queued: 3, received: 4 } as const;
export const SYNC_DONE = 0;
export const SYNC_STATE = 1;
export const STATE_READY = 1;
export const STATE_FAILED = 2;

export interface WriterInit {
  file: string;
  options: Omit<AuditQueueOptions, "onError" | "onDrop">;
  port: MessagePort;
  counters: SharedArrayBuffer;
  sync: SharedArrayBuffer;
}

export type ToWriter =
  | { t: "rows"; rows: string; n: number; bodies?: BodyRow[] }
  | { t: "flush" | "close"; seq: number }
  | { t: "purge"; id: number; days: number; now: number; chunk?: number };

export type FromWriter =
  | { t: "error"; message: string; code?: string }
  | { t: "drop"; from: number; to: number }
  | { t: "purged"; id: number; rows: number; more: boolean }
  | { t: "purged"; id: number; error: string };
