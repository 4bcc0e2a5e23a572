import type { GatewayError } from "../../core/errors";
import { DEFAULT_MAX_EVENT_CHARS, Utf8Reads } from "../../core/sse";
import type { StreamEvent } from "../../core/types";
import { bodyChunks, type UpstreamEndpoint, upstreamError } from "../http";
import { errorFromPayload, OpenAIChunkDecoder } from "./decode";

// The stream half of same-format passthrough (forward.ts sends the request): the upstream's SSE
// bytes relayed as they came, decoded alongside for lmrelay's bookkeeping. What the translation
// would add on the client's side (a missing finish reason, an estimated usage, `[DONE]`) the
// inbound OpenAI codec writes (inbound/openai/raw.ts).

/**
 * The upstream's SSE body as `raw` events, one per upstream read that holds whole frames (an
 * untouched read is forwarded as the very same bytes), each frame also decoded for bookkeeping.
 * Cut out: the usage chunk lmrelay asked for on the client's behalf, and `[DONE]` (the encoder
 * closes the stream, after what the translation would add: a missing finish reason, an estimated
 * usage). A frame split across reads waits for its end; an upstream error frame becomes an `error`
 * event (the client gets lmrelay's error frame, as on the translated path). Comments before the
 * first data frame wait for it and go out with it. Only a `raw` event that carries output is
 * `content`: the router commits to the answer there, so a role chunk followed by an in-band error
 * still fails over.
 */
export async function* rawStream(ep: UpstreamEndpoint, res: Response, stripUsage: boolean): AsyncGenerator<StreamEvent> {
  const frames = new RawFrames(ep, stripUsage);
  for await (const bytes of bodyChunks(ep, res)) {
    for (const ev of frames.push(bytes)) yield ev;
    if (frames.over) return;
    if (frames.decoder.done) break;
  }
  // What the translation adds at the end: a finish reason the upstream left out; usage last.
  for (const ev of frames.decoder.end()) if ((ev.type === "finish" && !frames.finished) || ev.type === "usage" || ev.type === "start") yield ev;
}

/** `rawStream`'s work on each read, done synchronously: the events one read gives. */
class RawFrames {
  readonly decoder: OpenAIChunkDecoder;
  /** An error ended the stream. */
  over = false;
  /** The upstream sent its own finish reason. */
  finished = false;
  private sawData = false;
  /** Text after the last complete frame. */
  private pending = "";
  /** Frames (comments) before the first data frame, relayed with it. */
  private held = "";
  /** A frame split across reads: its pieces, joined once its end arrives (no rescans of a long line). */
  private readonly parts: string[] = [];
  private partChars = 0;
  private readonly utf8 = new Utf8Reads();
  private readonly out: StreamEvent[] = [];

  constructor(
    private readonly ep: UpstreamEndpoint,
    private readonly stripUsage: boolean,
  ) {
    this.decoder = new OpenAIChunkDecoder({ ep });
  }

  /** The events of one read: its `start`, its `raw` bytes, an `error`. The array is reused. */
  push(bytes: Uint8Array): StreamEvent[] {
    const out = this.out;
    out.length = 0;
    const piece = this.utf8.decode(bytes);
    const { parts } = this;
    if (parts.length > 0 && !piece.includes("\n\n") && !piece.includes("\r") && !(piece.charCodeAt(0) === 10 && parts.at(-1)!.endsWith("\n"))) {
      parts.push(piece);
      this.partChars += piece.length;
      // A frame that never ends must not fill memory: the same bound as the SSE parser's.
      if (this.partChars > DEFAULT_MAX_EVENT_CHARS) {
        this.over = true;
        out.push({ type: "error", error: upstreamError(this.ep, "upstream_error", `sent a stream event longer than ${DEFAULT_MAX_EVENT_CHARS} characters; the answer was cut`, { code: "bad_response" }) });
      }
      return out;
    }
    if (parts.length > 0) {
      this.pending = parts.join("");
      parts.length = 0;
      this.partChars = 0;
    }
    const pending = this.pending;
    let text = pending === "" ? piece : pending + piece;
    const crlf = text.includes("\r");
    if (crlf) text = text.replace(/\r\n?/g, "\n");
    const last = text.lastIndexOf("\n\n");
    if (last < 0) {
      parts.push(text);
      this.partChars = text.length;
      this.pending = "";
      return out;
    }
    this.pending = text.slice(last + 2);
    // What is relayed is `text` up to `kept`, then (once a frame was cut) `cut` plus later frames.
    let kept = 0;
    let cut: string | undefined;
    let chars = 0;
    let content = false;
    let start: StreamEvent | undefined;
    let error: GatewayError | undefined;
    for (let at = 0; at <= last; ) {
      const end = text.indexOf("\n\n", at);
      const next = end + 2;
      const data = frameData(text, at, end);
      if (data === undefined) {
        if (text.startsWith("event: error", at) || text.startsWith("event:error", at)) {
          error = errorFromPayload(this.ep, errorPayload(text.slice(at, end)));
          break;
        }
        // Comments and bare event lines pass through as they are.
        if (cut !== undefined) cut += text.slice(at, next);
        kept = next;
        at = next;
        continue;
      }
      this.sawData = true;
      if (data === "[DONE]") {
        this.decoder.done = true;
        cut ??= text.slice(0, kept);
        break;
      }
      let chunk: any;
      try {
        chunk = JSON.parse(data);
        for (const ev of this.decoder.pushChunk(chunk)) {
          if (ev.type === "text" || ev.type === "thinking") ((chars += ev.text.length), (content = true));
          else if (ev.type === "tool_call_delta") ((chars += ev.arguments.length), (content = true));
          else if (ev.type === "tool_call_start") content = true;
          else if (ev.type === "finish") this.finished = true;
          else if (ev.type === "start") start = ev;
        }
      } catch (e) {
        error = chunk === undefined ? upstreamError(this.ep, "upstream_error", `sent a stream chunk that is not JSON: ${data.slice(0, 200)}`, { code: "bad_response" }) : (e as GatewayError);
        break;
      }
      if (this.stripUsage && chunk.usage && Array.isArray(chunk.choices) && chunk.choices.length === 0) cut ??= text.slice(0, kept);
      else if (cut !== undefined) cut += text.slice(at, next);
      else kept = next;
      at = next;
    }
    if (start) out.push(start);
    const relayed = cut ?? text.slice(0, kept);
    if (error) {
      this.over = true;
      if (relayed && this.sawData) out.push({ type: "raw", data: this.held + relayed, content, chars });
      out.push({ type: "error", error });
      return out;
    }
    if (!this.sawData) {
      this.held += relayed;
      return out;
    }
    // A read of whole frames, none cut: its own bytes go on.
    const untouched = pending === "" && !crlf && cut === undefined && last === text.length - 2 && this.held === "";
    if (relayed) out.push({ type: "raw", data: untouched ? bytes : this.held + relayed, content, chars });
    this.held = "";
    return out;
  }
}

/** The `data:` payload of the frame `text[at, end)` (lines joined), or undefined for a frame without one. */
function frameData(text: string, at: number, end: number): string | undefined {
  // Nearly every frame: one `data: ` line.
  if (text.startsWith("data: ", at) && text.indexOf("\n", at) === end) return text.slice(at + 6, end);
  let data: string | undefined;
  for (const line of text.slice(at, end).split("\n")) {
    if (!line.startsWith("data:")) continue;
    const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? v : `${data}\n${v}`;
  }
  return data;
}

function errorPayload(frame: string): unknown {
  const data = frameData(frame, 0, frame.length) ?? "";
  try {
    const p = JSON.parse(data);
    return p?.error ?? p;
  } catch {
    return data;
  }
}
