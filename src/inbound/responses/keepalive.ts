import type { StreamEvent } from "../../core/types";

// SSE comments during long silences of a stream (a slow first token, a long tool call being written):
// Codex gives up on a stream idle for 300 s, proxies sooner. One shared timer checks every open
// stream; a stream silent for `KEEPALIVE_MS` gets `: keep-alive` (a comment every SSE parser skips).

export const KEEPALIVE_MS = 15_000;
const KEEPALIVE: StreamEvent = { type: "raw", data: ": keep-alive\n\n", content: false, chars: 0 };

const waiting = new Set<KeepAlive>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let sweepMs = 0;

/** The shared timer, checking often enough for the shortest silence limit among the open streams. */
function ensureSweeper(ms: number): void {
  const period = Math.min(1_000, Math.max(10, ms / 4));
  if (sweeper && period >= sweepMs) return;
  clearInterval(sweeper);
  sweepMs = period;
  (sweeper = setInterval(sweep, period)).unref?.();
}

function sweep(): void {
  const now = performance.now();
  for (const k of waiting) if (now - k.since >= k.ms) k.ping(now);
  if (waiting.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
    sweepMs = 0;
  }
}

class KeepAlive implements AsyncIterableIterator<StreamEvent> {
  since = performance.now();
  /** An upstream read under way. */
  private reading = false;
  /** A read that finished while no one waited (a comment answered the wait). */
  private ready: { ok: true; r: IteratorResult<StreamEvent> } | { ok: false; e: unknown } | undefined;
  private waiter: { resolve(r: IteratorResult<StreamEvent>): void; reject(e: unknown): void } | undefined;

  constructor(
    private readonly it: AsyncIterator<StreamEvent>,
    readonly ms: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamEvent> {
    return this;
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    const ready = this.ready;
    if (ready) {
      this.ready = undefined;
      return ready.ok ? Promise.resolve(ready.r) : Promise.reject(ready.e);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      waiting.add(this);
      ensureSweeper(this.ms);
      if (this.reading) return;
      this.reading = true;
      this.it.next().then(
        (r) => this.arrived({ ok: true, r }),
        (e) => this.arrived({ ok: false, e }),
      );
    });
  }

  private arrived(result: { ok: true; r: IteratorResult<StreamEvent> } | { ok: false; e: unknown }): void {
    this.reading = false;
    this.since = performance.now();
    waiting.delete(this);
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) this.ready = result;
    else if (result.ok) w.resolve(result.r);
    else w.reject(result.e);
  }

  /** Answers the waiting `next()` with a comment; the upstream read stays under way. */
  ping(now: number): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    waiting.delete(this);
    this.since = now;
    w.resolve({ done: false, value: KEEPALIVE });
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    waiting.delete(this);
    this.waiter = undefined;
    await this.it.return?.();
    return { done: true, value: undefined };
  }
}

export function withKeepAlive(events: AsyncIterable<StreamEvent>, ms = KEEPALIVE_MS): AsyncIterableIterator<StreamEvent> {
  return new KeepAlive(events[Symbol.asyncIterator](), ms);
}
