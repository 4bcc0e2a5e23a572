import { expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import type { AttemptRecord } from "../../src/router/explain";
import { exhaustedError } from "../../src/router/failover";

// What the client gets when no attempt succeeded (SPEC §5, issue 3's "faithful status").

const failed = (provider: string, status: number, error: string): AttemptRecord => ({ outcome: "failed", provider, model: "m", status, error });

test("one upstream tried: its own error goes back as it was (status, message, Retry-After)", () => {
  const upstream = new GatewayError("rate_limited", "a: slow down", { provider: "a", status: 429, retryAfterMs: 7000 });
  expect(exhaustedError([failed("a", 429, "a: slow down")], upstream, false)).toBe(upstream);
  const broken = new GatewayError("upstream_error", "a: boom", { provider: "a", status: 500 });
  const err = exhaustedError([failed("a", 500, "a: boom")], broken, false);
  expect(err.status).toBe(500);
  expect(err.message).toBe("a: boom");
});

test("several attempts: 502 listing each, 429 when all were rate limited, overloaded when all were", () => {
  const last = new GatewayError("upstream_error", "b: boom", { provider: "b", status: 500 });
  const mixed = exhaustedError([failed("a", 429, "a: slow"), failed("b", 500, "b: boom")], last, false);
  expect(mixed.status).toBe(502);
  expect(mixed.message).toStartWith("lmrelay: all 2 attempts failed");
  expect(mixed.message).toContain("a: slow");
  expect(mixed.message).toContain("b: boom");
  const limited = exhaustedError([failed("a", 429, "x"), failed("b", 429, "y")], new GatewayError("rate_limited", "y", { provider: "b", retryAfterMs: 3000 }), false);
  expect(limited.status).toBe(429);
  expect(limited.retryAfterMs).toBe(3000);
  const busy = exhaustedError([failed("a", 529, "x"), failed("b", 503, "y")], new GatewayError("overloaded", "y", { provider: "b" }), false);
  expect(busy.kind).toBe("overloaded");
});

test("a deadline that passed is a 504 even with one attempt; nothing tried is a 503", () => {
  const err = exhaustedError([failed("a", 0, "no answer")], new GatewayError("timeout", "a: slow", { provider: "a" }), true);
  expect(err.status).toBe(504);
  expect(exhaustedError([], undefined, false).status).toBe(503);
});

test("an upstream's 401/403 never comes back as it was: 502 'rejected its key', 503 once every key is disabled", () => {
  const denied = new GatewayError("authentication", "a: invalid x-api-key", { provider: "a", status: 401 });
  const one = exhaustedError([{ ...failed("a", 401, "a: invalid x-api-key"), reason: "auth" }], denied, false);
  expect([one.status, one.kind]).toEqual([502, "upstream_error"]);
  expect(one.message).toBe("lmrelay: upstream a rejected its key: a/m: 401 a: invalid x-api-key");
  expect(one.headers?.["x-should-retry"]).toBe("false");
  const two = exhaustedError(
    [
      { ...failed("a", 401, "x"), reason: "auth" },
      { ...failed("b", 403, "y"), reason: "auth" },
    ],
    denied,
    false,
  );
  expect(two.message).toStartWith("lmrelay: upstreams a, b rejected their keys: ");
  const skipped: AttemptRecord = { outcome: "skipped", provider: "a", model: "m", key: "k", status: 0, reason: "key disabled until reload (401)" };
  const none = exhaustedError([skipped], undefined, false);
  expect([none.status, none.kind]).toEqual([503, "unavailable"]);
  expect(none.message).toBe("lmrelay: upstream a rejected its key: a/m[k]: skipped, key disabled until reload (401)");
  // A rejection beside another failure: the usual 502 listing both.
  const mixed = exhaustedError([{ ...failed("a", 401, "x"), reason: "auth" }, { ...failed("b", 500, "b: boom"), reason: "server_error" }], undefined, false);
  expect(mixed.message).toStartWith("lmrelay: all 2 attempts failed: ");
});
