import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { HealthStore } from "../../src/health/store";
import { HealthTracker } from "../../src/health/tracker";
import { Catalog } from "../../src/router/catalog";
import { resolveCandidates } from "../../src/router/candidates";
import { isFree } from "../../src/router/plan";
import { routingTable } from "../../src/router/table";
import { openDatabase } from "../../src/store/db";

// Each test starts lmrelay processes: on a loaded machine that takes more than the default 5 s.
setDefaultTimeout(30_000);

// What `lmrelay check` prints about routing — each alias's and model's chain as the router would
// try it now, cooldowns read from the database — and alias targets that use globs and free flags.

const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const providers = {
  paid: { type: "openai-compatible" as const, baseUrl: "http://127.0.0.1:9/v1", keys: ["k-paid"], models: ["big-model", "small-model", "vendor/x:free"], pricing: { "*": { input: 1, output: 2 } } },
  local: { type: "openai-compatible" as const, baseUrl: "http://127.0.0.1:9/v1", models: ["small-model"], free: true },
};

describe("alias targets with globs and free flags", () => {
  test("a glob target stands for every matching catalog model; free covers free providers and `:free` models", async () => {
    const config = resolveConfig({ providers, models: { freebies: ["paid/*:free", "local/*"], smalls: ["*small*"] } });
    const catalog = new Catalog();
    await catalog.load(config, { wait: true });
    catalog.stop();
    const chain = (name: string) => resolveCandidates(config, catalog, name).candidates.map((c) => `${c.provider.id}/${c.model}`);
    expect(chain("freebies")).toEqual(["paid/vendor/x:free", "local/small-model"]);
    expect(chain("smalls")).toEqual(["paid/small-model", "local/small-model"]);
    // A client cannot use a glob as a model name; only aliases can.
    expect(() => resolveCandidates(config, catalog, "*small*")).toThrow(/not known/);
    expect(isFree(config.providers.get("paid")!, "vendor/x:free")).toBe(true);
    expect(isFree(config.providers.get("paid")!, "big-model")).toBe(false);
    expect(isFree(config.providers.get("local")!, "small-model")).toBe(true);
  });
});

describe("routing table", () => {
  test("chains in try order with health notes, and what is skipped now", async () => {
    const config = resolveConfig({ providers, models: { smart: ["paid/big-model", "local/small-model"], cheap: { targets: ["paid/small-model", "local/small-model"], strategy: "cost" } } });
    const catalog = new Catalog();
    await catalog.load(config, { wait: true });
    catalog.stop();
    const health = new HealthTracker(config);
    const lines = routingTable(config, catalog, health);
    const smart = lines.find((l) => l.name === "smart")!;
    expect(smart).toMatchObject({ alias: true, strategy: "written" });
    expect(smart.chain).toEqual(["paid/big-model (score 1.00, $1/$2 per Mtok)", "local/small-model (score 1.00, free)"]);
    expect(lines.find((l) => l.name === "cheap")!.chain[0]).toStartWith("local/small-model");
    expect(lines.find((l) => l.name === "small-model")).toMatchObject({ alias: false, strategy: "health" });

    health.recordFailure("paid", config.providers.get("paid")!.keys[0], "big-model", "rate_limited", new GatewayError("rate_limited", "paid: 429", { status: 429, retryAfterMs: 60_000 }));
    const cooled = routingTable(config, catalog, health).find((l) => l.name === "smart")!;
    expect(cooled.chain).toEqual(["local/small-model (score 1.00, free)"]);
    expect(cooled.skipped[0]).toMatch(/^paid\/big-model: rate-limited \(429\) until /);
  });

  test("`lmrelay check` prints the chains, with cooldowns stored by the server", async () => {
    const file = path.join(dir, "lmrelay.config.ts");
    const db = path.join(dir, "state.db");
    writeFileSync(
      file,
      `import { defineConfig } from "lmrelay";
export default defineConfig({
  storage: { path: "state.db" },
  providers: ${JSON.stringify(providers)},
  models: { smart: ["paid/big-model", "local/small-model"] },
});
`,
    );
    // What a running server would have stored: paid's key cooled for big-model.
    const config = resolveConfig({ storage: { path: db }, providers, models: { smart: ["paid/big-model", "local/small-model"] } });
    const tracker = new HealthTracker(config);
    const conn = openDatabase(db);
    const store = new HealthStore(conn, tracker);
    tracker.recordFailure("paid", config.providers.get("paid")!.keys[0], "big-model", "rate_limited", new GatewayError("rate_limited", "paid: 429", { status: 429, retryAfterMs: 600_000 }));
    store.stop();
    conn.$client.close();

    const proc = Bun.spawnSync(["bun", path.join(import.meta.dir, "../../src/main.ts"), "check", "--config", file], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    const out = proc.stdout.toString();
    expect(proc.exitCode).toBe(0);
    expect(out).toContain("routing: strategy health, keys round-robin");
    expect(out).toContain(
      "  smart [alias, written order]: 1 of 2 targets usable\n    paid/big-model  skipped: rate-limited (429)\n    local/small-model  usable\n    try order: 1. local/small-model (score 1.00, free)\n    skipped paid/big-model: rate-limited (429) until ",
    );
    expect(out).toContain("  big-model: (nothing routable now)\n    skipped paid/big-model: rate-limited (429)");
    expect(out).toContain("  small-model:\n    1. paid/small-model (score 1.00, $1/$2 per Mtok)\n    2. local/small-model (score 1.00, free)\n");
    expect(out).not.toContain("k-paid");
  });
});
