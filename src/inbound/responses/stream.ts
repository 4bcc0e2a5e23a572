import type { GatewayError } from "../../core/errors";
import type { StreamEvent } from "../../core/types";
import type { StreamEncoder } from "../http";
import type { Json } from "../openai/check";
import { ResponseBuilder } from "./builder";
import { type ResponseHead, responseJson, responseObject, type ResponseTail } from "./encode";
import { failedCode, failedMessage } from "./errors";
import type { ToolNames } from "./tools";

// Canonical events → the Responses SSE stream, byte-exact: `event: <type>\ndata: {json}\n\n`, the JSON
// starting with `type` and a `sequence_number` rising by one from 0. Opens with response.created and
// response.in_progress, ends with response.completed (or .incomplete), or response.failed on an
// error after the stream began (then the body closes).

export interface ResponsesStreamOptions {
  head: ResponseHead;
  names: ToolNames;
  provider: string;
  /** Called once with the finished response (completed or incomplete), to store it. */
  onFinished?(response: Json): void;
  /** Item ids; random unless a test fixes them. */
  newId?: (prefix: string) => string;
  /** Unix seconds for `completed_at`; the clock unless a test fixes it. */
  now?: () => number;
}

function tailOf(b: ResponseBuilder, completedAt: number): ResponseTail {
  const incomplete = b.finish === "length" ? "max_output_tokens" : b.finish === "content_filter" ? "content_filter" : undefined;
  const tail: ResponseTail = { status: incomplete ? "incomplete" : "completed", output: b.output, completedAt };
  if (b.usage) tail.usage = b.usage;
  if (incomplete) tail.incompleteReason = incomplete;
  return tail;
}

const clock = () => Math.floor(Date.now() / 1000);

const HEADS = new Map<string, string>();

/** `event: <type>\ndata: {"type":"<type>","sequence_number":` — a handful of types, built once each. */
function frameHead(type: string): string {
  let head = HEADS.get(type);
  if (head === undefined) HEADS.set(type, (head = `event: ${type}\ndata: {"type":"${type}","sequence_number":`));
  return head;
}

/** A text delta's frame head: its frames are written in one template (builder.ts, TextDeltaSink). */
const TEXT_DELTA = frameHead("response.output_text.delta");

export class ResponsesStreamEncoder implements StreamEncoder {
  private seq = 0;
  private out = "";
  private started = false;
  private readonly builder: ResponseBuilder;

  constructor(private readonly opts: ResponsesStreamOptions) {
    this.builder = new ResponseBuilder(
      opts.names,
      opts.provider,
      (type, fields) => this.frame(type, fields),
      opts.newId,
      (open, body, close) => {
        this.out += `${TEXT_DELTA}${this.seq++}${open}${body}${close}`;
      },
    );
  }

  /** The last frame's type and head: runs of deltas find theirs without a map lookup. */
  private lastType = "";
  private lastHead = "";

  private frame(type: string, fields: string): void {
    if (type !== this.lastType) ((this.lastType = type), (this.lastHead = frameHead(type)));
    this.out += `${this.lastHead}${this.seq++},${fields}}\n\n`;
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    const response = responseJson(this.opts.head, { status: "in_progress", output: [] }, "");
    this.frame("response.created", `"response":${response}`);
    this.frame("response.in_progress", `"response":${response}`);
  }

  private take(): string {
    const s = this.out;
    this.out = "";
    return s;
  }

  encode(ev: StreamEvent): string {
    this.begin();
    this.builder.push(ev);
    return this.take();
  }

  end(): string {
    this.begin();
    this.builder.close();
    const tail = tailOf(this.builder, (this.opts.now ?? clock)());
    this.opts.onFinished?.(responseObject(this.opts.head, tail));
    // Every item is closed: each one's JSON was written in its output_item.done already.
    const response = responseJson(this.opts.head, tail, this.builder.outputJson.join(","));
    this.frame(tail.status === "incomplete" ? "response.incomplete" : "response.completed", `"response":${response}`);
    return this.take();
  }

  error(err: GatewayError): string {
    this.begin();
    const tail: ResponseTail = { status: "failed", output: this.builder.output.filter(Boolean), error: { code: failedCode(err), message: failedMessage(err) } };
    if (this.builder.usage) tail.usage = this.builder.usage;
    this.frame("response.failed", `"response":${JSON.stringify(responseObject(this.opts.head, tail))}`);
    return this.take();
  }
}

/** The non-stream answer: the same builder fed the whole answer, announcements ignored. */
export function buildResponse(events: StreamEvent[], opts: Omit<ResponsesStreamOptions, "onFinished">): Json {
  const b = new ResponseBuilder(opts.names, opts.provider, () => {}, opts.newId);
  for (const ev of events) b.push(ev);
  b.close();
  return responseObject(opts.head, tailOf(b, (opts.now ?? clock)()));
}
