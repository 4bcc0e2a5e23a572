import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { ConfigError } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { authenticate, isAdmin, presentedKey, queryKey } from "../../src/governance/auth";

const config = resolveConfig({
  admin: { key: "admin-key-0001" },
  providers: { echo: { type: "echo", models: ["echo-1"] } },
  clients: {
    app: { key: "app-key-0001" },
    lan: { key: "lan-key-0001", allowNoAuthFrom: ["192.168.0.0/16", "fd00::/8"] },
  },
});

function refused(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    return e as GatewayError;
  }
  throw new Error("expected a refusal");
}

describe("client keys", () => {
  test("accepted as Authorization: Bearer, x-api-key or api-key", () => {
    expect(presentedKey(new Headers({ authorization: "Bearer app-key-0001" }))).toBe("app-key-0001");
    expect(presentedKey(new Headers({ authorization: "bearer   app-key-0001  " }))).toBe("app-key-0001");
    expect(presentedKey(new Headers({ "x-api-key": "app-key-0001" }))).toBe("app-key-0001");
    expect(presentedKey(new Headers({ "api-key": "app-key-0001" }))).toBe("app-key-0001");
    expect(presentedKey(new Headers({ authorization: "Basic abc" }))).toBeUndefined();
    for (const h of <Record<string, string>[]>[{ authorization: "Bearer app-key-0001" }, { "x-api-key": "app-key-0001" }, { "api-key": "app-key-0001" }])
      expect(authenticate(config, new Headers(h))?.id).toBe("app");
  });

  test("Google clients: x-goog-api-key, or the ?key= query the caller hands in; headers win over the query", () => {
    expect(presentedKey(new Headers({ "x-goog-api-key": "app-key-0001" }))).toBe("app-key-0001");
    expect(queryKey("alt=sse&key=app-key-0001")).toBe("app-key-0001");
    expect(queryKey("alt=sse")).toBeUndefined();
    expect(authenticate(config, new Headers(), undefined, "app-key-0001")?.id).toBe("app");
    expect(presentedKey(new Headers({ "x-goog-api-key": "lan-key-0001" }), "app-key-0001")).toBe("lan-key-0001");
    expect(refused(() => authenticate(config, new Headers(), "192.168.4.2", "wrong-key")).status).toBe(401);
  });

  test("missing or wrong keys are 401 with a message that carries no key", () => {
    const missing = refused(() => authenticate(config, new Headers()));
    expect(missing.status).toBe(401);
    expect(missing.message).toBe("lmrelay: missing API key: send it as Authorization: Bearer, x-api-key, api-key or x-goog-api-key");
    const wrong = refused(() => authenticate(config, new Headers({ authorization: "Bearer app-key-0002" })));
    expect(wrong.message).toBe("lmrelay: invalid API key");
    // The admin key is not a client key.
    expect(refused(() => authenticate(config, new Headers({ "x-api-key": "admin-key-0001" }))).status).toBe(401);
  });

  test("no clients configured: an open gateway", () => {
    const open = resolveConfig({ providers: { echo: { type: "echo", models: ["echo-1"] } } });
    expect(authenticate(open, new Headers())).toBeUndefined();
  });
});

describe("allowNoAuthFrom", () => {
  test("a request without a key from a listed network is that client (IPv4, mapped IPv4, IPv6)", () => {
    for (const ip of ["192.168.4.2", "::ffff:192.168.4.2", "fd00::17"]) expect(authenticate(config, new Headers(), ip)?.id).toBe("lan");
    expect(refused(() => authenticate(config, new Headers(), "10.0.0.1")).status).toBe(401);
    expect(refused(() => authenticate(config, new Headers(), undefined)).status).toBe(401);
  });
  test("a wrong key from a listed network is still refused", () => {
    expect(refused(() => authenticate(config, new Headers({ authorization: "Bearer nope" }), "192.168.4.2")).status).toBe(401);
  });
  test("a bad CIDR is a config error naming the field", () => {
    let err: unknown;
    try {
      resolveConfig({ providers: { echo: { type: "echo" } }, clients: { x: { key: "k-000001", allowNoAuthFrom: ["10.0.0.0/40"] } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContainEqual({ path: "clients.x.allowNoAuthFrom[0]", message: '"10.0.0.0/40": the prefix length must be 0-32' });
  });
  test("metrics.auth without an admin key is a config error", () => {
    expect(() => resolveConfig({ metrics: { auth: true }, providers: { echo: { type: "echo" } } })).toThrow("metrics.auth: needs admin.key");
  });
});

describe("admin key", () => {
  test("Bearer or x-api-key; never when no admin key is configured", () => {
    expect(isAdmin(config, new Headers({ authorization: "Bearer admin-key-0001" }))).toBe(true);
    expect(isAdmin(config, new Headers({ "x-api-key": "admin-key-0001" }))).toBe(true);
    expect(isAdmin(config, new Headers({ "x-api-key": "app-key-0001" }))).toBe(false);
    expect(isAdmin(config, new Headers())).toBe(false);
    const none = resolveConfig({ providers: { echo: { type: "echo" } } });
    expect(isAdmin(none, new Headers({ authorization: "Bearer " }))).toBe(false);
  });
});
