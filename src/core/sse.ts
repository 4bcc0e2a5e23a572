// Incremental parsers for the two streaming framings upstreams use. They take raw bytes split at
// any point (inside a line or a UTF-8 character), accept CRLF, comment lines and keep-alives.

export interface SseEvent {
  event?: string;
  data: string;
}

/** Server-Sent Events: yields one event per blank-line-terminated block that carried `data:`. */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | undefined;
  let data: string[] = [];
  const flushLine = function* (line: string): Generator<SseEvent> {
    if (line === "") {
      if (data.length > 0) yield { event, data: data.join("\n") };
      event = undefined;
      data = [];
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment, e.g. ": OPENROUTER PROCESSING" */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf("\n", start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && buffer.charCodeAt(end - 1) === 13) end--;
      yield* flushLine(buffer.slice(start, end));
      start = nl + 1;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  if (buffer.length > 0) yield* flushLine(buffer.endsWith("\r") ? buffer.slice(0, -1) : buffer);
  yield* flushLine("");
}

/** Newline-delimited JSON: yields each non-blank line, parsed. Throws on a line that is not JSON. */
export async function* parseNdjson(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf("\n", start);
      if (nl === -1) break;
      const line = buffer.slice(start, nl).trim();
      start = nl + 1;
      if (line) yield JSON.parse(line);
    }
    buffer = buffer.slice(start);
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest);
}

/** Frames one SSE event. `event` is omitted for OpenAI-style `data:`-only streams. */
export function sseFrame(data: string, event?: string): string {
  return event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
}
