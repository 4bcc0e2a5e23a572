import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonObjectPrefix } from "../../src/core/jsonprefix";

// The prefix check that lets tool-call arguments stream to clients only while they can still become
// a JSON object: every beginning of a real object passes, piece by piece; text that can no longer
// become one fails at the first character that rules it out.

const accepts = (...pieces: string[]) => {
  const p = new JsonObjectPrefix();
  return pieces.every((piece) => p.push(piece));
};

describe("JsonObjectPrefix", () => {
  test.each([
    "",
    "  ",
    "{",
    '{"',
    '{"a',
    '{"a"',
    '{"a":',
    '{"a": -',
    '{"a": 1.',
    '{"a": 1.5e',
    '{"a": 1.5e-',
    '{"a": 1.5e-3',
    '{"a": 0',
    '{"a": tr',
    '{"a": "x\\',
    '{"a": "x\\u00',
    '{"a": [1, {"b": null}, "c"',
    '{"a": [] }',
    "{}  \n",
  ])("accepts %p", (text) => expect(accepts(text)).toBe(true));

  test.each([
    "[1,2]",
    "42",
    '"text"',
    "{'word': 'cat'}",
    '{"a" 1}',
    '{"a": 01}',
    '{"a": 1.}',
    '{"a": -x}',
    '{"a": tx}',
    '{"a": "\\x"}',
    '{"a": "\\u12g4"}',
    '{"a": "line\nbreak"}',
    '{"a": 1,}',
    '{"a": [1,]}',
    '{"a": 1]',
    "{} {}",
    '{"a": 1}}',
    "{,}",
  ])("refuses %p", (text) => expect(accepts(text)).toBe(false));

  test("pieces split anywhere, even inside an escape or a number, change nothing", () => {
    expect(accepts('{"a": "\\u', "00e9", '", "n": 1', "2.5e", "+3}")).toBe(true);
    expect(accepts('{"a": 1', "2", "]")).toBe(false);
  });

  test("every prefix of any serialised object, in any split, is accepted; the whole agrees with JSON.parse", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 0, max: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (obj, indent, cuts) => {
        const text = JSON.stringify(obj, null, indent);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((x, y) => x - y);
        const pieces: string[] = [];
        let from = 0;
        for (const p of points) {
          pieces.push(text.slice(from, p));
          from = p;
        }
        pieces.push(text.slice(from));
        const check = new JsonObjectPrefix();
        for (const piece of pieces) expect(check.push(piece)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test("text the check accepts whole and that is closed parses as an object", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("{", "}", "[", "]", '"', ":", ",", "1", "-", ".", "e", "a", " ", "\\", "n", "u", "0") }), (text) => {
        if (!new JsonObjectPrefix().push(text)) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return; // an unfinished beginning
        }
        expect(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
