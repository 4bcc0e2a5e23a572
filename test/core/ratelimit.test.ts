import { describe, expect, test } from "bun:test";
import { backoffMs, limitResetMs, parseDurationMs, readLimits, remainingShare } from "../../src/core/ratelimit";
import { parseRetryAfter } from "../../src/upstream/http";

const NOW = Date.parse("2025-06-01T12:00:00Z");

describe("parseDurationMs (OpenAI x-ratelimit-reset-*)", () => {
  test.each([
    ["6m0s", 360_000],
    ["1s", 1000],
    ["1.5s", 1500],
    ["20ms", 20],
    ["1h2m3s", 3_723_000],
    ["17ms", 17],
    ["30", 30_000],
    ["0.5", 500],
  ])("%s → %d ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  test.each(["", "abc", "5x", "1s junk", "-1s"])("rejects %p", (text) => expect(parseDurationMs(text)).toBeUndefined());
});

describe("limitResetMs: when the spent limit resets", () => {
  test("OpenAI: the exhausted limit's reset, not the other one's", () => {
    const h = new Headers({
      "x-ratelimit-limit-requests": "500",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "1.2s",
      "x-ratelimit-limit-tokens": "30000",
      "x-ratelimit-remaining-tokens": "12000",
      "x-ratelimit-reset-tokens": "6m0s",
    });
    expect(limitResetMs(h, NOW)).toBe(1200);
  });

  test("OpenAI: when the headers do not say which ran out, the latest reset", () => {
    const h = new Headers({ "x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "45s" });
    expect(limitResetMs(h, NOW)).toBe(45_000);
  });

  test("Anthropic: RFC 3339 instants", () => {
    const h = new Headers({
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": "2025-06-01T12:00:07Z",
      "anthropic-ratelimit-tokens-remaining": "1000",
      "anthropic-ratelimit-tokens-reset": "2025-06-01T12:01:00Z",
    });
    expect(limitResetMs(h, NOW)).toBe(7000);
  });

  test("no rate-limit headers → undefined", () => expect(limitResetMs(new Headers({ "content-type": "application/json" }), NOW)).toBeUndefined());
});

describe("Retry-After (upstream/http parseRetryAfter)", () => {
  test("seconds, HTTP date, milliseconds", () => {
    expect(parseRetryAfter(new Headers({ "retry-after": "3" }), NOW)).toBe(3000);
    expect(parseRetryAfter(new Headers({ "retry-after": "Sun, 01 Jun 2025 12:00:09 GMT" }), NOW)).toBe(9000);
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "250" }), NOW)).toBe(250);
  });
});

describe("readLimits / remainingShare", () => {
  test("smallest remaining share across limits", () => {
    const limits = readLimits(
      new Headers({
        "x-ratelimit-limit-requests": "100",
        "x-ratelimit-remaining-requests": "50",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "50",
      }),
      NOW,
    );
    expect(limits.map((l) => l.name)).toEqual(["requests", "tokens"]);
    expect(remainingShare(limits)).toBeCloseTo(0.05);
  });

  test("no limit known → undefined share", () => expect(remainingShare([])).toBeUndefined());

  test("every limit of both spellings, in order; a reset alone counts, a blank remaining alone does not", () => {
    const limits = readLimits(
      new Headers({
        "x-ratelimit-reset-tokens": "1m30s",
        "x-ratelimit-remaining-requests": " ",
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "7",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2025-06-01T12:00:04Z",
        "anthropic-ratelimit-output-tokens-reset": "not a date",
      }),
      NOW,
    );
    expect(limits).toEqual([
      { name: "tokens", limit: undefined, remaining: undefined, resetMs: 90_000 },
      { name: "requests", limit: 50, remaining: 7, resetMs: undefined },
      { name: "input-tokens", limit: undefined, remaining: 0, resetMs: 4000 },
      { name: "output-tokens", limit: undefined, remaining: undefined, resetMs: undefined },
    ]);
  });

  test("headers without rate limits → none", () => {
    expect(readLimits(new Headers({ "content-type": "application/json", "x-request-id": "r1" }), NOW)).toEqual([]);
  });
});

describe("backoffMs: exponential with equal jitter, capped", () => {
  test("bounds per level", () => {
    for (let level = 0; level < 6; level++) {
      const step = Math.min(10_000, 1000 * 2 ** level);
      expect(backoffMs(level, 1000, 10_000, () => 0)).toBe(step / 2);
      expect(backoffMs(level, 1000, 10_000, () => 0.999999)).toBeCloseTo(step, -1);
    }
  });

  test("jitter spreads values", () => {
    const values = new Set(Array.from({ length: 50 }, () => backoffMs(3, 1000, 60_000)));
    expect(values.size).toBeGreaterThan(10);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(4000);
  });
});
