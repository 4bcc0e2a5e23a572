import { lmrelayError } from "./errors";

// Incremental parsers for the two streaming framings upstreams use. They take raw bytes split at
// any point (inside a line or a UTF-8 character), accept CRLF, comment lines and keep-alives.
// What they hold at once is bounded: a line or event longer than `maxEventChars` is a broken (or
// hostile) upstream, not something to buffer until memory runs out. The parsers are synchronous:
// a stream decoder turns each upstream read into events in one loop, with no await per line.

export interface SseEvent {
  event?: string;
  data: string;
}

export interface StreamParseOptions {
  /** Longest line (NDJSON) or event (SSE) accepted, in characters. Default 32 Mi. */
  maxEventChars?: number;
}

/** Generous: a Gemini event carrying a generated image inline is a few MB. */
export const DEFAULT_MAX_EVENT_CHARS = 32 * 1024 * 1024;

const STREAM = { stream: true };
const whole = new TextDecoder();

/** A body's text, read by read. Reads nearly always end on a newline: those are decoded whole by
 *  one shared decoder, and a stream holds a decoder of its own only while a UTF-8 character is
 *  split across reads (then its streaming state carries the character over). */
export class Utf8Reads {
  private utf8: TextDecoder | undefined;
  private split = false;

  decode(chunk: Uint8Array): string {
    if (chunk.length === 0) return "";
    const last = chunk[chunk.length - 1]!;
    if (!this.split && last < 0x80) return whole.decode(chunk);
    this.split = last >= 0x80;
    return (this.utf8 ??= new TextDecoder()).decode(chunk, STREAM);
  }

  /** What a character cut off by the end of the body leaves (U+FFFD), or "". */
  end(): string {
    return this.split ? this.utf8!.decode() : "";
  }
}

function tooLong(limit: number) {
  return lmrelayError("upstream_error", `the upstream sent a stream event longer than ${limit} characters; the answer was cut`, { code: "bad_response" });
}

/** Lines split across reads: decodes the bytes, hands on each complete line, keeps the rest. */
abstract class LineSplitter<T> {
  protected readonly limit: number;
  private readonly utf8 = new Utf8Reads();
  private rest = "";
  /** A failure met after some items of a read: thrown on the next call, once those are handed on. */
  private failed: unknown;

  constructor(opts: StreamParseOptions) {
    this.limit = opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  /** What one read completed. */
  push(chunk: Uint8Array): T[] {
    if (this.failed) throw this.failed;
    const out: T[] = [];
    const piece = this.utf8.decode(chunk);
    const held = this.rest.length;
    const text = held === 0 ? piece : this.rest + piece;
    // Only the new text can hold the next newline: never rescan what was already searched.
    let start = 0;
    try {
      for (let nl = text.indexOf("\n", held); nl !== -1; nl = text.indexOf("\n", start)) {
        this.line(text, start, nl, out);
        start = nl + 1;
      }
      if (text.length - start > this.limit) throw tooLong(this.limit);
    } catch (e) {
      if (out.length === 0) throw e;
      this.failed = e;
    }
    this.rest = start === text.length ? "" : start === 0 ? text : text.slice(start);
    return out;
  }

  /** What the end of the body completes (a last line without its newline). */
  end(): T[] {
    if (this.failed) throw this.failed;
    const text = this.rest + this.utf8.end();
    this.rest = "";
    const out: T[] = [];
    if (text.length > 0) this.line(text, 0, text.length, out);
    this.finish(out);
    return out;
  }

  /** One line: `text` from `start` to `nl` (a newline, or the end), a CR before it included. */
  protected abstract line(text: string, start: number, nl: number, out: T[]): void;

  protected finish(_out: T[]): void {}
}

/** Server-Sent Events: each event is a blank-line-terminated block that carried `data:`. */
export class SseParser extends LineSplitter<SseEvent> {
  private event: string | undefined;
  /** The event's data lines so far, joined by newlines; undefined before its first. */
  private data: string | undefined;
  private dataChars = 0;

  constructor(opts: StreamParseOptions = {}) {
    super(opts);
  }

  protected line(text: string, start: number, nl: number, out: SseEvent[]): void {
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (end === start) {
      this.dispatch(out);
      return;
    }
    const first = text.charCodeAt(start);
    if (first === 58 /* ':' comment, e.g. ": OPENROUTER PROCESSING" */) return;
    let colon = text.indexOf(":", start);
    if (colon === -1 || colon > end) colon = end;
    // `data:` is nearly every line: recognised without slicing out the field name.
    const isData = first === 100 && colon - start === 4 && text.startsWith("data", start);
    if (!isData && !(colon - start === 5 && text.startsWith("event", start))) return;
    let from = colon < end ? colon + 1 : end;
    if (from < end && text.charCodeAt(from) === 32) from++;
    const value = text.slice(from, end);
    if (!isData) {
      this.event = value;
      return;
    }
    this.dataChars += value.length + 1;
    if (this.dataChars > this.limit) throw tooLong(this.limit);
    this.data = this.data === undefined ? value : `${this.data}\n${value}`;
  }

  protected finish(out: SseEvent[]): void {
    this.dispatch(out);
  }

  private dispatch(out: SseEvent[]): void {
    if (this.data !== undefined) out.push({ event: this.event, data: this.data });
    this.event = undefined;
    this.data = undefined;
    this.dataChars = 0;
  }
}

/** Newline-delimited JSON: each non-blank line, parsed. Throws on a line that is not JSON. */
export class NdjsonParser extends LineSplitter<unknown> {
  constructor(opts: StreamParseOptions = {}) {
    super(opts);
  }

  protected line(text: string, start: number, nl: number, out: unknown[]): void {
    const line = text.slice(start, nl).trim();
    if (line) out.push(JSON.parse(line));
  }
}

/**
 * What each read of `body` completes, parsed: one array per read (the end of the body gives the
 * last), so a decoder handles a whole read in one synchronous pass, with one promise per read
 * rather than a generator step per line. Returning early (or a parse failure) releases the body.
 */
export class ParsedReads<T> implements AsyncIterableIterator<T[]> {
  private readonly body: AsyncIterator<Uint8Array>;
  private ended = false;
  private readonly parsed = (r: IteratorResult<Uint8Array>): IteratorResult<T[]> => {
    try {
      if (!r.done) return { done: false, value: this.parser.push(r.value) };
      this.ended = true;
      return { done: false, value: this.parser.end() };
    } catch (e) {
      void this.return();
      throw e;
    }
  };

  constructor(
    body: AsyncIterable<Uint8Array>,
    private readonly parser: LineSplitter<T>,
  ) {
    this.body = body[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T[]>> {
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return this.body.next().then(this.parsed);
  }

  async return(): Promise<IteratorResult<T[]>> {
    const wasEnded = this.ended;
    this.ended = true;
    if (!wasEnded) await this.body.return?.();
    return { done: true, value: undefined };
  }
}

/** The SSE events of an async body, one array per read. */
export function sseReads(body: AsyncIterable<Uint8Array>, opts: StreamParseOptions = {}): ParsedReads<SseEvent> {
  return new ParsedReads(body, new SseParser(opts));
}

/** The NDJSON values of an async body, one array per read. */
export function ndjsonReads(body: AsyncIterable<Uint8Array>, opts: StreamParseOptions = {}): ParsedReads<unknown> {
  return new ParsedReads(body, new NdjsonParser(opts));
}

/** The SSE events of an async body, one by one. */
export async function* parseSse(body: AsyncIterable<Uint8Array>, opts: StreamParseOptions = {}): AsyncGenerator<SseEvent> {
  for await (const events of sseReads(body, opts)) for (const ev of events) yield ev;
}

/** The NDJSON values of an async body, one by one. */
export async function* parseNdjson(body: AsyncIterable<Uint8Array>, opts: StreamParseOptions = {}): AsyncGenerator<unknown> {
  for await (const values of ndjsonReads(body, opts)) for (const v of values) yield v;
}

/** Frames one SSE event. `event` is omitted for OpenAI-style `data:`-only streams. */
export function sseFrame(data: string, event?: string): string {
  return event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
}
