import type { LmrelayConfig } from "../../src/config/define";
import type { Logger } from "../../src/log/logger";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Helpers for the routing end-to-end tests: upstreams that break in ways the shared fakes do not
// (a connection reset, a stream whose cancellation is observed), a logger that keeps its lines,
// and small request and audit helpers. Everything listens on 127.0.0.1 and every wait is bounded.

/** A TCP server that accepts and then resets every connection as soon as the request arrives. */
export function startResetServer(): { url: string; stop(): void } {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.terminate();
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

/**
 * An OpenAI-compatible SSE answer written on raw TCP (chunked encoding), which sends `w0 ` … `w{n-1} `
 * one every `intervalMs` and then closes the socket with the answer unfinished: a stream cut
 * mid-answer, as a dropped connection looks to the gateway.
 */
export function startCutStream(contentChunks: number, intervalMs: number): { url: string; stop(): void } {
  const frame = (delta: Record<string, unknown>) => {
    const data = `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "cut", choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    return `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
  };
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async data(socket) {
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
        socket.write(frame({ role: "assistant", content: "" }));
        for (let i = 0; i < contentChunks; i++) {
          socket.write(frame({ content: `w${i} ` }));
          await Bun.sleep(intervalMs);
        }
        socket.end();
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

/** A port nothing listens on (connection refused). */
export async function closedPort(): Promise<string> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return `http://127.0.0.1:${port}`;
}

export interface SlowStream {
  url: string;
  /** Chunks the server managed to hand over before its stream was cancelled. */
  sent: number;
  /** Whether the gateway cancelled the upstream stream. */
  cancelled: boolean;
  requests: number;
  stop(): void;
}

/** An OpenAI-compatible upstream streaming one chunk every `intervalMs`, up to `chunks`. */
export function startSlowStream(intervalMs: number, chunks = 200): SlowStream {
  const state: SlowStream = { url: "", sent: 0, cancelled: false, requests: 0, stop: () => {} };
  const enc = new TextEncoder();
  const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
    enc.encode(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "slow", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.endsWith("/models")) return Response.json({ object: "list", data: [{ id: "slow", object: "model" }] });
      state.requests++;
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(frame({ role: "assistant", content: "" }));
          controller.enqueue(frame({ content: "w0 " }));
          timer = setInterval(() => {
            if (state.sent >= chunks) {
              clearInterval(timer);
              controller.enqueue(frame({}, "stop"));
              controller.enqueue(enc.encode("data: [DONE]\n\n"));
              controller.close();
              return;
            }
            state.sent++;
            controller.enqueue(frame({ content: `w${state.sent} ` }));
          }, intervalMs);
        },
        cancel() {
          clearInterval(timer);
          state.cancelled = true;
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  state.url = `http://127.0.0.1:${server.port}`;
  state.stop = () => void server.stop(true);
  return state;
}

export interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Starts a gateway, runs `fn`, stops the gateway (even when `fn` fails). */
export async function withGateway<T>(config: LmrelayConfig, fn: (gw: TestGateway) => Promise<T>, opts?: { log?: Logger }): Promise<T> {
  const gw = await startGateway(config, opts);
  try {
    return await fn(gw);
  } finally {
    await gw.stop();
  }
}

/** POST /v1/chat/completions with fetch; returns the response (body unread). */
export function chat(gw: TestGateway, model: string, opts: { stream?: boolean; text?: string; signal?: AbortSignal; maxTokens?: number } = {}): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: opts.text ?? "hello" }],
      stream: opts.stream ?? false,
      ...(opts.maxTokens ? { max_tokens: opts.maxTokens } : {}),
    }),
    signal: opts.signal ?? AbortSignal.timeout(10_000),
  });
}

/** The attempts JSON of every audit row written so far, oldest first. */
export function auditRows(gw: TestGateway): { status: number; provider: string | null; attempts: any[] }[] {
  gw.runtime.audit.flush();
  return (gw.runtime.db.$client.query("SELECT status, provider, attempts FROM requests ORDER BY id").all() as { status: number; provider: string | null; attempts: string }[]).map(
    (r) => ({ ...r, attempts: JSON.parse(r.attempts) }),
  );
}

/** Who answered a relayed request. */
export const servedBy = (res: Response) => res.headers.get("x-lmrelay-provider");
