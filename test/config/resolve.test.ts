import { describe, expect, test } from "bun:test";
import { ConfigError, resolveConfig } from "../../src/config/resolve";
import { env } from "../../src/config/env";

function problems(input: unknown): { path: string; message: string }[] {
  try {
    resolveConfig(input, "/etc/lmrelay/lmrelay.config.ts");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain("/etc/lmrelay/lmrelay.config.ts");
    return (e as ConfigError).problems;
  }
  throw new Error("expected a config error");
}

describe("config validation", () => {
  test("a minimal config gets the documented defaults", () => {
    const c = resolveConfig({ providers: { echo: { type: "echo" } } }, "/srv/x/lmrelay.config.ts");
    expect(c.server).toEqual({ host: "127.0.0.1", port: 11435, maxBodyBytes: 10 * 1024 * 1024 });
    expect(c.storagePath).toBe("/srv/x/lmrelay.db");
    expect(c.routing.strategy).toBe("health");
    expect(c.routing.maxAttempts).toBe(4);
    expect(c.providers.get("echo")!.baseUrl).toBe("echo://local");
  });

  test("a missing environment variable names the variable and the field", () => {
    delete process.env.LMRELAY_TEST_MISSING;
    const p = problems({ providers: { openai: { type: "openai", keys: ["sk-a", env("LMRELAY_TEST_MISSING")] } } });
    expect(p).toEqual([{ path: "providers.openai.keys[1]", message: "environment variable LMRELAY_TEST_MISSING is not set" }]);
  });

  test("env.optional keys that are unset are skipped, env fallback applies", () => {
    delete process.env.LMRELAY_TEST_MISSING;
    const c = resolveConfig({
      providers: { local: { type: "openai-compatible", baseUrl: env("LMRELAY_TEST_MISSING", "http://127.0.0.1:8000/v1"), keys: [env.optional("LMRELAY_TEST_MISSING")] } },
    });
    expect(c.providers.get("local")!.keys).toEqual([]);
    expect(c.providers.get("local")!.baseUrl).toBe("http://127.0.0.1:8000/v1");
  });

  test("wrong types are reported with their field path", () => {
    const p = problems({ server: { port: "eighty" }, providers: { a: { type: "nope" } } });
    expect(p.map((x) => x.path)).toContain("server.port");
    expect(p.map((x) => x.path)).toContain("providers.a.type");
  });

  test("unknown fields are rejected (typos must not be silently ignored)", () => {
    const p = problems({ providers: { a: { type: "echo", baseURL: "http://x" } } });
    expect(p[0]!.path).toBe("providers.a.baseURL");
  });

  test("a keyed provider without keys, alias cycles and duplicate client keys are errors", () => {
    const p = problems({
      providers: { openai: { type: "openai" } },
      models: { a: ["b"], b: ["a"] },
      clients: { one: { key: "same" }, two: { key: "same" } },
    });
    const paths = p.map((x) => x.path);
    expect(paths).toContain("providers.openai.keys");
    expect(paths).toContain("models.a");
    expect(paths).toContain("clients.two.key");
    expect(JSON.stringify(p)).not.toContain('"same"');
  });

  test("keys are fingerprinted; the secret never appears in names", () => {
    const c = resolveConfig({ providers: { o: { type: "openai", keys: ["sk-secret-1", { key: "sk-secret-2", name: "team" }] } } });
    const [a, b] = c.providers.get("o")!.keys;
    expect(a!.name).toMatch(/^fp:[0-9a-f]{10}$/);
    expect(a!.name).not.toContain("secret");
    expect(b!.name).toBe("team");
  });

  test("disabled providers are left out", () => {
    const c = resolveConfig({ providers: { o: { type: "openai", enabled: false }, e: { type: "echo" } } });
    expect([...c.providers.keys()]).toEqual(["e"]);
  });
});
