import { afterAll, beforeAll, describe, expect, type Mock, spyOn, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { secretEquals } from "../../src/core/secrets";
import { authenticate, isAdmin } from "../../src/governance/auth";

// Key comparison must not leak, through its timing, how much of a guess was right or which client
// it matched: every check goes through `crypto.timingSafeEqual` on fixed-size digests, and client
// authentication compares the presented key with every configured key, match or not.

let compares = 0;
const realTimingSafeEqual = crypto.timingSafeEqual.bind(crypto);
let spy: Mock<typeof crypto.timingSafeEqual>;

beforeAll(() => {
  spy = spyOn(crypto, "timingSafeEqual").mockImplementation((a, b) => {
    compares++;
    // Equal lengths always: a length difference would end the comparison early.
    expect(a.byteLength).toBe(b.byteLength);
    return realTimingSafeEqual(a, b);
  });
});

afterAll(() => {
  spy.mockRestore();
});

const config = resolveConfig({
  admin: { key: "adm-0123456789abcdef" },
  clients: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`c${i}`, { key: `client-key-${i}-${"x".repeat(i * 7)}` }])),
  providers: { echo: { type: "echo" } },
});

function counted<T>(fn: () => T): { value: T | Error; compares: number } {
  compares = 0;
  let value: T | Error;
  try {
    value = fn();
  } catch (e) {
    value = e as Error;
  }
  return { value, compares };
}

describe("timing-safe key comparison", () => {
  test("secretEquals: equal, unequal, prefix, longer, empty and non-ASCII keys", () => {
    expect(secretEquals("k-123", "k-123")).toBe(true);
    for (const other of ["k-124", "k-12", "k-1234", "", "K-123", "k-123 ", "ķ-123"]) expect(secretEquals(other, "k-123")).toBe(false);
    expect(secretEquals("🔑", "🔑")).toBe(true);
  });

  test("every client key is compared, whichever matches and when none does", () => {
    const presented = ["client-key-0-", `client-key-7-${"x".repeat(49)}`, "client-key-3-nope", "c", "x".repeat(10_000)];
    for (const key of presented) {
      const r = counted(() => authenticate(config, new Headers({ authorization: `Bearer ${key}` })));
      expect(r.compares).toBe(config.clients.size);
    }
    expect(counted(() => authenticate(config, new Headers({ "x-api-key": "client-key-0-" }))).value).toMatchObject({ id: "c0" });
  });

  test("the admin key check runs the constant-time comparison for right and wrong keys alike", () => {
    for (const key of ["adm-0123456789abcdef", "adm-0123456789abcdeX", "a", "adm-0123456789abcdef-longer"]) {
      const r = counted(() => isAdmin(config, new Headers({ authorization: `Bearer ${key}` })));
      expect(r.compares).toBe(1);
      expect(r.value).toBe(key === "adm-0123456789abcdef");
    }
  });
});
