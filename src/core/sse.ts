import { lmrelayError } from "./errors";

// Incremental parsers for the two streaming framings upstreams use. They take raw bytes split at
// any point (inside a line or a UTF-8 character), accept CRLF, comment lines and keep-alives.
// What they hold at once is bounded: a line or event longer than `maxEventChars` is a broken (or
// hostile) upstream, not something to buffer until memory runs out.

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

function tooLong(limit: number) {
  return lmrelayError("upstream_error", `the upstream sent a stream event longer than ${limit} characters; the answer was cut`, { code: "bad_response" });
}

/** Server-Sent Events: yields one event per blank-line-terminated block that carried `data:`. */
export async function* parseSse(body: AsyncIterable<Uint8Array>, opts: StreamParseOptions = {}): AsyncGenerator<SseEvent> {
  const limit = opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | undefined;
  let data: string[] = [];
  let dataChars = 0;
  // A plain function, not a generator: a generator object per line costs more than the parsing.
  const flushLine = (line: string): SseEvent | undefined => {
    if (line === "") {
      const done = data.length > 0 ? { event, data: data.length === 1 ? data[0]! : data.join("\n") } : undefined;
      event = undefined;
      data = [];
      dataChars = 0;
      return done;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment, e.g. ": OPENROUTER PROCESSING" */) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      dataChars += value.length + 1;
      if (dataChars > limit) throw tooLong(limit);
      data.push(value);
    } else if (field === "event") event = value;
    return undefined;
  };
  for await (const chunk of body) {
    // Only the new text can hold the next newline: never rescan what was already searched.
    let from = buffer.length;
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf("\n", from);
      if (nl === -1) break;
      let end = nl;
      if (end > start && buffer.charCodeAt(end - 1) === 13) end--;
      const ev = flushLine(buffer.slice(start, end));
      if (ev) yield ev;
      start = from = nl + 1;
    }
    if (buffer.length - start > limit) throw tooLong(limit);
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  const last = buffer.length > 0 ? flushLine(buffer.endsWith("\r") ? buffer.slice(0, -1) : buffer) : undefined;
  if (last) yield last;
  const end = flushLine("");
  if (end) yield end;
}

/** Newline-delimited JSON: yields each non-blank line, parsed. Throws on a line that is not JSON. */
export async function* parseNdjson(body: AsyncIterable<Uint8Array>, opts: StreamParseOptions = {}): AsyncGenerator<unknown> {
  const limit = opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    let from = buffer.length;
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf("\n", from);
      if (nl === -1) break;
      const line = buffer.slice(start, nl).trim();
      start = from = nl + 1;
      if (line) yield JSON.parse(line);
    }
    if (buffer.length - start > limit) throw tooLong(limit);
    buffer = buffer.slice(start);
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest);
}

/** Frames one SSE event. `event` is omitted for OpenAI-style `data:`-only streams. */
export function sseFrame(data: string, event?: string): string {
  return event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
}
