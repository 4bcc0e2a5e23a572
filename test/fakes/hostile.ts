import { createServer, type Server, type Socket } from "node:net";

// A hostile upstream on 127.0.0.1, written on raw TCP so it can break HTTP itself: endless streams,
// a 1 GB body (generated lazily, written only as fast as the reader takes it), headers and then
// silence, bodies that never finish, broken SSE/NDJSON framing, wrong content types, sockets closed
// at any byte. It speaks just enough OpenAI (`/v1/chat/completions`, `/v1/models`) and Ollama
// (`/api/chat`, `/api/tags`) for a gateway to route to it. The behaviour is picked by the request's
// model name, so concurrent requests can each misbehave their own way:
//
//   endless           200 SSE (NDJSON on /api/chat), valid content chunks forever, as fast as read
//   endless-slow      the same, one chunk every 50 ms
//   keepalive         200 SSE of comment lines / blank NDJSON lines forever, no content ever
//   huge              200 application/json, 1 GB, chunked (a JSON string that never closes in time)
//   huge-cl           the same with `content-length: 1073741824`
//   huge-line         200 SSE whose one `data:` line is 1 GB long (NDJSON: one 1 GB line)
//   huge-event        200 SSE of `data:` lines with no blank line, forever (one endless event)
//   headers-only      200 headers (SSE or JSON per the request's `stream`), then silence
//   stall             200, half an answer, then silence
//   bad-framing       200 SSE/NDJSON with broken framing: garbage lines, bad JSON, binary bytes, then EOF
//   wrong-type        200 text/html with an HTML page
//   close-at-N        a valid answer, the socket destroyed after N bytes (headers included)
//   reset-headers     the socket closed in the middle of the status line's headers
//   silent            reads the request, never answers
//   cut-mid-stream    200, the first content chunk, 100 ms later the socket destroyed
//   ok                a valid, short answer
//
// `stats()` reports per behaviour how many requests came and how many connections the peer (the
// gateway) closed before the fake finished — proof that it aborts what it no longer needs.

export interface HostileUpstream {
  url: string;
  port: number;
  /** Bytes written per model name, summed over requests. */
  written: Map<string, number>;
  requests: { path: string; model: string; stream: boolean; at: number }[];
  /** Connections the peer closed while the fake still had more to send. */
  abortedByPeer: Map<string, number>;
  /** Connections currently open. */
  open(): number;
  stop(): Promise<void>;
}

export const GIB = 1024 * 1024 * 1024;
const CHUNK = 64 * 1024;

interface Req {
  method: string;
  path: string;
  body: any;
}

/** Parses one HTTP/1.1 request (Content-Length or chunked body) from the bytes so far; undefined = need more. */
function parseRequest(buf: Buffer): { req: Req; rest: Buffer } | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const head = buf.subarray(0, end).toString("latin1").split("\r\n");
  const [method = "GET", path = "/"] = head[0]!.split(" ");
  const headers = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  let body = buf.subarray(end + 4);
  let consumed: number;
  if (headers.get("transfer-encoding")?.includes("chunked")) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf("\r\n", at);
      if (nl === -1) return undefined;
      const size = parseInt(body.subarray(at, nl).toString("latin1"), 16);
      if (body.length < nl + 2 + size + 2) return undefined;
      if (size === 0) {
        consumed = nl + 4;
        break;
      }
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(headers.get("content-length") ?? 0);
    if (body.length < length) return undefined;
    consumed = length;
    body = body.subarray(0, length);
  }
  let json: any;
  try {
    json = body.length ? JSON.parse(body.toString("utf8")) : undefined;
  } catch {
    json = undefined;
  }
  return { req: { method, path, body: json }, rest: buf.subarray(end + 4 + consumed) };
}

const MODELS = ["endless", "endless-slow", "keepalive", "huge", "huge-cl", "huge-line", "huge-event", "headers-only", "stall", "bad-framing", "wrong-type", "reset-headers", "silent", "cut-mid-stream", "ok"];

function head(status: number, type: string, extra: string[] = []): string {
  return [`HTTP/1.1 ${status} ${status === 200 ? "OK" : "Error"}`, `content-type: ${type}`, "connection: close", ...extra].join("\r\n") + "\r\n\r\n";
}

const chunkFrame = (data: string | Buffer) => {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
};

function openaiChunk(content: string, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-hostile", object: "chat.completion.chunk", created: 1, model: "hostile", choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
}

function ollamaLine(content: string, done = false): string {
  return `${JSON.stringify({ model: "hostile", created_at: new Date(0).toISOString(), message: { role: "assistant", content }, done, ...(done ? { done_reason: "stop", prompt_eval_count: 3, eval_count: 2 } : {}) })}\n`;
}

function okAnswer(ollama: boolean, stream: boolean): { type: string; body: string } {
  if (ollama)
    return stream
      ? { type: "application/x-ndjson", body: ollamaLine("Hello ") + ollamaLine("there") + ollamaLine("", true) }
      : { type: "application/json", body: ollamaLine("Hello there", true) };
  return stream
    ? { type: "text/event-stream", body: openaiChunk("Hello ") + openaiChunk("there") + openaiChunk("", "stop") + "data: [DONE]\n\n" }
    : {
        type: "application/json",
        body: JSON.stringify({
          id: "chatcmpl-hostile",
          object: "chat.completion",
          created: 1,
          model: "hostile",
          choices: [{ index: 0, message: { role: "assistant", content: "Hello there" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      };
}

/** The bytes of the valid answer (status line to last byte) that `close-at-N` cuts after N bytes. */
export function rawOkAnswer(ollama: boolean, stream: boolean): Buffer {
  const ok = okAnswer(ollama, stream);
  return Buffer.from(head(200, ok.type, [`content-length: ${Buffer.byteLength(ok.body)}`]) + ok.body);
}

/** Writes what `next()` produces until it returns undefined, honouring back-pressure. Resolves false if the peer left first. */
function pump(socket: Socket, next: () => Buffer | undefined, delayMs = 0): Promise<boolean> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (completed: boolean) => {
      if (finished) return;
      finished = true;
      resolve(completed);
    };
    socket.once("close", () => finish(false));
    const step = () => {
      if (finished || socket.destroyed) return finish(false);
      for (;;) {
        const b = next();
        if (!b) return finish(true);
        if (!socket.write(b)) {
          socket.once("drain", () => (delayMs ? setTimeout(step, delayMs) : step()));
          return;
        }
        if (delayMs) {
          setTimeout(step, delayMs);
          return;
        }
      }
    };
    step();
  });
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const written = new Map<string, number>();
  const abortedByPeer = new Map<string, number>();
  const requests: HostileUpstream["requests"] = [];
  const sockets = new Set<Socket>();
  const count = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);

  const serve = async (socket: Socket, req: Req) => {
    const ollama = req.path.startsWith("/api/");
    if (req.method === "GET") {
      const list = ollama ? { models: MODELS.map((name) => ({ name, model: name })) } : { object: "list", data: MODELS.map((id) => ({ id, object: "model" })) };
      const body = JSON.stringify(list);
      socket.end(head(200, "application/json", [`content-length: ${Buffer.byteLength(body)}`]) + body);
      return;
    }
    const model: string = typeof req.body?.model === "string" ? req.body.model : "ok";
    const stream = req.body?.stream === true || (ollama && req.body?.stream !== false);
    requests.push({ path: req.path, model, stream, at: Date.now() });
    const streamType = ollama ? "application/x-ndjson" : "text/event-stream";
    const write = (b: Buffer | string) => {
      const buf = typeof b === "string" ? Buffer.from(b) : b;
      count(written, model, buf.length);
      return buf;
    };
    // Whatever the fake leaves open and the peer then closes counts as aborted by the peer.
    let finished = false;
    socket.once("close", () => {
      if (!finished) count(abortedByPeer, model, 1);
    });
    const run = async (next: () => Buffer | undefined, delayMs = 0) => {
      const completed = await pump(socket, () => {
        const b = next();
        return b && write(b);
      }, delayMs);
      if (completed) {
        finished = true;
        socket.end();
      }
    };
    const forever = (piece: () => string) => () => chunkFrame(piece());
    const closeAt = /^close-at-(\d+)$/.exec(model);
    if (closeAt) {
      const full = rawOkAnswer(ollama, stream);
      finished = true;
      socket.write(write(full.subarray(0, Number(closeAt[1]))));
      socket.destroy();
      return;
    }
    switch (model) {
      case "endless":
      case "endless-slow": {
        socket.write(write(head(200, streamType, ["transfer-encoding: chunked"])));
        const piece = ollama ? () => ollamaLine("x".repeat(64)) : () => openaiChunk("x".repeat(64));
        return run(forever(piece), model === "endless-slow" ? 50 : 0);
      }
      case "keepalive":
        socket.write(write(head(200, streamType, ["transfer-encoding: chunked"])));
        return run(forever(() => (ollama ? "\n" : ": ping\n\n")), 5);
      case "huge":
      case "huge-cl":
      case "huge-line": {
        const type = model === "huge-line" ? streamType : "application/json";
        const extra = model === "huge-cl" ? [`content-length: ${GIB}`] : ["transfer-encoding: chunked"];
        socket.write(write(head(200, type, extra)));
        const prefix = model === "huge-line" ? (ollama ? '{"message":{"content":"' : 'data: {"choices":[{"delta":{"content":"') : '{"choices":[{"message":{"content":"';
        let sent = 0;
        const filler = Buffer.alloc(CHUNK, 0x61);
        const framed = model !== "huge-cl";
        return run(() => {
          if (sent >= GIB) return undefined;
          const b = sent === 0 ? Buffer.concat([Buffer.from(prefix), filler.subarray(prefix.length)]) : filler;
          sent += b.length;
          return framed ? chunkFrame(b) : b;
        });
      }
      case "huge-event":
        socket.write(write(head(200, streamType, ["transfer-encoding: chunked"])));
        return run(forever(() => (ollama ? `{"message":{"content":"${"y".repeat(1000)}` : `data: ${"y".repeat(1000)}\n`)));
      case "headers-only":
        socket.write(write(head(200, stream ? streamType : "application/json", ["transfer-encoding: chunked"])));
        return;
      case "stall": {
        const ok = okAnswer(ollama, stream);
        socket.write(write(head(200, ok.type, ["transfer-encoding: chunked"]) + chunkFrame(ok.body.slice(0, Math.floor(ok.body.length / 2))).toString("latin1")));
        return;
      }
      case "bad-framing": {
        const junk = ollama
          ? ["not json at all\n", '{"message":{"content":"a"}}\n', '{"message":\n', "\u0000\u0001\u0002\n", '{"done":tru'].join("")
          : ["data: {not json}\n\n", "event: message_start\n\n", "data: [DON\n", "\u0000\u0001\u0002\n\n", 'data: {"choices":"nope"}\n\n', "retry: x\n\ndata"].join("");
        finished = true;
        socket.end(write(head(200, streamType, [`content-length: ${Buffer.byteLength(junk)}`]) + junk));
        return;
      }
      case "wrong-type": {
        const html = "<!doctype html><html><body><h1>502 Bad Gateway</h1>nginx</body></html>";
        finished = true;
        socket.end(write(head(200, "text/html", [`content-length: ${html.length}`]) + html));
        return;
      }
      case "silent":
        return;
      case "cut-mid-stream": {
        socket.write(write(head(200, streamType, ["transfer-encoding: chunked"]) + chunkFrame(ollama ? ollamaLine("Hello ") : openaiChunk("Hello ")).toString("latin1")));
        setTimeout(() => {
          finished = true;
          socket.destroy();
        }, 100);
        return;
      }
      case "reset-headers":
        finished = true;
        socket.write(write("HTTP/1.1 200 OK\r\ncontent-type: text/event-st"));
        socket.destroy();
        return;
      default: {
        finished = true;
        const ok = okAnswer(ollama, stream);
        socket.end(write(head(200, ok.type, [`content-length: ${Buffer.byteLength(ok.body)}`]) + ok.body));
      }
    }
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    let served = false;
    socket.on("data", (d: Buffer) => {
      if (served) return;
      buf = Buffer.concat([buf, d]);
      const parsed = parseRequest(buf);
      if (!parsed) return;
      served = true;
      void serve(socket, parsed.req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    written,
    requests,
    abortedByPeer,
    open: () => sockets.size,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
