import { expect, test } from "bun:test";
import { startupStatus } from "../../src/cli/serve-status";
import { resolveConfig } from "../../src/config/resolve";
import { type HealthEntry, newEntry } from "../../src/health/entry";
import { Catalog } from "../../src/router/catalog";

// The start-up status of `lmrelay serve`: address, config, providers with model counts and health,
// clients, dashboard.

test("the status names every provider with its models, keys, remembered health and state", async () => {
  const config = resolveConfig(
    {
      admin: { key: "admin-secret-abcdef" },
      providers: {
        fast: { type: "openai-compatible", baseUrl: "http://127.0.0.1:1/v1", keys: ["sk-status-key-1", "sk-status-key-2"], models: ["a", "b"] },
        gone: { type: "ollama", baseUrl: "http://127.0.0.1:1" }, // discovery fails: connection refused
        idle: { type: "echo", models: ["echo-1"] },
      },
      models: { smart: ["fast/a"] },
      clients: { web: { key: "client-secret-abcdef" } },
    },
    "/etc/lmrelay/lmrelay.config.ts",
  );
  const catalog = new Catalog();
  await catalog.load(config, { wait: true });
  catalog.stop();
  const now = Date.now();
  const entries: HealthEntry[] = [
    { ...newEntry("fast", "fp:x", "a", now), samples: 3 },
    { ...newEntry("fast", "fp:x", "b", now), samples: 1 },
    { ...newEntry("idle", "", "", now), cooldownUntil: now + 60_000, cooldownKind: "failing" },
  ];
  const scores = new Map<HealthEntry, number>([[entries[0]!, 1], [entries[1]!, 0.6]]);
  const health = { all: () => entries, score: (e: HealthEntry) => scores.get(e) ?? 1 };

  const s = startupStatus(config, catalog, "http://127.0.0.1:11435", health);
  expect(s.message).toMatch(/^lmrelay \d+\.\d+\.\d+ listening on http:\/\/127\.0\.0\.1:11435$/);
  const text = s.lines.join("\n");
  expect(text).toContain("config     /etc/lmrelay/lmrelay.config.ts");
  expect(text).toMatch(/fast\s+openai-compatible\s+2 models\s+2 keys\s+health 0\.90\s+ok/);
  expect(text).toMatch(/gone\s+ollama\s+0 models\s+0 keys\s+health -\s+unreachable: /);
  expect(text).toMatch(/idle\s+echo\s+1 model\s+0 keys\s+health -\s+cooling down/);
  expect(text).toContain("aliases    smart");
  expect(text).toContain("1 client key (auth required)");
  expect(text).toContain("dashboard  http://127.0.0.1:11435/admin");
  for (const secret of ["sk-status-key-1", "client-secret-abcdef", "admin-secret-abcdef"]) expect(JSON.stringify(s)).not.toContain(secret);

  const fast = (s.fields.providers as any[]).find((p) => p.id === "fast");
  expect(fast).toEqual({ id: "fast", type: "openai-compatible", models: 2, keys: 2, state: "ok", health: 0.9, samples: 4 });
  expect(s.fields.clients).toBe(1);
});
