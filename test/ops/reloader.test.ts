import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigReloader, describeChanges, type ReloadTarget, restartOnlyChanges } from "../../src/cli/serve-reload";
import { loadConfig } from "../../src/config/load";
import { type ResolvedConfig, resolveConfig } from "../../src/config/resolve";
import { createLogger } from "../../src/log/logger";

// The reloader on its own: reloads are serialised and coalesced, a config that never finishes
// loading is given up on (and does not block the next reload), and what changed is reported.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const good = (model: string) => `import { defineConfig } from "lmrelay";\nexport default defineConfig({ providers: { e: { type: "echo", models: ["${model}"] } } });\n`;

async function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-reloader-"));
  dirs.push(dir);
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, good("one"));
  const lines: any[] = [];
  const log = createLogger({ pretty: false, level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  let reloads = 0;
  const target: ReloadTarget & { current: ResolvedConfig } = {
    current: await loadConfig(file),
    get config() {
      return this.current;
    },
    async reload(next) {
      reloads++;
      await Bun.sleep(50); // a reload takes a moment (catalog discovery)
      this.current = next;
    },
  };
  const reloader = new ConfigReloader({ file, runtime: target, log, watch: false, loadTimeoutMs: 300 });
  const model = () => target.current.providers.get("e")!.models![0];
  return { file, lines, target, reloader, model, reloads: () => reloads };
}

test("a config whose top level never settles is rejected after the timeout, and the next good one loads", async () => {
  const { file, lines, reloader, model } = await setup();
  writeFileSync(file, `await new Promise(() => {});\n${good("never")}`);
  const t0 = performance.now();
  expect(await reloader.reload("test")).toBe(false);
  expect(performance.now() - t0).toBeLessThan(2_000);
  expect(model()).toBe("one");
  const rejected = lines.find((l) => l.msg.startsWith("config reload rejected"));
  expect(rejected.reason).toContain("did not finish loading");
  expect(rejected.file).toBe(file);

  writeFileSync(file, good("three"));
  expect(await reloader.reload("test")).toBe(true);
  expect(model()).toBe("three");
});

test("reloads requested during a reload are coalesced into one more", async () => {
  const { file, reloader, model, reloads } = await setup();
  writeFileSync(file, good("two"));
  const first = reloader.reload("a");
  const second = reloader.reload("b");
  const third = reloader.reload("c");
  await Promise.all([first, second, third]);
  // The first one is running; "b" and "c" collapse into a single follow-up.
  for (let i = 0; i < 50 && reloads() < 2; i++) await Bun.sleep(20);
  await Bun.sleep(200);
  expect(reloads()).toBe(2);
  expect(model()).toBe("two");
});

test("the reload log names what changed, never a key", () => {
  const prev = resolveConfig({ providers: { a: { type: "echo", models: ["x"] }, b: { type: "echo", models: ["x"] } }, clients: { web: { key: "client-secret-1234" } } });
  const next = resolveConfig({
    server: { port: 9999 },
    providers: { a: { type: "echo", models: ["x"] }, c: { type: "openai", keys: ["sk-upstream-secret-99"] } },
    models: { fast: ["a/x"] },
    clients: { batch: { key: "client-secret-5678" } },
  });
  const diff = describeChanges(prev, next);
  expect(diff).toEqual({ providers: 2, aliases: 1, clients: 1, providersAdded: ["c"], providersRemoved: ["b"], aliasesAdded: ["fast"], clientsAdded: ["batch"], clientsRemoved: ["web"] });
  expect(JSON.stringify(diff)).not.toContain("secret");
  expect(restartOnlyChanges(prev, next)).toEqual(["server.port (11435 → 9999)"]);
  expect(restartOnlyChanges(prev, next, { port: true })).toEqual([]);
});
