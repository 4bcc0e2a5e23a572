#!/usr/bin/env bun
// The benchmark's streaming load generator, run as its own process (pinned away from the gateway).
// It speaks raw HTTP/1.1 over TCP so it can see each chunk of the chunked response as the server
// wrote it: a server that coalesced two upstream chunks into one write shows as one HTTP chunk
// carrying two content markers, whatever TCP did on the wire.
//
// It stays up and warm between runs: it reads one StreamSpec JSON per stdin line and answers each
// with `BENCH_OPEN {"open":N}` once every stream has received its first content chunk or failed, then
// `BENCH_STREAMS {...}` (the aggregate). Every stream is bounded by `timeoutMs`; stdin closed = exit.

export interface StreamSpec {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Streams run at once. */
  streams: number;
  /** Text every upstream content chunk carries exactly once (`tok_`), followed by `<index>@<epoch ms>`. */
  marker: string;
  /** Content chunks each stream must deliver. */
  expectChunks: number;
  /** Count markers only in SSE frames holding this text. */
  countIn?: string;
  /** Connections opened per second (slow mode ramps up); 0 or absent = all at once. */
  rampPerSec?: number;
  timeoutMs: number;
}

export interface StreamStats {
  streams: number;
  ok: number;
  errors: Record<string, number>;
  /** Request written → first HTTP chunk carrying content, ms. */
  ttfbMs: Percentiles;
  /** Request written → end of the response, ms. */
  totalMs: Percentiles;
  /** Streams in which every content chunk arrived in an HTTP chunk of its own. */
  separateWrites: number;
  /** Largest number of content chunks seen in one HTTP chunk. */
  maxPerWrite: number;
  /** Content chunks that arrived in an HTTP chunk of their own / all content chunks. */
  ownWriteShare: number;
  /** Upstream write → arrival here, per content chunk, ms (from the chunk's time stamp). */
  forwardMs: Percentiles;
  wallMs: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const s = Float64Array.from(values).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]! };
}

interface StreamState {
  buf: Uint8Array;
  headersDone: boolean;
  chunked: boolean;
  /** Body bytes still expected when the answer came with a content-length instead of chunks. */
  remaining: number;
  status: number;
  sentAt: number;
  ttfb?: number;
  markers: number;
  maxPerWrite: number;
  alone: number;
  forward: number[];
  /** When the terminating chunk arrived. */
  endAt?: number;
  done: boolean;
  error?: string;
}

const CRLF2 = new TextEncoder().encode("\r\n\r\n");
const decoder = new TextDecoder("latin1");

function indexOfSeq(buf: Uint8Array, seq: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= buf.length - seq.length; i++) {
    for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Consumes what it can from `st.buf`; marks the stream done at the terminating chunk. */
function parse(st: StreamState, spec: StreamSpec, now: number): void {
  if (!st.headersDone) {
    const end = indexOfSeq(st.buf, CRLF2);
    if (end === -1) return;
    const head = decoder.decode(st.buf.subarray(0, end));
    st.status = Number(head.slice(9, 12));
    st.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    st.headersDone = true;
    st.buf = st.buf.subarray(end + 4);
    if (st.status !== 200) {
      st.error = `status ${st.status}`;
      st.done = true;
      return;
    }
    if (!st.chunked) {
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) {
        st.error = "response neither chunked nor of known length";
        st.done = true;
        return;
      }
      st.remaining = Number(length[1]);
    }
  }
  if (!st.chunked) {
    // A whole body (the server had it all before answering): each read stands for a write.
    const take = st.buf.subarray(0, st.remaining);
    st.remaining -= take.length;
    st.buf = st.buf.subarray(take.length);
    seen(st, spec, decoder.decode(take), now);
    if (st.remaining === 0) {
      st.endAt = now;
      st.done = true;
    }
    return;
  }
  for (;;) {
    const lineEnd = indexOfSeq(st.buf, CRLF2.subarray(0, 2));
    if (lineEnd === -1) return;
    const size = parseInt(decoder.decode(st.buf.subarray(0, lineEnd)), 16);
    if (Number.isNaN(size)) {
      st.error = "bad chunk framing";
      st.done = true;
      return;
    }
    if (size === 0) {
      st.endAt = now;
      st.done = true;
      return;
    }
    const frameEnd = lineEnd + 2 + size + 2;
    if (st.buf.length < frameEnd) return;
    const text = decoder.decode(st.buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    st.buf = st.buf.subarray(frameEnd);
    seen(st, spec, text, now);
  }
}

/** Books the content chunks of one write that arrived at `now`. */
function seen(st: StreamState, spec: StreamSpec, text: string, now: number): void {
  if (spec.countIn !== undefined) text = framesWith(text, spec.countIn);
  let n = 0;
  const epoch = performance.timeOrigin + now;
  for (let i = text.indexOf(spec.marker); i !== -1; i = text.indexOf(spec.marker, i + spec.marker.length)) {
    n++;
    const at = text.indexOf("@", i);
    const sent = at === -1 ? NaN : Number.parseFloat(text.slice(at + 1, at + 24));
    if (Number.isFinite(sent)) st.forward.push(epoch - sent);
  }
  if (n === 0) return;
  if (st.ttfb === undefined) st.ttfb = now - st.sentAt;
  st.markers += n;
  if (n === 1) st.alone++;
  if (n > st.maxPerWrite) st.maxPerWrite = n;
}

/** The SSE frames of `text` that hold `needle` (one write holds whole frames: lmrelay writes a
 *  frame per event). */
function framesWith(text: string, needle: string): string {
  if (!text.includes(needle)) return "";
  return text
    .split("\n\n")
    .filter((f) => f.includes(needle))
    .join("\n\n");
}

export async function runStreams(spec: StreamSpec, onAllOpen?: (open: number) => void): Promise<StreamStats> {
  const head = [`POST ${spec.path} HTTP/1.1`, `Host: ${spec.host}:${spec.port}`, `Content-Length: ${Buffer.byteLength(spec.body)}`];
  for (const [k, v] of Object.entries(spec.headers)) head.push(`${k}: ${v}`);
  const request = new TextEncoder().encode(`${head.join("\r\n")}\r\n\r\n${spec.body}`);
  const states: StreamState[] = [];
  let open = 0;
  let settled = 0;
  const started = performance.now();

  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const st: StreamState = { buf: new Uint8Array(0), headersDone: false, chunked: false, remaining: 0, status: 0, sentAt: 0, markers: 0, maxPerWrite: 0, alone: 0, forward: [], done: false };
      states.push(st);
      let socket: Bun.Socket<undefined> | undefined;
      let started = false;
      /** The stream's start is decided (first content chunk, or failure): counted once. */
      const settle = () => {
        if (started) return;
        started = true;
        if (st.ttfb !== undefined) open++;
        if (++settled === spec.streams) onAllOpen?.(open);
      };
      const finish = (error?: string) => {
        if (error && !st.error && !st.done) st.error = error;
        if (!st.done && !st.error) st.error = "closed before the end";
        clearTimeout(timer);
        settle();
        socket?.end();
        resolve();
      };
      const timer = setTimeout(() => finish("timeout"), spec.timeoutMs);
      Bun.connect({
        hostname: spec.host,
        port: spec.port,
        socket: {
          open(s) {
            socket = s;
            st.sentAt = performance.now();
            s.write(request);
          },
          data(_s, chunk) {
            const now = performance.now();
            st.buf = concat(st.buf, chunk);
            parse(st, spec, now);
            if (st.ttfb !== undefined) settle();
            if (st.done) finish();
          },
          close() {
            finish("connection closed");
          },
          error(_s, err) {
            finish(`socket error: ${err.message}`);
          },
          connectError(_s, err) {
            finish(`connect error: ${err.message}`);
          },
        },
      }).catch((err: Error) => finish(`connect error: ${err.message}`));
    });

  const all: Promise<void>[] = [];
  const ramp = spec.rampPerSec ?? 0;
  if (ramp > 0) {
    // Open in small batches so the listen backlog never overflows.
    const batch = Math.max(1, Math.round(ramp / 20));
    for (let i = 0; i < spec.streams; i += batch) {
      for (let j = i; j < Math.min(spec.streams, i + batch); j++) all.push(one());
      await Bun.sleep(50);
    }
  } else for (let i = 0; i < spec.streams; i++) all.push(one());
  await Promise.all(all);

  const errors: Record<string, number> = {};
  const ttfb: number[] = [];
  const total: number[] = [];
  const forward: number[] = [];
  let ok = 0;
  let chunks = 0;
  let alone = 0;
  let separate = 0;
  let maxPerWrite = 0;
  for (const st of states) {
    if (st.ttfb !== undefined) ttfb.push(st.ttfb);
    maxPerWrite = Math.max(maxPerWrite, st.maxPerWrite);
    const error = st.error ?? (st.markers !== spec.expectChunks ? `got ${st.markers} of ${spec.expectChunks} chunks` : undefined);
    if (error) {
      const kind = error.replace(/\d+ of/, "N of");
      errors[kind] = (errors[kind] ?? 0) + 1;
      continue;
    }
    ok++;
    if (st.maxPerWrite <= 1) separate++;
    total.push(st.endAt! - st.sentAt);
    chunks += st.markers;
    alone += st.alone;
    for (const d of st.forward) forward.push(d);
  }
  return {
    streams: spec.streams,
    ok,
    errors,
    ttfbMs: percentiles(ttfb),
    totalMs: percentiles(total),
    separateWrites: separate,
    maxPerWrite,
    ownWriteShare: chunks ? alone / chunks : 0,
    forwardMs: percentiles(forward),
    wallMs: performance.now() - started,
  };
}

if (import.meta.main) {
  for await (const line of console) {
    if (!line.trim()) continue;
    const spec = JSON.parse(line) as StreamSpec;
    const stats = await runStreams(spec, (n) => process.stdout.write(`BENCH_OPEN ${JSON.stringify({ open: n })}\n`));
    process.stdout.write(`BENCH_STREAMS ${JSON.stringify(stats)}\n`);
  }
  process.exit(0);
}
