import type { ReadWatch } from "../upstream/types";

// The inter-chunk idle timeout of a relayed stream: when an upstream goes silent mid-answer for
// longer than the limit (no byte at all: a keep-alive comment counts as life), the attempt is aborted and the client gets its protocol's error event
// instead of a hang. One coarse sweep serves every open stream (a timer per stream costs memory
// for each of thousands of long answers): an event only sets a flag, and the sweep, every tenth
// of the shortest limit (at most a second), aborts the streams that stayed silent. A stream is cut
// after its limit of silence plus at most one sweep period, never before.

/** Ollama loads a model on its first request; its first byte may take minutes. */
export const OLLAMA_FIRST_BYTE_FACTOR = 3;

const watches = new Set<IdleWatch>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let sweepMs = Number.POSITIVE_INFINITY;

function sweep(): void {
  const now = performance.now();
  for (const w of watches) {
    if (w.heard) {
      w.heard = false;
      w.quietSince = now;
    } else if (now - w.quietSince >= w.limitMs) {
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

/** One attempt's idle watch. Made with the attempt, it hears every read of the upstream body (the
 *  adapter's HTTP plumbing touches it: keep-alives and comments count, not only decoded events);
 *  it starts counting once the answer is committed. */
export class IdleWatch implements ReadWatch {
  /** Set once the limit was hit (the abort came from here). */
  fired = false;
  /** Something arrived since the last sweep. */
  heard = false;
  /** When a sweep last found the stream had heard something (or the watch began). */
  quietSince = 0;
  limitMs = 0;
  /** Aborted, with a TimeoutError, when the limit is hit. */
  abort: AbortController | undefined;

  /** Starts counting: `abort` is aborted after `limitMs` without a read or an event. */
  start(limitMs: number, abort: AbortController): void {
    this.limitMs = limitMs;
    this.abort = abort;
    this.heard = false;
    this.quietSince = performance.now();
    watches.add(this);
    const every = Math.min(1000, Math.max(10, limitMs / 10));
    if (every < sweepMs) {
      clearInterval(sweeper);
      sweepMs = every;
      sweeper = setInterval(sweep, every);
      sweeper.unref?.();
    }
  }

  touch(): void {
    this.heard = true;
  }

  stop(): void {
    watches.delete(this);
  }
}
