import { expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { serviceConfig } from "../../src/cli/client-gateway";
import { clientSetup, type Gateway, shellQuote } from "../../src/cli/client-setup";
import { CLIENT_NAMES } from "../../src/cli/commands";
import { renderUnit } from "../../src/cli/service-unit";
import { tempDirs } from "../helpers/tempdirs";

// Each test starts lmrelay processes: on a loaded machine that takes more than the default 5 s.
setDefaultTimeout(30_000);

// `lmrelay env <client>` and `lmrelay run <client>`: the right base URL for each client's protocol
// (Claude Code and the Anthropic SDK at the server root, Codex at /v1 with wire_api "responses",
// Gemini CLI at the server root for /v1beta/…, the OpenAI family at /v1), the key of `--client`, and
// the model names of the config. `run` is tested with fake clients on PATH that print their env.

const root = path.resolve(import.meta.dir, "../..");
const tempDir = tempDirs("lmrelay-env-");

const CONFIG = `import { defineConfig } from "lmrelay";
export default defineConfig({
  server: { host: "0.0.0.0", port: 18555 },
  storage: { path: ":memory:" },
  providers: { echo: { type: "echo", models: ["echo-1"], free: true } },
  models: { smart: ["echo/echo-1"], fast: ["echo/echo-1"] },
  clients: { dev: { key: "sk-dev-0123456789" }, ci: { key: "sk-ci-9876543210" } },
});
`;

function lmrelay(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH!, HOME: opts.cwd, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** The exports of `lmrelay env` output as a map (what `eval "$(lmrelay env X)"` would set). */
function exportsOf(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!;
    env[m[1]!] = v.startsWith("'") ? v.slice(1, -1).replace(/'\\''/g, "'") : v;
  }
  return env;
}

function setupDir(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, "lmrelay.config.ts"), CONFIG);
  return dir;
}

test("env claude: Anthropic base URL at the server root, the --client key as a Bearer token, the config's aliases", () => {
  const dir = setupDir();
  const r = lmrelay(["env", "claude", "--client", "dev"], { cwd: dir });
  expect(r.code).toBe(0);
  expect(exportsOf(r.stdout)).toEqual({
    ANTHROPIC_BASE_URL: "http://127.0.0.1:18555", // 0.0.0.0 means this machine for a local client
    ANTHROPIC_AUTH_TOKEN: "sk-dev-0123456789",
    ANTHROPIC_MODEL: "smart",
    ANTHROPIC_DEFAULT_HAIKU_MODEL: "fast",
    ANTHROPIC_SMALL_FAST_MODEL: "fast",
  });
  // Everything but the exports is a comment, so the output can be eval'd.
  for (const line of r.stdout.split("\n")) expect(line === "" || line.startsWith("#") || line.startsWith("export ")).toBe(true);
});

test("env codex: a config.toml provider with base_url at /v1, wire_api responses and env_key", () => {
  const dir = setupDir();
  const r = lmrelay(["env", "codex", "--client", "ci", "--model", "fast"], { cwd: dir });
  expect(r.code).toBe(0);
  expect(exportsOf(r.stdout)).toEqual({ LMRELAY_API_KEY: "sk-ci-9876543210" });
  const toml = r.stdout.split("\n").filter((l) => l.startsWith("#   ")).map((l) => l.slice(4)).join("\n");
  expect(toml).toBe(
    ['model = "fast"', 'model_provider = "lmrelay"', "", "[model_providers.lmrelay]", 'name = "lmrelay"', 'base_url = "http://127.0.0.1:18555/v1"', 'wire_api = "responses"', 'env_key = "LMRELAY_API_KEY"'].join("\n"),
  );
});

test("env gemini: GOOGLE_GEMINI_BASE_URL at the server root (Gemini CLI adds /v1beta/...) and GEMINI_API_KEY", () => {
  const dir = setupDir();
  const r = lmrelay(["env", "gemini", "--client", "dev"], { cwd: dir });
  expect(exportsOf(r.stdout)).toEqual({
    GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:18555",
    GEMINI_API_KEY: "sk-dev-0123456789",
    GEMINI_MODEL: "smart",
    GEMINI_DEFAULT_AUTH_TYPE: "gemini-api-key",
  });
});

test("env without --client on a gateway that needs keys prints a placeholder and says how to fill it; LMRELAY_API_KEY is used when set", () => {
  const dir = setupDir();
  const r = lmrelay(["env", "openai"], { cwd: dir });
  expect(r.code).toBe(0);
  expect(exportsOf(r.stdout)).toEqual({ OPENAI_BASE_URL: "http://127.0.0.1:18555/v1", OPENAI_API_KEY: "<your lmrelay client key>" });
  expect(r.stdout).toContain("pass --client NAME");
  expect(exportsOf(lmrelay(["env", "openai"], { cwd: dir, env: { LMRELAY_API_KEY: "sk-own" } }).stdout).OPENAI_API_KEY).toBe("sk-own");
  const bad = lmrelay(["env", "openai", "--client", "nobody"], { cwd: dir });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('no client "nobody"');
  expect(bad.stderr).toContain("clients: dev, ci");
  const unknown = lmrelay(["env", "cursor"], { cwd: dir });
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown client "cursor" (clients: claude, codex, gemini');
});

test("every client's setup points at the base URL its protocol needs", () => {
  const g: Gateway = { root: "http://127.0.0.1:11435", key: "k", keyIsPlaceholder: false, model: "smart", fastModel: "fast" };
  const expected: Record<string, string> = {
    claude: "ANTHROPIC_BASE_URL=http://127.0.0.1:11435",
    codex: "base_url = \"http://127.0.0.1:11435/v1\"",
    gemini: "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:11435",
    openai: "OPENAI_BASE_URL=http://127.0.0.1:11435/v1",
    anthropic: "ANTHROPIC_BASE_URL=http://127.0.0.1:11435",
    aider: "OPENAI_API_BASE=http://127.0.0.1:11435/v1",
    continue: "apiBase: http://127.0.0.1:11435/v1",
    opencode: '"baseURL": "http://127.0.0.1:11435/v1"',
    "open-webui": "OPENAI_API_BASE_URL=http://127.0.0.1:11435/v1",
  };
  for (const client of CLIENT_NAMES) {
    const s = clientSetup(client, g);
    const text = [...Object.entries(s.env).map(([k, v]) => `${k}=${v}`), s.file?.content ?? "", ...s.notes].join("\n");
    expect({ client, has: text.includes(expected[client]!) }).toEqual({ client, has: true });
    // Where a model name goes, it is the config's.
    expect({ client, model: text.includes("smart") }).toEqual({ client, model: true });
  }
  expect(clientSetup("aider", g).env.AIDER_MODEL).toBe("openai/smart");
  expect(JSON.parse(clientSetup("opencode", g).env.OPENCODE_CONFIG_CONTENT!).model).toBe("lmrelay/smart");
  expect(shellQuote("a b'c")).toBe(`'a b'\\''c'`);
});

/** A fake client: prints its arguments and the variables lmrelay sets, then exits with 7. */
function fakeClient(binDir: string, name: string): void {
  mkdirSync(binDir, { recursive: true });
  const file = path.join(binDir, name);
  writeFileSync(
    file,
    `#!/bin/sh
echo "argv: $*"
env | grep -E '^(ANTHROPIC|OPENAI|GEMINI|GOOGLE_GEMINI|LMRELAY|AIDER)_' | sort
exit 7
`,
  );
  chmodSync(file, 0o755);
}

test("run claude starts the client with the environment set, passes the args after --, and returns its exit code", () => {
  const dir = setupDir();
  const bin = path.join(dir, "bin");
  fakeClient(bin, "claude");
  const r = lmrelay(["run", "claude", "--client", "dev", "--", "-p", "hi there"], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}` } });
  expect(r.code).toBe(7);
  expect(r.stdout).toContain("argv: -p hi there\n");
  expect(r.stdout).toContain("ANTHROPIC_BASE_URL=http://127.0.0.1:18555\n");
  expect(r.stdout).toContain("ANTHROPIC_AUTH_TOKEN=sk-dev-0123456789\n");
  expect(r.stdout).toContain("ANTHROPIC_MODEL=smart\n");
});

test("run codex passes the provider as -c overrides; run openai runs the command after --", () => {
  const dir = setupDir();
  const bin = path.join(dir, "bin");
  fakeClient(bin, "codex");
  fakeClient(bin, "myapp");
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const codex = lmrelay(["run", "codex", "--client", "ci", "--", "exec", "hello"], { cwd: dir, env });
  expect(codex.code).toBe(7);
  expect(codex.stdout).toContain(
    'argv: -c model_provider="lmrelay" -c model_providers.lmrelay={ name = "lmrelay", base_url = "http://127.0.0.1:18555/v1", wire_api = "responses", env_key = "LMRELAY_API_KEY" } -c model="smart" exec hello\n',
  );
  expect(codex.stdout).toContain("LMRELAY_API_KEY=sk-ci-9876543210\n");
  const app = lmrelay(["run", "openai", "--client", "dev", "--", "myapp", "--flag"], { cwd: dir, env });
  expect(app.code).toBe(7);
  expect(app.stdout).toContain("argv: --flag\n");
  expect(app.stdout).toContain("OPENAI_BASE_URL=http://127.0.0.1:18555/v1\n");
  const none = lmrelay(["run", "openai", "--client", "dev"], { cwd: dir, env });
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("name the program to run after --");
});

test("run refuses a placeholder key, a file-only client and a client not on PATH", () => {
  const dir = setupDir();
  const noKey = lmrelay(["run", "claude"], { cwd: dir });
  expect(noKey.code).toBe(1);
  expect(noKey.stderr).toContain("requires a client key: pass --client NAME");
  expect(lmrelay(["run", "continue", "--client", "dev"], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("lmrelay env continue") });
  expect(lmrelay(["run", "gemini", "--client", "dev"], { cwd: dir, env: { PATH: "/nonexistent" } })).toMatchObject({
    code: 127,
    stderr: expect.stringContaining("gemini is not on PATH"),
  });
});

test("with no config here, env finds the gateway through the installed (user) service unit", () => {
  const home = tempDir();
  const etc = path.join(home, "etc");
  mkdirSync(etc);
  const configFile = path.join(etc, "lmrelay.config.ts");
  writeFileSync(configFile, CONFIG.replace("18555", "18666"));
  const unitDir = path.join(home, ".config", "systemd", "user");
  mkdirSync(unitDir, { recursive: true });
  const unit = renderUnit({ name: "lmrelay", user: true, command: ["/usr/local/bin/lmrelay"], configFile, envFile: path.join(etc, ".env"), envFileRequired: false });
  writeFileSync(path.join(unitDir, "lmrelay.service"), unit);
  expect(serviceConfig(unit)).toEqual({ config: configFile, envFile: path.join(etc, ".env") });
  const cwd = tempDir();
  const r = lmrelay(["env", "anthropic", "--client", "dev"], { cwd, env: { HOME: home, XDG_CONFIG_HOME: path.join(home, ".config") } });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`(config ${configFile} (from the service unit ${path.join(unitDir, "lmrelay.service")}))`);
  expect(exportsOf(r.stdout)).toEqual({ ANTHROPIC_BASE_URL: "http://127.0.0.1:18666", ANTHROPIC_API_KEY: "sk-dev-0123456789" });
  const lost = lmrelay(["env", "anthropic"], { cwd, env: { HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, "none") } });
  expect(lost.code).toBe(1);
  expect(lost.stderr).toContain("no gateway found");
});
