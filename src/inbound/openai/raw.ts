import type { GatewayError } from "../../core/errors";
import { SettledAnswer } from "../../core/fold";
import type { ChatRequest, StreamEvent } from "../../core/types";
import type { StreamEncoder } from "../http";
import type { AnswerMeta } from "./encode";
import { ChatStreamEncoder } from "./stream";

// The OpenAI client's side of a same-format passthrough: the client's request is kept as it came
// (an OpenAI-wire upstream adapter may forward it as it is), and an answer that comes back as the
// upstream's own bytes (`raw` events) is relayed as those bytes. Only what the translation would
// add is written here, by the translation's own encoder: a missing finish reason, an estimated
// usage chunk when asked for, `[DONE]`, error frames.

const DONE = "data: [DONE]\n\n";

/** Keeps a decoded Chat Completions request's original body beside it; `text` is what it was decoded from. */
export function keepOriginal(req: ChatRequest, text: string, body: unknown): void {
  if (body && typeof body === "object" && !Array.isArray(body)) req.original = { protocol: "openai", text, body: body as Record<string, unknown> };
}

/** The non-stream answer's bytes, once the events are over (bookkeeping included); errors throw. */
export async function rawAnswer(events: AsyncIterable<StreamEvent>): Promise<string | Uint8Array> {
  let data: string | Uint8Array = "";
  const take = (ev: StreamEvent) => {
    if (ev.type === "raw") data = ev.data;
    else if (ev.type === "error") throw ev.error;
  };
  if (events instanceof SettledAnswer) for (const ev of events.events) take(ev);
  else for await (const ev of events) take(ev);
  return data;
}

/** The stream side of a passthrough: the upstream's bytes, and what the translation would
 *  add (a missing finish reason, an estimated usage chunk when asked for, `[DONE]`, error frames)
 *  in the translation's own encoder, which sees the answer's start only if it has to write. */
export class PassthroughStreamEncoder implements StreamEncoder {
  /** Made when lmrelay has something to write itself (most streams: never). */
  private translation: ChatStreamEncoder | undefined;
  private estimated = false;
  /** The start event, not yet shown to the translation (it fixes the id and model of the chunks
   *  lmrelay adds; its opening chunk is the upstream's, relayed already). */
  private start: StreamEvent | undefined;

  constructor(
    private readonly meta: AnswerMeta,
    private readonly includeUsage: boolean,
  ) {}

  encode(ev: StreamEvent): string | Uint8Array {
    switch (ev.type) {
      case "raw":
        return ev.data;
      case "start":
        this.start = ev;
        return "";
      case "finish":
        return this.inner().encode(ev);
      case "usage":
        // The upstream's own usage chunk was relayed already; only an estimate needs writing.
        if (ev.usage.estimated) {
          this.estimated = true;
          this.inner().encode(ev);
        }
        return "";
      default:
        return "";
    }
  }

  end(): string {
    if (!(this.includeUsage && this.estimated)) return DONE;
    const inner = this.inner();
    inner.encode({ type: "finish", reason: "stop" }); // the finish chunk went out already
    return inner.end();
  }

  error(err: GatewayError): string {
    return this.inner().error(err);
  }

  private inner(): ChatStreamEncoder {
    this.translation ??= new ChatStreamEncoder(this.meta, this.includeUsage);
    if (this.start) {
      this.translation.encode(this.start);
      this.start = undefined;
    }
    return this.translation;
  }
}
