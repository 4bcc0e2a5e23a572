import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonString } from "../../../src/inbound/responses/builder";

// The stream's deltas are quoted by jsonString instead of JSON.stringify: it must give the very
// same bytes for every string, or the SSE output would change.

describe("jsonString", () => {
  test("the bytes JSON.stringify gives, for the strings that take the short path and those that do not", () => {
    for (const s of ["", "tok_1 ", "héllo wörld", "日本語", "a\"b", "a\\b", "line\nbreak", "\u0000", "\u001f", "\u007f", "\u2028", "😀", "\ud83d", "x\ude00", "a".repeat(32), `${"a".repeat(40)}"`])
      expect(jsonString(s)).toBe(JSON.stringify(s));
  });

  test("any string, any length around the short-path bound", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => jsonString(s) === JSON.stringify(s)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", '"', "\\", "\n", "\u0001", "é", "\ud800", "\udfff", "😀"), maxLength: 40 }), (s) => jsonString(s) === JSON.stringify(s)),
      { numRuns: 1000 },
    );
  });
});
