// A same-thread upstream HTTP/1.1 client on `Bun.connect`: the experiment of issue 16 ("try a
// same-thread client against `fetch`, which crosses to a separate HTTP thread for every request").
// It lives beside the benchmark, not in src/, because it was measured and not adopted (README,
// Performance). Minimal but correct for what lmrelay sends upstream:
//   - requests: request line + headers + a `Content-Length` body (a string or bytes), one write;
//   - responses: `Content-Length`, `Transfer-Encoding: chunked` (RFC 9112 §7.1, trailers read and
//     dropped), or read-until-close (§6.3 rule 8); 1xx interim answers skipped (§15.2); no body for
//     HEAD, 204 and 304 (§6.3 rules 1–2);
//   - keep-alive reuse (HTTP/1.1 default, `Connection: close` honoured both ways, HTTP/1.0 closes)
//     with a per-host idle pool, idle sockets closed after IDLE_SECONDS;
//   - TLS through Bun.connect's `tls` option (`serverName` = the URL host, certificates verified);
//   - an AbortSignal that closes the socket and fails the pending answer or its body.
// A pooled socket the server closed while idle fails the next write with no answer byte: such a
// request is sent once more on a fresh connection (the same thing fetch does for a stale socket).

import { Conn, type Exchange, HANDLERS } from "./connect-conn";

const IDLE_SECONDS = 30;
const MAX_IDLE_PER_HOST = 64;
const BAD_FIELD = /[\r\n\0]/;

interface Target {
  tls: boolean;
  hostname: string;
  port: number;
  key: string;
  path: string;
  host: string;
}

export interface ConnectInit {
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** A pooled keep-alive HTTP/1.1 client: `request(url, init)` answers like `fetch` with `redirect: "manual"`. */
export class ConnectClient {
  private idle = new Map<string, Conn[]>();

  release(c: Conn): void {
    let list = this.idle.get(c.key);
    if (!list) this.idle.set(c.key, (list = []));
    if (list.length >= MAX_IDLE_PER_HOST) return c.destroy();
    c.socket.timeout(IDLE_SECONDS);
    list.push(c);
  }

  forget(c: Conn): void {
    const list = this.idle.get(c.key);
    const i = list ? list.indexOf(c) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  /** Closes every idle socket (the ones in use close when their answers end). */
  close(): void {
    for (const list of this.idle.values()) for (const c of list.splice(0)) c.destroy();
  }

  /** Parsed targets by URL string: lmrelay calls a handful of URLs over and over. */
  private targets = new Map<string, Target>();

  private target(input: string): Target {
    let t = this.targets.get(input);
    if (t) return t;
    const url = new URL(input);
    const tls = url.protocol === "https:";
    if (!tls && url.protocol !== "http:") throw new TypeError(`unsupported protocol ${url.protocol}`);
    t = {
      tls,
      hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port ? Number(url.port) : tls ? 443 : 80,
      key: `${url.protocol}//${url.host}`,
      path: `${url.pathname}${url.search}`,
      host: url.host,
    };
    if (this.targets.size >= 256) this.targets.clear();
    this.targets.set(input, t);
    return t;
  }

  request(input: string | URL, init: ConnectInit = {}): Promise<Response> {
    let t: Target;
    try {
      t = this.target(String(input));
    } catch (err) {
      return Promise.reject(err);
    }
    const { tls, hostname, port, key } = t;
    const method = (init.method ?? "GET").toUpperCase();
    let head = `${method} ${t.path} HTTP/1.1\r\nhost: ${t.host}\r\n`;
    for (const name in init.headers) {
      const value = init.headers[name]!;
      if (BAD_FIELD.test(name) || BAD_FIELD.test(value)) return Promise.reject(new TypeError(`invalid header ${name}`));
      const lower = name.toLowerCase();
      if (lower === "host" || lower === "content-length" || lower === "transfer-encoding") continue;
      head += `${name}: ${value}\r\n`;
    }
    const body = init.body;
    const bodyLength = body === undefined ? -1 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    if (bodyLength >= 0 || method === "POST" || method === "PUT") head += `content-length: ${Math.max(bodyLength, 0)}\r\n`;
    head += "\r\n";
    // One buffer, one write: the head and a string body encode together.
    const bytes = typeof body === "string" ? Buffer.from(head + body) : body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
    const signal = init.signal;
    if (signal?.aborted) return Promise.reject(signal.reason ?? new DOMException("aborted", "AbortError"));

    return new Promise<Response>((resolve, reject) => {
      const ex: Exchange = { resolve, reject, head: method === "HEAD", settled: false, gotBytes: false, keepAlive: true, signal, held: null, heldBytes: 0, wants: false };
      let conn: Conn | null = null;
      if (signal) {
        ex.onAbort = () => {
          const c = conn;
          if (c && c.ex === ex) {
            c.fail(signal.reason instanceof Error ? signal.reason : new DOMException("aborted", "AbortError"));
            c.destroy();
          } else if (!ex.settled) {
            ex.settled = true;
            reject(signal.reason ?? new DOMException("aborted", "AbortError"));
          }
        };
        signal.addEventListener("abort", ex.onAbort, { once: true });
      }
      const start = (c: Conn, reused: boolean) => {
        if (ex.settled && !ex.controller) return c.pool.release(c); // aborted while connecting
        conn = c;
        c.ex = ex;
        c.mode = "head";
        c.reused = reused;
        c.buf = null;
        c.retry = reused ? () => fresh() : null;
        if (reused) c.socket.timeout(0);
        c.send(bytes);
      };
      const fresh = () => {
        const c = new Conn(this, key);
        Bun.connect<Conn>({ hostname, port, data: c, socket: HANDLERS, ...(tls ? { tls: { serverName: hostname } } : {}) }).then(
          (s) => {
            c.socket = s;
            start(c, false);
          },
          (err: Error) => {
            if (ex.settled) return;
            ex.settled = true;
            signal?.removeEventListener("abort", ex.onAbort!);
            reject(err);
          },
        );
      };
      const pooled = this.idle.get(key)?.pop();
      if (pooled) start(pooled, true);
      else fresh();
    });
  }
}
