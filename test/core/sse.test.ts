import { describe, expect, test } from "bun:test";
import { parseNdjson, parseSse, SseParser, sseReads } from "../../src/core/sse";
import { collect } from "../helpers/async";

async function* chunks(parts: Uint8Array[]) {
  for (const p of parts) yield p;
}


/** Every way of cutting `bytes` in two. */
function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  for (let i = 0; i <= bytes.length; i++) out.push([bytes.slice(0, i), bytes.slice(i)]);
  return out;
}

describe("parseSse", () => {
  const text =
    ": OPENROUTER PROCESSING\r\n\r\nevent: message_start\r\ndata: {\"a\":\"é😀\"}\r\n\r\nevent: ping\n\n" +
    "data: line1\ndata: line2\n\n\n\ndata: [DONE]\n\n";
  const expected = [
    { event: "message_start", data: '{"a":"é😀"}' },
    { event: undefined, data: "line1\nline2" },
    { event: undefined, data: "[DONE]" },
  ];

  test("comments, CRLF, event lines without data, multi-line data, keep-alive blank lines", async () => {
    expect(await collect(parseSse(chunks([new TextEncoder().encode(text)])))).toEqual(expected);
  });

  test("chunks split at every byte, including inside UTF-8 characters", async () => {
    const bytes = new TextEncoder().encode(text);
    for (const parts of splits(bytes)) expect(await collect(parseSse(chunks(parts)))).toEqual(expected);
  });

  test("byte-at-a-time delivery", async () => {
    const bytes = new TextEncoder().encode(text);
    const parts = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(await collect(parseSse(chunks(parts)))).toEqual(expected);
  });

  test("a final event without the trailing blank line is still delivered", async () => {
    expect(await collect(parseSse(chunks([new TextEncoder().encode("data: x")])))).toEqual([{ event: undefined, data: "x" }]);
  });
});

describe("parseNdjson", () => {
  test("lines split anywhere, blank lines skipped, last line without newline", async () => {
    const bytes = new TextEncoder().encode('{"a":"ü"}\n\n{"b":2}\r\n{"c":3}');
    for (const parts of splits(bytes)) expect(await collect(parseNdjson(chunks(parts)))).toEqual([{ a: "ü" }, { b: 2 }, { c: 3 }]);
  });

  test("an invalid line throws", async () => {
    await expect(collect(parseNdjson(chunks([new TextEncoder().encode('{"a":1}\n{oops\n')])))).rejects.toThrow();
  });
});

describe("SseParser and sseReads (one synchronous pass per read)", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  test("each read gives the events it completed", () => {
    const p = new SseParser();
    expect(p.push(bytes("data: a\n\ndata: b\n\nda"))).toEqual([
      { event: undefined, data: "a" },
      { event: undefined, data: "b" },
    ]);
    expect(p.push(bytes("ta: c\n"))).toEqual([]);
    expect(p.end()).toEqual([{ event: undefined, data: "c" }]);
  });

  test("an over-long event after complete ones in the same read: those come first, then the error", () => {
    const p = new SseParser({ maxEventChars: 20 });
    expect(p.push(bytes(`data: ok\n\ndata: ${"x".repeat(30)}\n\n`))).toEqual([{ event: undefined, data: "ok" }]);
    expect(() => p.push(bytes("data: more\n\n"))).toThrow("longer than 20 characters");
  });

  test("a parse failure releases the body", async () => {
    let released = false;
    const body: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: bytes(`data: ${"x".repeat(50)}\n`) }),
        return: async () => {
          released = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const reads = sseReads(body, { maxEventChars: 20 });
    await expect(reads.next()).rejects.toThrow("longer than 20 characters");
    expect(released).toBe(true);
  });
});

