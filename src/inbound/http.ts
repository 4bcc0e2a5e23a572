import { clientFacing, GatewayError, lmrelayError } from "../core/errors";
import { ResponseFolder, SettledAnswer } from "../core/fold";
import type { ChatResponse, StreamEvent } from "../core/types";
import { type Heartbeat, type KeepAlive, startHeartbeat, stopHeartbeat } from "./heartbeat";

// HTTP plumbing every inbound protocol shares: bounded body reading, JSON answers, and turning an
// event stream into a streamed HTTP body that aborts the upstream when the client goes away.

const encoder = new TextEncoder();

/** How long a request body may stall. lmrelay turns Bun's idle timeout off for each request (long
 *  answers are silent for minutes), so without this a client that stops sending mid-body would
 *  hold its connection forever. */
export const BODY_STALL_MS = 30_000;

/** Bodies up to this size are read in one native call; larger and chunked ones chunk by chunk. */
const READ_WHOLE_BYTES = 1024 * 1024;

/** Reads and parses a JSON body, refusing more than `maxBytes` without buffering it all, and a
 *  body that stops arriving for `stallMs`. */
export async function readJsonBody(request: Request, maxBytes: number, stallMs = BODY_STALL_MS): Promise<unknown> {
  return (await readJsonBodyText(request, maxBytes, stallMs)).json;
}

/** `readJsonBody`, also giving the body's text (same-format passthrough forwards it). */
export async function readJsonBodyText(request: Request, maxBytes: number, stallMs = BODY_STALL_MS): Promise<{ text: string; json: unknown }> {
  const declared = Number(request.headers.get("content-length") ?? "");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    if (!request.body) text = "";
    else if (declared > 0 && declared <= READ_WHOLE_BYTES) {
      text = await withinStall(request.text(), stallMs);
      if (text.length > maxBytes) throw tooLarge(maxBytes);
    } else {
      // Large, chunked or undeclared length: count as we read.
      const reader = request.body.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      try {
        for (;;) {
          const r = await withinStall(reader.read(), stallMs);
          if (r.done) break;
          size += r.value.byteLength;
          if (size > maxBytes) throw tooLarge(maxBytes);
          chunks.push(r.value);
        }
      } catch (e) {
        reader.cancel().catch(() => {});
        throw e;
      }
      text = new TextDecoder().decode(Buffer.concat(chunks, size));
    }
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    // The client closed the connection (or broke its framing) in the middle of the body.
    throw lmrelayError("invalid_request", `the request body could not be read: ${(e as Error)?.message ?? e}`, { status: 499 });
  }
  if (text.trim() === "") throw lmrelayError("invalid_request", "request body is empty; expected a JSON object");
  try {
    return { text, json: JSON.parse(text) };
  } catch (e) {
    throw lmrelayError("invalid_request", `request body is not valid JSON: ${(e as Error).message}`);
  }
}

interface Stall {
  deadline: number;
  ms: number;
  reject(e: unknown): void;
}

/** Reads in progress, swept by one coarse timer instead of a timer and a race per read. */
const stalls = new Set<Stall>();
let sweeper: ReturnType<typeof setInterval> | undefined;

function sweepStalls(): void {
  const now = performance.now();
  for (const s of stalls)
    if (now >= s.deadline) {
      stalls.delete(s);
      s.reject(lmrelayError("invalid_request", `the request body stopped arriving (nothing for ${s.ms} ms)`, { status: 408 }));
    }
  if (stalls.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function withinStall<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stall: Stall = { deadline: performance.now() + ms, ms, reject };
    stalls.add(stall);
    // A tenth of the limit (at most 1 s) of lateness is fine for a stall.
    if (!sweeper) (sweeper = setInterval(sweepStalls, Math.min(1000, Math.max(10, ms / 10)))).unref?.();
    work.then(
      (v) => {
        stalls.delete(stall);
        resolve(v);
      },
      (e) => {
        stalls.delete(stall);
        reject(e);
      },
    );
  });
}

function tooLarge(maxBytes: number): GatewayError {
  return lmrelayError("request_too_large", `request body exceeds the limit of ${maxBytes} bytes`);
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Folds a non-stream answer; an error event or a thrown error becomes a thrown GatewayError. */
export async function foldStream(events: AsyncIterable<StreamEvent>): Promise<ChatResponse> {
  const folder = new ResponseFolder();
  const take = (ev: StreamEvent) => {
    folder.push(ev);
    if (folder.error) throw clientFacing(folder.error);
  };
  if (events instanceof SettledAnswer) for (const ev of events.events) take(ev);
  else for await (const ev of events) take(ev);
  return folder.result();
}

export interface StreamEncoder {
  /** Frames for one event ("" when the event produces nothing on this protocol); bytes when the
   *  event carries them already encoded (same-format passthrough). */
  encode(ev: StreamEvent): string | Uint8Array;
  /** Frames that close the stream normally. */
  end(): string;
  /** Frames that report an error after the stream began, and close it. */
  error(err: GatewayError): string;
}

/**
 * A streamed HTTP body: pulls events, writes each event's frames as its own chunk (no buffering),
 * ends with the protocol's closing frames. Cancelling the body (client gone) stops the iterator,
 * which aborts the upstream. Errors thrown mid-stream become the protocol's error frames.
 */
export function streamBody(events: AsyncIterable<StreamEvent>, enc: StreamEncoder, toError: (e: unknown) => GatewayError, keepAlive?: KeepAlive): ReadableStream<Uint8Array> {
  const it = events[Symbol.asyncIterator]();
  let done = false;
  /** Keep-alive comments while the answer is silent (heartbeat.ts), when asked for. */
  let beat: Heartbeat | undefined;
  // A direct stream writes strings straight to the socket (no TextEncoder, no queue).
  return new ReadableStream({
    type: "direct",
    async pull(controller: ReadableStreamDirectController) {
      if (keepAlive && !beat && !done) beat = startHeartbeat(controller, keepAlive);
      try {
        for (;;) {
          const r = await it.next();
          if (done) return;
          if (r.done) {
            const tail = enc.end();
            if (tail) controller.write(tail);
            break;
          }
          if (r.value.type === "error") {
            controller.write(enc.error(clientFacing(r.value.error)));
            done = true;
            await it.return?.();
            break;
          }
          const text = enc.encode(r.value);
          if (text) {
            // Flushed at once, so it is its own write; a full socket buffer answers the write with
            // a promise: then wait until the client has drained it (backpressure).
            const written = controller.write(text);
            const flushed = controller.flush(typeof written !== "number");
            if (beat) beat.writes++;
            if (typeof flushed !== "number") await flushed;
          }
        }
      } catch (e) {
        if (done) return;
        controller.write(enc.error(clientFacing(toError(e))));
        // An encoder that refuses the answer (a tool input the protocol cannot carry) ends it here:
        // the upstream request is released, not read on, and the refusal is the answer's error.
        done = true;
        const refused = toError(e);
        await (it.throw ? it.throw(refused) : it.return?.())?.catch(() => {});
      }
      done = true;
      stopHeartbeat(beat, keepAlive);
      controller.close();
    },
    async cancel() {
      done = true;
      stopHeartbeat(beat, keepAlive);
      await it.return?.();
    },
  }) as ReadableStream<Uint8Array>;
}

/** Headers every relayed answer carries. */
export function relayHeaders(requestId: string, extra: Record<string, string>): Record<string, string> {
  return { "x-request-id": requestId, ...safeHeaders(extra) };
}

const UNSAFE_HEADER_CHAR = /[^\t\x20-\x7e]/;
const UNSAFE_HEADER_CHARS = /[^\t\x20-\x7e]/g;

/** A header value that cannot break the response: values such as `x-lmrelay-model` carry
 *  client-chosen model names, which may hold NUL, CR/LF or characters beyond Latin-1 (any of
 *  which makes the response unbuildable). Such characters are percent-encoded as UTF-8. */
export function headerValue(value: string): string {
  if (!UNSAFE_HEADER_CHAR.test(value)) return value;
  return value.replace(UNSAFE_HEADER_CHARS, (c) => Array.from(encoder.encode(c), (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""));
}

export function safeHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) for (const k in headers) out[k] = headerValue(headers[k]!);
  return out;
}
