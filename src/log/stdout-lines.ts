import { writeSync } from "node:fs";

// Log lines to stdout, written in batches: one write(2) per ~20 ms (or per 64 KB) instead of one
// per line, which was a top frame under load. Writes are synchronous `writeSync(1, …)`, so the
// order of lines holds and nothing waits in an async pipe queue that `process.exit` would drop;
// `flushStdoutLines()` runs on exit and on shutdown so the last lines are always written.

const FLUSH_MS = 20;
const FLUSH_BYTES = 64 * 1024;
/** How long the exit path keeps retrying a full non-blocking pipe before giving up. */
const EXIT_RETRY_MS = 2_000;

let pending = "";
let timer: ReturnType<typeof setTimeout> | undefined;
let exitHooked = false;

/** Queues one line (without its newline) for stdout. */
export function writeStdoutLine(line: string): void {
  pending += line + "\n";
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", flushStdoutLines);
  }
  if (pending.length >= FLUSH_BYTES) flushStdoutLines();
  else if (!timer) {
    timer = setTimeout(onTimer, FLUSH_MS);
    timer.unref?.();
  }
}

function onTimer(): void {
  timer = undefined;
  // A full non-blocking pipe (a slow log reader): keep the rest and try again later rather than
  // stall the event loop.
  if (!writeSome(0)) {
    timer = setTimeout(onTimer, FLUSH_MS);
    timer.unref?.();
  }
}

/** Writes every queued line now, synchronously (exit, shutdown, before other stdout output). */
export function flushStdoutLines(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  writeSome(EXIT_RETRY_MS);
}

/** Writes what is pending; true when all of it went out. Retries EAGAIN for up to `retryMs`. */
function writeSome(retryMs: number): boolean {
  if (!pending) return true;
  const bytes = Buffer.from(pending);
  pending = "";
  let off = 0;
  const deadline = performance.now() + retryMs;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN" && performance.now() < deadline) {
        Bun.sleepSync(1);
        continue;
      }
      // EAGAIN past the deadline: keep the rest for the next flush. Anything else (EPIPE: the
      // reader is gone): logging must never take the gateway down, so the lines are dropped.
      if (code === "EAGAIN") pending = bytes.subarray(off).toString() + pending;
      return code !== "EAGAIN";
    }
  }
  return true;
}
