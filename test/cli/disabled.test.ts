import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Ollama } from "ollama";
import { loadConfig } from "../../src/config/load";
import { silentLogger } from "../../src/log/logger";
import { Runtime } from "../../src/server/runtime";

// Each test starts lmrelay processes: on a loaded machine that takes more than the default 5 s.
setDefaultTimeout(30_000);

// Providers switched off for a missing key stay visible: `check` lists them with the unset variable,
// marks each alias target and gives a verdict per alias (`--strict` fails on an alias with nothing
// usable), `models` marks them, and a request for one of their models is a 404 naming the reason,
// in each protocol's own error shape (checked through the official SDKs; Gemini's as raw JSON).

const root = path.resolve(import.meta.dir, "../..");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CONFIG = `import { defineConfig, env } from "lmrelay";
export default defineConfig({
  server: { host: "127.0.0.1", port: 0 },
  storage: { path: ":memory:" },
  providers: {
    echo: { type: "echo", models: ["echo-1"], free: true },
    openai: { type: "openai", keys: [env.optional("LMRELAY_T_OPENAI_KEY")], enabled: env.has("LMRELAY_T_OPENAI_KEY") },
    claude: { type: "anthropic", models: ["claude-sonnet-4-5"], keys: [env.optional("LMRELAY_T_ANTHROPIC_KEY")], enabled: env.has("LMRELAY_T_ANTHROPIC_KEY") },
  },
  models: {
    smart: ["openai/gpt-4o", "echo/echo-1"],
    premium: ["claude/claude-sonnet-4-5", "openai/gpt-4o"],
  },
});
`;

function configDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-disabled-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "lmrelay.config.ts"), CONFIG);
  return dir;
}

function lmrelay(args: string[], cwd: string) {
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), ...args], { cwd, env: { PATH: process.env.PATH }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

test("check lists disabled providers with the reason, marks every alias target and gives a verdict per alias", () => {
  const dir = configDir();
  const r = lmrelay(["check"], dir);
  expect(r.code).toBe(0);
  const lines = r.stdout.split("\n");
  expect(lines).toContain("  openai  type=openai  disabled: LMRELAY_T_OPENAI_KEY not set");
  expect(lines).toContain("  claude  type=anthropic  disabled: LMRELAY_T_ANTHROPIC_KEY not set");
  const smart = lines.indexOf("  smart [alias, written order]: 1 of 2 targets usable");
  expect(smart).toBeGreaterThan(0);
  expect(lines.slice(smart + 1, smart + 4)).toEqual([
    "    openai/gpt-4o  skipped: provider disabled (LMRELAY_T_OPENAI_KEY not set)",
    "    echo/echo-1  usable",
    "    try order: 1. echo/echo-1 (score 1.00, free)",
  ]);
  const premium = lines.indexOf("  premium [alias, written order]: 0 of 2 targets usable");
  expect(lines.slice(premium + 1, premium + 3)).toEqual([
    "    claude/claude-sonnet-4-5  skipped: provider disabled (LMRELAY_T_ANTHROPIC_KEY not set)",
    "    openai/gpt-4o  skipped: provider disabled (LMRELAY_T_OPENAI_KEY not set)",
  ]);
  expect(r.stdout).toEndWith("aliases:\n  smart: 1 of 2 targets usable\n  premium: 0 of 2 targets usable\n");
});

test("check --strict exits 1 when an alias has no usable target, and 0 once it has one", () => {
  const dir = configDir();
  const r = lmrelay(["check", "--strict"], dir);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('lmrelay check: --strict: "premium" has no usable target\n');
  writeFileSync(path.join(dir, ".env"), "LMRELAY_T_ANTHROPIC_KEY=sk-ant-test\n");
  expect(lmrelay(["check", "--strict", "--env-file", ".env"], dir).code).toBe(0);
});

test("models marks alias targets on disabled providers and lists the providers", () => {
  const dir = configDir();
  const r = lmrelay(["models"], dir);
  expect(r.stdout).toContain("smart  (alias → openai/gpt-4o [disabled: LMRELAY_T_OPENAI_KEY not set], echo/echo-1)\n");
  expect(r.stdout).toContain("(claude: disabled: LMRELAY_T_ANTHROPIC_KEY not set)\n");
  const json = JSON.parse(lmrelay(["models", "--json"], dir).stdout) as { model: string; disabled?: unknown }[];
  expect(json.find((m) => m.model === "premium")!.disabled).toEqual([
    { target: "claude/claude-sonnet-4-5", reason: "disabled: LMRELAY_T_ANTHROPIC_KEY not set" },
    { target: "openai/gpt-4o", reason: "disabled: LMRELAY_T_OPENAI_KEY not set" },
  ]);
});

test("a model of a disabled provider is a 404 naming the reason, in each protocol's shape", async () => {
  const dir = configDir();
  const runtime = new Runtime(await loadConfig(path.join(dir, "lmrelay.config.ts")), silentLogger);
  const { url } = await runtime.start();
  try {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
    const e1 = await openai.chat.completions.create({ model: "openai/gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(e1).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e1.error).toMatchObject({ message: 'lmrelay: model "openai/gpt-4o": provider "openai" is disabled (LMRELAY_T_OPENAI_KEY not set)', code: "model_not_found" });
    // An alias whose every target is switched off says which and why.
    const e2 = await openai.chat.completions.create({ model: "premium", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(e2.status).toBe(404);
    expect(e2.error.message).toBe(
      'lmrelay: model "premium": every target is on a disabled provider ("claude": LMRELAY_T_ANTHROPIC_KEY not set; "openai": LMRELAY_T_OPENAI_KEY not set)',
    );
    // A bare name no enabled provider knows mentions the disabled ones.
    const e3 = await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(e3.status).toBe(404);
    expect(e3.error.message).toContain("(disabled providers: openai: LMRELAY_T_OPENAI_KEY not set; claude: LMRELAY_T_ANTHROPIC_KEY not set)");

    const anthropic = new Anthropic({ baseURL: url, apiKey: "x", maxRetries: 0 });
    const a = await anthropic.messages.create({ model: "claude/claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(a).toBeInstanceOf(Anthropic.NotFoundError);
    expect(a.error).toMatchObject({ type: "error", error: { type: "not_found_error", message: 'lmrelay: model "claude/claude-sonnet-4-5": provider "claude" is disabled (LMRELAY_T_ANTHROPIC_KEY not set)' } });

    const ollama = new Ollama({ host: url });
    const o = await ollama.chat({ model: "openai/gpt-4o", messages: [{ role: "user", content: "hi" }], stream: false }).catch((e) => e);
    expect(o.status_code).toBe(404);
    expect(o.error).toBe('lmrelay: model "openai/gpt-4o": provider "openai" is disabled (LMRELAY_T_OPENAI_KEY not set)');

    // Google's shape: { error: { code, message, status } }.
    const g = await fetch(`${url}/v1beta/models/openai/gpt-4o:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": "x" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    expect(g.status).toBe(404);
    expect(await g.json()).toEqual({
      error: { code: 404, status: "NOT_FOUND", message: 'lmrelay: model "openai/gpt-4o": provider "openai" is disabled (LMRELAY_T_OPENAI_KEY not set)' },
    });
  } finally {
    await runtime.stop({ drainMs: 1_000 });
  }
});
