// Shared machinery for fake upstreams: a real HTTP server on 127.0.0.1 that records every request
// and can be told, request by request, to misbehave.

export interface RecordedRequest {
  method: string;
  path: string;
  /** Path with query string. */
  url: string;
  headers: Record<string, string>;
  body: any;
}

/** What the fake does for the next request(s). Queued faults are consumed in order; when the queue
 *  is empty the fake answers normally. */
export type Fault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  /** Answer normally but stop the stream (drop the socket) after `afterChunks` chunks. */
  | { kind: "cut"; afterChunks: number }
  /** Wait before sending headers. */
  | { kind: "delay"; ms: number }
  /** Send a 200 with a body that is not valid JSON (or invalid stream framing). */
  | { kind: "badJson" }
  /** Never answer. */
  | { kind: "hang" };

export interface FakeReply {
  /** Text the fake answers with (default: "Hello from <fake>"). */
  text?: string;
  /** Tool calls to answer with instead of / besides text. `rawArguments` (OpenAI-wire fakes only)
   *  replaces the serialised arguments with text as a model wrote it — OpenAI's docs warn that "the
   *  model does not always generate valid JSON" (function calling guide). */
  toolCalls?: { id?: string; name: string; arguments: Record<string, unknown>; rawArguments?: string }[];
  usage?: { input: number; output: number; cached?: number };
  /** Delay between stream chunks, ms. */
  chunkDelayMs?: number;
  /** A stream's last chunk waits for this (to show the client got the first ones before the end). */
  holdLast?: Promise<unknown>;
  finishReason?: string;
}

export interface FakeUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Queue faults for the next requests. */
  fail(...faults: Fault[]): void;
  /** Set how normal answers look from now on. */
  reply(r: FakeReply): void;
  /** Models the fake's model-list endpoint reports. */
  models: string[];
  stop(): Promise<void>;
}

export interface FakeState {
  requests: RecordedRequest[];
  faults: Fault[];
  replyWith: FakeReply;
}

export async function record(req: Request): Promise<RecordedRequest> {
  const u = new URL(req.url);
  const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { method: req.method, path: u.pathname, url: u.pathname + u.search, headers: Object.fromEntries(req.headers), body };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A streamed body from pre-framed chunks, honouring chunk delay and a "cut" fault. */
export function chunkedBody(chunks: string[], opts: { delayMs?: number; cutAfter?: number; holdLast?: Promise<unknown> }): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (opts.cutAfter !== undefined && i >= opts.cutAfter) {
        controller.error(new Error("fake upstream cut the stream"));
        return;
      }
      if (i >= chunks.length) {
        controller.close();
        return;
      }
      if (opts.delayMs && i > 0) await sleep(opts.delayMs);
      if (opts.holdLast && i > 0 && i === chunks.length - 1) await opts.holdLast;
      controller.enqueue(enc.encode(chunks[i++]!));
    },
  });
}

/**
 * Applies the next queued fault, if any. Returns a Response to send instead of the normal answer,
 * or `{ cutAfter }` for the normal answer to be cut, or undefined to answer normally.
 */
export async function applyFault(state: FakeState): Promise<Response | { cutAfter: number } | undefined> {
  const f = state.faults.shift();
  if (!f) return undefined;
  switch (f.kind) {
    case "status":
      return new Response(typeof f.body === "string" ? f.body : JSON.stringify(f.body ?? { error: "fake failure" }), {
        status: f.status,
        headers: { "content-type": "application/json", ...f.headers },
      });
    case "delay":
      await sleep(f.ms);
      return undefined;
    case "badJson":
      return new Response("{not json", { status: 200, headers: { "content-type": "application/json" } });
    case "hang":
      await new Promise(() => {});
      return undefined;
    case "cut":
      return { cutAfter: f.afterChunks };
  }
}

/** The controls every fake exposes over its server and state (url, recorded requests, faults, replies). */
export function fakeControls<R>(server: Bun.Server<unknown>, state: { requests: RecordedRequest[]; faults: Fault[]; replyWith: R }) {
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    requests: state.requests,
    fail: (...faults: Fault[]) => void state.faults.push(...faults),
    reply: (r: R) => void (state.replyWith = r),
    stop: () => server.stop(true),
  };
}
