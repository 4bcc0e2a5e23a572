import { describe, expect, test } from "bun:test";
import { lmrelayError } from "../../src/core/errors";
import type { StreamEvent } from "../../src/core/types";
import { type AnswerState, relayAnswer } from "../../src/router/answer";
import { IdleWatch } from "../../src/router/idle";
import { rejection } from "../helpers/async";

// relayAnswer hands a stream's events to the inbound codec with its bookkeeping; whatever ends it
// (the end, an error, the consumer leaving) settles the answer exactly once.

const text = (t: string): StreamEvent => ({ type: "text", text: t });

/** An upstream's remaining events; `hang` waits until the attempt is aborted. */
function upstream(steps: (StreamEvent | "hang" | Error)[], signal: AbortSignal, log: string[]): AsyncIterator<StreamEvent> {
  let i = 0;
  return {
    next() {
      const s = steps[i++];
      if (s === undefined) return Promise.resolve({ done: true, value: undefined });
      if (s instanceof Error) return Promise.reject(s);
      if (s === "hang") return new Promise((_, reject) => signal.addEventListener("abort", () => reject(lmrelayError("upstream_error", "aborted"))));
      return Promise.resolve({ done: false, value: s });
    },
    return() {
      log.push("released");
      return Promise.resolve({ done: true, value: undefined });
    },
  };
}

function relay(steps: (StreamEvent | "hang" | Error)[], idleMs?: number) {
  const log: string[] = [];
  const states: AnswerState[] = [];
  const abort = new AbortController();
  const client = new AbortController();
  abort.signal.addEventListener("abort", () => log.push("aborted"));
  const events = relayAnswer(
    { first: [{ type: "start", id: "a1" }, text("hi")], rest: upstream(steps, abort.signal, log), watch: new IdleWatch() },
    {
      receivedAt: performance.now(),
      clientSignal: client.signal,
      abort,
      idleMs,
      providerId: "up",
      estimateUsage: (chars) => ({ inputTokens: 1, outputTokens: chars, estimated: true }),
      finish: (state) => {
        log.push("finished");
        states.push({ ...state });
      },
    },
  );
  return { events, log, states, abort, client };
}

describe("relayAnswer", () => {
  test("the events, then an estimated usage when the upstream sent none; settled once, complete", async () => {
    const { events, log, states } = relay([text("a"), text("bc")]);
    const seen: StreamEvent[] = [];
    for await (const ev of events) seen.push(ev);
    expect(seen.map((e) => e.type)).toEqual(["start", "text", "text", "text", "usage"]);
    expect(seen.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 1, outputTokens: 5, estimated: true } });
    expect(log).toEqual(["finished"]);
    expect(states[0]).toMatchObject({ completed: true, outputChars: 5 });
    expect(states[0]!.ttftMs).toBeGreaterThanOrEqual(0);
  });

  test("an error event is the last one relayed; the upstream is aborted and released", async () => {
    const error = lmrelayError("upstream_error", "mid-stream");
    const { events, log, states } = relay([text("a"), { type: "error", error }, text("never")]);
    const seen: StreamEvent[] = [];
    for await (const ev of events) seen.push(ev);
    expect(seen.map((e) => e.type)).toEqual(["start", "text", "text", "error"]);
    expect(log).toEqual(["aborted", "released", "finished"]);
    expect(states[0]).toMatchObject({ completed: false, error });
  });

  test("a failing read is thrown after the answer is settled", async () => {
    const { events, log, states } = relay([text("a"), lmrelayError("upstream_error", "cut")]);
    const it = events[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) await it.next();
    await expect(it.next()).rejects.toThrow("cut");
    expect(log).toEqual(["aborted", "released", "finished"]);
    expect(states[0]!.error?.message).toContain("cut");
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  test("the consumer leaving while a read is under way: the read ends first, then the answer settles as client_closed", async () => {
    const { events, log, states, abort, client } = relay(["hang"]);
    const it = events[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    const pending = it.next();
    const closed = it.return!();
    // The client's disconnect aborts the attempt (attempts.ts), which ends the read.
    client.abort();
    abort.abort();
    expect((await rejection(pending)).code).toBe("client_closed");
    expect(await closed).toEqual({ done: true, value: undefined });
    expect(log.filter((l) => l === "finished")).toHaveLength(1);
    expect(states[0]).toMatchObject({ completed: false, error: { code: "client_closed" } });
  });

  test("the consumer leaving between events: the upstream is aborted and released, settled as client_closed", async () => {
    const { events, log, states } = relay([text("a"), text("b")]);
    const it = events[Symbol.asyncIterator]();
    await it.next();
    await it.return!();
    expect(log).toEqual(["aborted", "released", "finished"]);
    expect(states[0]!.error?.code).toBe("client_closed");
  });

  test("a stream silent past its idle limit is aborted and reported as stalled", async () => {
    const { events, states } = relay([text("a"), "hang"], 40);
    const t0 = performance.now();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const ev of events) seen.push(ev.type);
    })().catch((e) => e);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    expect(err.code).toBe("idle_timeout");
    expect(seen).toEqual(["start", "text", "text"]);
    expect(states[0]!.error?.code).toBe("idle_timeout");
  });
});

describe("IdleWatch", () => {
  test("events keep a stream alive; silence past the limit aborts it; a stopped watch never fires", async () => {
    const heard = new AbortController();
    const silent = new AbortController();
    const stopped = new AbortController();
    const a = new IdleWatch();
    const b = new IdleWatch();
    const c = new IdleWatch();
    a.start(60, heard);
    b.start(60, silent);
    c.start(60, stopped);
    c.stop();
    const t0 = performance.now();
    while (performance.now() - t0 < 150) {
      a.touch();
      await Bun.sleep(5);
    }
    expect(heard.signal.aborted).toBe(false);
    expect(silent.signal.aborted).toBe(true);
    expect((silent.signal.reason as DOMException).name).toBe("TimeoutError");
    expect(b.fired).toBe(true);
    expect(stopped.signal.aborted).toBe(false);
    a.stop();
  });

  test("until the commit, the first-byte limit counts from the start and reads do not move it; committing stops it", async () => {
    const waiting = new AbortController();
    const answered = new AbortController();
    const a = new IdleWatch();
    const b = new IdleWatch();
    a.expectFirstByte(60, waiting);
    b.expectFirstByte(60, answered);
    b.committed();
    const t0 = performance.now();
    // Keep-alives before the first content: the attempt is still cut at its first-byte limit.
    while (performance.now() - t0 < 2_000 && !waiting.signal.aborted) {
      a.touch();
      await Bun.sleep(5);
    }
    expect(waiting.signal.aborted).toBe(true);
    expect((waiting.signal.reason as DOMException).message).toBe("first byte timeout");
    expect(a.firstByteMissed).toBe(true);
    expect(a.fired).toBe(false);
    expect(answered.signal.aborted).toBe(false);
    expect(b.firstByteMissed).toBe(false);
  });

  test("time the process was not running (a blocked event loop) is not counted as the upstream's silence", async () => {
    const abort = new AbortController();
    const w = new IdleWatch();
    w.start(60, abort);
    // Block the event loop far past the limit, as a long GC pause or a starved CPU would.
    const t0 = performance.now();
    while (performance.now() - t0 < 300);
    // The late sweep runs before the bytes that waited are read; then they are.
    await Bun.sleep(2);
    w.touch();
    await Bun.sleep(20);
    expect(abort.signal.aborted).toBe(false);
    // Real silence afterwards still cuts it.
    for (let i = 0; i < 200 && !abort.signal.aborted; i++) await Bun.sleep(5);
    expect(w.fired).toBe(true);
  });
});
