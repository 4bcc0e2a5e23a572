import type { ReadWatch } from "../upstream/types";

// An attempt's two clocks, kept by one watch per attempt and one coarse sweep for all of them (a
// timer per attempt costs memory and timer churn for each of thousands of long answers):
//  - until the answer is committed (its first content), the first-byte limit: a deadline counted
//    from the attempt's start, which bytes without content (a role chunk, keep-alives) do not move;
//  - after it, the inter-chunk idle limit: any byte from the upstream (a keep-alive comment too)
//    counts as life, and only real silence cuts the stream, so the client gets its protocol's
//    error event instead of a hang.
// A read or an event only sets a flag; the sweep, every tenth of the shortest limit (at most a
// second), aborts the attempts past their limit. A limit is enforced after at most one sweep
// period more, never before. A sweep that comes late (the process was not running: a long GC
// pause, a starved CPU) does not count the time it missed as the upstreams' silence: their bytes
// may be sitting unread.

/** Ollama loads a model on its first request; its first byte may take minutes. */
export const OLLAMA_FIRST_BYTE_FACTOR = 3;

const watches = new Set<IdleWatch>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let sweepMs = Number.POSITIVE_INFINITY;
let lastSweep = 0;

function sweep(): void {
  const now = performance.now();
  const missed = now - lastSweep - sweepMs;
  lastSweep = now;
  const grace = missed > sweepMs ? missed : 0;
  for (const w of watches) {
    if (w.firstByteBy > 0) {
      if (now >= w.firstByteBy) {
        watches.delete(w);
        w.firstByteMissed = true;
        w.abort?.abort(new DOMException("first byte timeout", "TimeoutError"));
      }
    } else if (w.heard) {
      w.heard = false;
      w.quietSince = now;
    } else if (now - (w.quietSince += grace) >= w.limitMs) {
      watches.delete(w);
      w.fired = true;
      w.abort?.abort(new DOMException("stream idle", "TimeoutError"));
    }
  }
  if (watches.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
    sweepMs = Number.POSITIVE_INFINITY;
  }
}

function watch(w: IdleWatch, limitMs: number): void {
  watches.add(w);
  const every = Math.min(1000, Math.max(10, limitMs / 10));
  if (every < sweepMs) {
    clearInterval(sweeper);
    sweepMs = every;
    lastSweep = performance.now();
    sweeper = setInterval(sweep, every);
    sweeper.unref?.();
  }
}

/** One attempt's watch. Made with the attempt, it hears every read of the upstream body (the
 *  adapter's HTTP plumbing touches it: keep-alives and comments count, not only decoded events). */
export class IdleWatch implements ReadWatch {
  /** Set once the idle limit was hit (the abort came from here). */
  fired = false;
  /** Set once the first-byte limit was hit (the abort came from here). */
  firstByteMissed = false;
  /** Something arrived since the last sweep. */
  heard = false;
  /** When a sweep last found the stream had heard something (or the idle count began). */
  quietSince = 0;
  limitMs = 0;
  /** `performance.now()` by which the answer must be committed; 0 = not counting it. */
  firstByteBy = 0;
  /** The attempt's controller, aborted with a TimeoutError when a limit is hit. */
  abort: AbortController | undefined;

  /** Counts the first-byte limit from now: `abort` is aborted unless `committed()` comes first. */
  expectFirstByte(limitMs: number, abort: AbortController): void {
    this.abort = abort;
    this.firstByteBy = performance.now() + limitMs;
    watch(this, limitMs);
  }

  /** The answer was committed (or the attempt ended): the first-byte limit no longer counts. */
  committed(): void {
    this.firstByteBy = 0;
    watches.delete(this);
  }

  /** Starts the idle count: `abort` is aborted after `limitMs` without a read or an event. */
  start(limitMs: number, abort: AbortController): void {
    this.firstByteBy = 0;
    this.limitMs = limitMs;
    this.abort = abort;
    this.heard = false;
    this.quietSince = performance.now();
    watch(this, limitMs);
  }

  touch(): void {
    this.heard = true;
  }

  stop(): void {
    watches.delete(this);
  }
}
