// One upstream connection of the Bun.connect experiment (connect-client.ts): writes a request,
// parses the HTTP/1.1 answer (RFC 9112) as bytes arrive and hands it over as a `Response`.

import type { Socket } from "bun";

const MAX_HEAD_BYTES = 64 * 1024;
const HOLD_LIMIT = 1024 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");

/** Where a connection goes back when its answer has ended. */
export interface ConnPool {
  release(c: Conn): void;
  forget(c: Conn): void;
}

export type Mode = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers" | "close" | "done";

export interface Exchange {
  resolve(res: Response): void;
  reject(err: Error): void;
  head: boolean;
  /** Set once the head is parsed and the body is a stream. */
  controller?: ReadableStreamDefaultController<Uint8Array>;
  /** Body bytes that came while the reader still had a chunk queued: handed over as one on its next pull. */
  held: Uint8Array[] | null;
  heldBytes: number;
  /** The reader asked for bytes and the queue is empty. */
  wants: boolean;
  settled: boolean;
  gotBytes: boolean;
  keepAlive: boolean;
  onAbort?: () => void;
  signal?: AbortSignal;
}

/** Body bytes to the reader. Bun's fetch hands the reader whatever its HTTP thread read meanwhile
 *  as one chunk; doing the same keeps a burst of SSE frames from costing one read each downstream. */
function emit(ex: Exchange, bytes: Uint8Array): void {
  const copy = new Uint8Array(bytes); // the socket's buffer is reused after the callback
  if (ex.wants) {
    ex.wants = false;
    ex.controller!.enqueue(copy);
    return;
  }
  (ex.held ??= []).push(copy);
  ex.heldBytes += copy.byteLength;
}

function flush(ex: Exchange): void {
  const held = ex.held;
  if (!held) return;
  ex.held = null;
  ex.heldBytes = 0;
  ex.controller!.enqueue(held.length === 1 ? held[0]! : Buffer.concat(held));
}

export class Conn {
  socket!: Socket<Conn>;
  buf: Buffer | null = null;
  mode: Mode = "done";
  remaining = 0;
  ex: Exchange | null = null;
  closed = false;
  reused = false;
  /** Bytes the kernel did not take yet, written on `drain`. */
  pendingWrite: Buffer | null = null;
  constructor(readonly pool: ConnPool, readonly key: string) {}

  send(bytes: Buffer): void {
    const n = this.socket.write(bytes);
    if (n < bytes.length) this.pendingWrite = bytes.subarray(Math.max(n, 0));
  }

  fail(err: Error): void {
    const ex = this.ex;
    this.ex = null;
    this.mode = "done";
    if (!ex) return;
    ex.signal?.removeEventListener("abort", ex.onAbort!);
    if (!ex.settled) {
      ex.settled = true;
      ex.reject(err);
    } else ex.controller?.error(err);
  }

  /** The answer is whole: hand the socket back to the pool, or close it. */
  finish(): void {
    const ex = this.ex!;
    this.ex = null;
    this.mode = "done";
    ex.signal?.removeEventListener("abort", ex.onAbort!);
    if (ex.controller) {
      flush(ex);
      ex.controller.close();
    }
    if (ex.keepAlive && !this.closed && (this.buf === null || this.buf.length === 0)) this.pool.release(this);
    else this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.terminate();
  }

  onData(chunk: Buffer): void {
    const ex = this.ex;
    if (!ex) return this.destroy(); // bytes nobody asked for: the connection is not reusable
    ex.gotBytes = true;
    let buf = this.buf && this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = null;
    let at = 0;
    while (this.ex && at <= buf.length) {
      switch (this.mode) {
        case "head": {
          const end = buf.indexOf(CRLF2, at);
          if (end < 0) {
            if (buf.length - at > MAX_HEAD_BYTES) return this.fail(new Error("response head too large")), this.destroy();
            this.buf = Buffer.from(buf.subarray(at));
            return;
          }
          const text = buf.toString("latin1", at, end);
          at = end + 4;
          const err = this.onHead(text, buf, at);
          if (err) return this.fail(err), this.destroy();
          if ((this.mode as Mode) === "done") {
            // The whole body came with the head: skip it and finish.
            at += this.remaining;
            this.remaining = 0;
            this.buf = Buffer.from(buf.subarray(at));
            return this.finish();
          }
          break;
        }
        case "length": {
          const n = Math.min(this.remaining, buf.length - at);
          if (n > 0) this.body(buf.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.buf = Buffer.from(buf.subarray(at));
            return this.finish();
          }
          return;
        }
        case "close":
          if (buf.length > at) this.body(buf.subarray(at));
          return;
        case "chunk-size": {
          const eol = buf.indexOf("\r\n", at);
          if (eol < 0) {
            if (buf.length - at > 1024) return this.fail(new Error("bad chunk size line")), this.destroy();
            this.buf = Buffer.from(buf.subarray(at));
            return;
          }
          const line = buf.toString("latin1", at, eol);
          const semi = line.indexOf(";"); // chunk extensions are ignored (§7.1.1)
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return this.fail(new Error(`bad chunk size ${JSON.stringify(hex.slice(0, 20))}`)), this.destroy();
          this.remaining = parseInt(hex, 16);
          at = eol + 2;
          this.mode = this.remaining === 0 ? "trailers" : "chunk-data";
          break;
        }
        case "chunk-data": {
          const n = Math.min(this.remaining, buf.length - at);
          if (n > 0) this.body(buf.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining > 0) return;
          this.mode = "chunk-crlf";
          break;
        }
        case "chunk-crlf": {
          if (buf.length - at < 2) {
            this.buf = Buffer.from(buf.subarray(at));
            return;
          }
          if (buf[at] !== 13 || buf[at + 1] !== 10) return this.fail(new Error("chunk not followed by CRLF")), this.destroy();
          at += 2;
          this.mode = "chunk-size";
          break;
        }
        case "trailers": {
          // Trailer fields end with an empty line; with none, that is the CRLF right here.
          if (buf.length - at >= 2 && buf[at] === 13 && buf[at + 1] === 10) {
            this.buf = Buffer.from(buf.subarray(at + 2));
            return this.finish();
          }
          const end = buf.indexOf(CRLF2, at);
          if (end < 0) {
            this.buf = Buffer.from(buf.subarray(at));
            return;
          }
          this.buf = Buffer.from(buf.subarray(end + 4));
          return this.finish();
        }
        case "done":
          return;
      }
      if (at === buf.length && this.mode !== "trailers" && this.mode !== "chunk-crlf") return;
    }
  }

  /** Parses the status line and fields, settles the exchange with a Response; an Error if malformed. */
  onHead(text: string, buf: Buffer, bodyAt: number): Error | undefined {
    const ex = this.ex!;
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (!m) return new Error(`malformed status line ${JSON.stringify(lines[0]!.slice(0, 40))}`);
    const status = Number(m[2]);
    if (status >= 100 && status < 200) {
      if (status === 101) return new Error("unexpected 101 Switching Protocols");
      this.mode = "head"; // an interim answer: the real one follows
      return;
    }
    const headers = new Headers();
    let length = -1;
    let chunked = false;
    let close = m[1] === "0";
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) return new Error("malformed header line");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.append(name, value);
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length >= 0 && length !== Number(value))) return new Error("bad content-length");
        length = Number(value);
      } else if (name === "transfer-encoding") chunked = value.toLowerCase().split(",").map((s) => s.trim()).at(-1) === "chunked";
      else if (name === "connection") {
        const v = value.toLowerCase();
        if (v.includes("close")) close = true;
        else if (v.includes("keep-alive")) close = m[1] === "0" ? false : close;
      }
    }
    ex.keepAlive = !close;
    const noBody = ex.head || status === 204 || status === 304;
    const init = { status, statusText: m[3] ?? "", headers };
    ex.settled = true;
    if (noBody || (!chunked && length === 0)) {
      this.mode = "done";
      this.remaining = 0;
      ex.resolve(new Response(null, init));
      return;
    }
    if (!chunked && length > 0 && buf.length - bodyAt >= length) {
      // The common small answer: the whole body is already here, no stream needed.
      this.mode = "done";
      this.remaining = length;
      ex.resolve(new Response(new Uint8Array(buf.subarray(bodyAt, bodyAt + length)), init));
      return;
    }
    if (chunked) this.mode = "chunk-size";
    else if (length >= 0) {
      this.mode = "length";
      this.remaining = length;
    } else {
      this.mode = "close";
      ex.keepAlive = false;
    }
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        ex.controller = c;
      },
      pull: () => {
        if (ex.held) flush(ex);
        else ex.wants = true;
        if (this.paused && this.ex === ex) {
          this.paused = false;
          (this.socket as unknown as { resume(): void }).resume();
        }
      },
      cancel: () => {
        if (this.ex === ex) {
          this.ex = null;
          this.destroy();
        }
      },
    });
    ex.resolve(new Response(body, init));
  }

  onClose(err?: Error): void {
    this.closed = true;
    this.pool.forget(this);
    const ex = this.ex;
    if (!ex) return;
    if (this.mode === "close" && !err) return this.finish();
    if (this.reused && !ex.gotBytes && !ex.settled && this.retry) {
      // A stale pooled socket: the request never got an answer byte; send it once more.
      const retry = this.retry;
      this.ex = null;
      this.retry = null;
      return retry();
    }
    this.fail(err ?? new Error(ex.settled ? "connection closed before the body ended" : "connection closed before an answer"));
  }

  retry: (() => void) | null = null;
  paused = false;

  /** Body bytes to the reader; a reader that falls HOLD_LIMIT behind stops the socket's reads
   *  (Bun's Socket has pause/resume at run time, not yet in its typings) until it pulls again. */
  body(bytes: Uint8Array): void {
    const ex = this.ex!;
    emit(ex, bytes);
    if (ex.heldBytes > HOLD_LIMIT && !this.paused) {
      this.paused = true;
      (this.socket as unknown as { pause(): void }).pause();
    }
  }
}

export const HANDLERS = {
  data(s: Socket<Conn>, chunk: Buffer) {
    s.data.onData(chunk);
  },
  drain(s: Socket<Conn>) {
    const c = s.data;
    if (c.pendingWrite) {
      const rest = c.pendingWrite;
      c.pendingWrite = null;
      c.send(rest);
    }
  },
  close(s: Socket<Conn>, err?: Error) {
    s.data.onClose(err);
  },
  error(s: Socket<Conn>, err: Error) {
    s.data.onClose(err);
  },
  end(s: Socket<Conn>) {
    s.data.onClose();
  },
  timeout(s: Socket<Conn>) {
    if (!s.data.ex) s.data.destroy();
  },
  connectError(s: Socket<Conn>, err: Error) {
    s.data.onClose(err);
  },
};
