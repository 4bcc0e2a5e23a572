import { describe, expect, test } from "bun:test";
import { goDuration, rateLimitHeaders } from "../../src/governance/headers";
import { RequestWindow, TokenWindow } from "../../src/governance/limits";

describe("RequestWindow (rpm)", () => {
  test("exactly `limit` requests fit in a sliding minute; the next waits for the oldest to leave", () => {
    const w = new RequestWindow(3);
    const t0 = 1_000_000;
    for (const dt of [0, 10_000, 20_000]) {
      expect(w.waitMs(t0 + dt)).toBe(0);
      w.add(t0 + dt);
    }
    expect(w.count(t0 + 20_000)).toBe(3);
    expect(w.waitMs(t0 + 30_000)).toBe(30_000);
    // One millisecond before the first request leaves the window: still full.
    expect(w.waitMs(t0 + 59_999)).toBe(1);
    expect(w.waitMs(t0 + 60_000)).toBe(0);
    w.add(t0 + 60_000);
    expect(w.count(t0 + 60_000)).toBe(3);
    expect(w.waitMs(t0 + 60_001)).toBe(9_999);
    expect(w.resetMs(t0 + 60_000)).toBe(60_000);
  });

  test("resizing keeps the most recent requests", () => {
    const w = new RequestWindow(5);
    for (let i = 0; i < 5; i++) w.add(1000 + i);
    const smaller = w.resized(2, 2000);
    expect(smaller.count(2000)).toBe(2);
    expect(smaller.waitMs(2000)).toBe(1003 + 60_000 - 2000);
    const bigger = w.resized(10, 2000);
    expect(bigger.count(2000)).toBe(5);
    expect(bigger.waitMs(2000)).toBe(0);
  });
});

describe("TokenWindow (tpm)", () => {
  test("tokens count for a minute, estimates are taken back and replaced by real usage", () => {
    const w = new TokenWindow();
    const t0 = 10_000_000;
    w.add(t0, 500);
    expect(w.used(t0)).toBe(500);
    expect(w.waitMs(t0, 600, 1000)).toBeGreaterThan(0);
    expect(w.waitMs(t0, 500, 1000)).toBe(0);
    // The request ends 5 s later having used 200: the estimate goes, the real count lands now.
    w.add(t0, -500, t0 + 5000);
    w.add(t0 + 5000, 200);
    expect(w.used(t0 + 5000)).toBe(200);
    expect(w.used(t0 + 64_999)).toBe(200);
    expect(w.used(t0 + 65_000)).toBe(0);
  });

  test("waitMs says when enough old tokens leave the window", () => {
    const w = new TokenWindow();
    const t0 = 20_000_000;
    w.add(t0, 700);
    w.add(t0 + 30_000, 300);
    // Needs 400 under 1000: the first bucket (700) must leave, at t0 + 60 s.
    expect(w.waitMs(t0 + 40_000, 400, 1000)).toBe(20_000);
    expect(w.resetMs(t0 + 40_000)).toBe(50_000);
  });

  test("a correction for a bucket already out of the window is ignored", () => {
    const w = new TokenWindow();
    w.add(0, 100);
    w.add(0, -100, 120_000);
    w.add(120_000, 50);
    expect(w.used(120_000)).toBe(50);
  });
});

describe("rate-limit headers", () => {
  test("Go-style durations as OpenAI sends them", () => {
    expect(goDuration(12)).toBe("12ms");
    expect(goDuration(1000)).toBe("1s");
    expect(goDuration(1001)).toBe("2s");
    expect(goDuration(360_000)).toBe("6m0s");
    expect(goDuration(3_723_000)).toBe("1h2m3s");
  });

  test("OpenAI x-ratelimit-*, Anthropic anthropic-ratelimit-* with RFC 3339 resets, Ollama none", () => {
    const now = Date.UTC(2025, 10, 1, 12, 0, 0);
    const req = { limit: 60, remaining: 59, resetMs: 1000 };
    const tok = { limit: 1000, remaining: 900.4, resetMs: 60_000 };
    expect(rateLimitHeaders("openai", now, req, tok)).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "900",
      "x-ratelimit-reset-tokens": "1m0s",
    });
    expect(rateLimitHeaders("anthropic", now, req)).toEqual({
      "anthropic-ratelimit-requests-limit": "60",
      "anthropic-ratelimit-requests-remaining": "59",
      "anthropic-ratelimit-requests-reset": "2025-11-01T12:00:01Z",
    });
    expect(rateLimitHeaders("ollama", now, req, tok)).toEqual({});
  });
});
