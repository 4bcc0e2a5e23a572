import type { ResolvedConfig } from "../config/resolve";
import type { RequestContext } from "../core/gateway";
import type { BodyRow } from "../store/schema";
import { redactorFor } from "./redact";

// Body capture for the audit log (`audit: { bodies: true }`), done at the HTTP edge so the bodies
// are exactly what went over the wire in each protocol, streams included. The response body is
// passed through chunk by chunk (no buffering in front of the client; a client that leaves still
// cancels the upstream) while a bounded copy is kept; the row is queued when the body ends.

/** Characters kept of each body; the rest is cut and the row marked `truncated`. */
export const CAPTURE_LIMIT = 1024 * 1024;

interface Sink {
  pushBody(row: BodyRow): void;
}

class Copy {
  text = "";
  truncated = false;
  private decoder = new TextDecoder();

  add(chunk: Uint8Array): void {
    if (this.text.length >= CAPTURE_LIMIT) {
      this.truncated = true;
      return;
    }
    this.text += this.decoder.decode(chunk, { stream: true });
    if (this.text.length > CAPTURE_LIMIT) {
      this.text = this.text.slice(0, CAPTURE_LIMIT);
      this.truncated = true;
    }
  }
}

export interface Capture {
  /** Copies the response body (wrapping a stream so it is copied as it flows); queues the row
   *  when the body ends. */
  finish(res: Response): Promise<Response>;
}

/** Starts capturing one exchange: a copy of the request body is read beside the handler's own. */
export function startCapture(request: Request, ctx: RequestContext, config: ResolvedConfig, sink: Sink): Capture {
  const redactor = redactorFor(config);
  const requestText: Promise<{ text: string; truncated: boolean }> =
    request.body && request.method !== "GET" && request.method !== "HEAD"
      ? request
          .clone()
          .text()
          .then((t) => ({ text: t.length > CAPTURE_LIMIT ? t.slice(0, CAPTURE_LIMIT) : t, truncated: t.length > CAPTURE_LIMIT }))
          .catch(() => ({ text: "", truncated: false }))
      : Promise.resolve({ text: "", truncated: false });

  let done = false;
  const complete = (response: Copy) => {
    if (done) return;
    done = true;
    void requestText.then((req) =>
      sink.pushBody({
        ts: ctx.receivedAtMs,
        requestId: ctx.requestId,
        request: req.text ? redactor.body(req.text) : null,
        response: response.text ? redactor.body(response.text) : null,
        truncated: req.truncated || response.truncated,
      }),
    );
  };

  return {
    async finish(res) {
      const copy = new Copy();
      if (!res.body) {
        complete(copy);
        return res;
      }
      // A JSON answer is already whole: keep it a plain body (with its length) rather than a stream.
      // Streamed answers say `cache-control: no-cache`, JSON ones too (Gemini's streamed array):
      // those are copied as they flow.
      if (res.headers.get("content-type")?.startsWith("application/json") && res.headers.get("cache-control") !== "no-cache") {
        const bytes = new Uint8Array(await res.arrayBuffer());
        copy.add(bytes);
        complete(copy);
        return new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
      }
      const reader = res.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const r = await reader.read();
            if (r.done) {
              controller.close();
              complete(copy);
              return;
            }
            copy.add(r.value);
            controller.enqueue(r.value);
          } catch (e) {
            complete(copy);
            controller.error(e);
          }
        },
        async cancel(reason) {
          complete(copy);
          await reader.cancel(reason);
        },
      });
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    },
  };
}
