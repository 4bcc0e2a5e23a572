import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

// `lmrelay run` with the real Claude Code, Codex and Gemini CLI (installed dev dependencies): each
// must send its first request where lmrelay serves that protocol, with the client key. A recorder
// on the config's port stands in for the gateway (the Responses and Gemini inbound endpoints are
// other work): it notes each request and refuses it with a 400 in the client's own error shape, so
// the client gives up at once. Skipped where a client is not installed.

setDefaultTimeout(60_000);

/** No folder from `dir` up to the root is writable by group or others (Gemini CLI's own rule). */
function secureAncestors(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if ((statSync(d).mode & 0o022) !== 0) return false;
    } catch {
      // Not there yet: it will be made with this process's umask.
    }
    if (path.dirname(d) === d) return true;
  }
}

const root = path.resolve(import.meta.dir, "../..");
const bin = path.join(root, "node_modules/.bin");
const KEY = "sk-lmrelay-run-test-0123";
const dirs: string[] = [];
let recorder: ReturnType<typeof Bun.serve>;
const seen: { method: string; path: string; headers: Headers; body: Record<string, unknown> }[] = [];
let home: string;

beforeAll(() => {
  recorder = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {}
      seen.push({ method: req.method, path: url.pathname + url.search, headers: req.headers, body });
      const error = url.pathname.startsWith("/v1beta/")
        ? { error: { code: 400, message: "recorded by the test", status: "INVALID_ARGUMENT" } }
        : url.pathname.startsWith("/v1/messages")
          ? { type: "error", error: { type: "invalid_request_error", message: "recorded by the test" } }
          : { error: { message: "recorded by the test", type: "invalid_request_error", param: null, code: null } };
      return Response.json(error, { status: 400 });
    },
  });
  // Gemini CLI ignores settings files below a group- or world-writable folder (/tmp, even with its
  // sticky bit): the home goes under the checkout, or, when the checkout itself lies below such a
  // folder (a CI clone in /tmp), under the user's own home.
  const base = [path.join(root, "test-output"), path.join(homedir(), ".cache", "lmrelay-tests")].find((d) => secureAncestors(path.dirname(d))) ?? path.join(root, "test-output");
  mkdirSync(base, { recursive: true });
  home = mkdtempSync(path.join(base, "run-home-"));
  dirs.push(home);
  writeFileSync(
    path.join(home, "lmrelay.config.ts"),
    `import { defineConfig } from "lmrelay";
export default defineConfig({
  server: { port: ${recorder.port} },
  storage: { path: ":memory:" },
  providers: { echo: { type: "echo", models: ["echo-1"] } },
  models: { smart: ["echo/echo-1"], fast: ["echo/echo-1"] },
  clients: { dev: { key: "${KEY}" } },
});
`,
  );
});

afterAll(() => {
  recorder?.stop(true);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(client: string, args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([process.execPath, path.join(root, "src/main.ts"), "run", client, "--client", "dev", "--", ...args], {
    cwd: home,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: home,
      XDG_CACHE_HOME: path.join(home, ".cache"),
      XDG_CONFIG_HOME: path.join(home, ".config"),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_TELEMETRY: "1",
      GEMINI_CLI_TRUST_WORKSPACE: "true",
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill(), 50_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(killer);
  return { code, out: out + err };
}

function requestsTo(prefix: string) {
  return seen.filter((r) => r.path.startsWith(prefix));
}

test.skipIf(!existsSync(path.join(bin, "claude")))("run claude: Claude Code sends POST /v1/messages with the client key and the config's alias", async () => {
  const r = await run("claude", ["-p", "hello"]);
  const sent = requestsTo("/v1/messages").filter((q) => q.body.model === "smart");
  expect(sent.length, r.out).toBeGreaterThan(0);
  expect(sent[0]!.method).toBe("POST");
  expect(sent[0]!.headers.get("authorization")).toBe(`Bearer ${KEY}`);
});

test.skipIf(!existsSync(path.join(bin, "codex")))("run codex: Codex sends POST /v1/responses with the client key as a Bearer token", async () => {
  const r = await run("codex", ["exec", "--skip-git-repo-check", "hello"]);
  const sent = requestsTo("/v1/responses");
  expect(sent.length, r.out).toBeGreaterThan(0);
  expect(sent[0]!.method).toBe("POST");
  expect(sent[0]!.headers.get("authorization")).toBe(`Bearer ${KEY}`);
  expect(sent[0]!.body.model).toBe("smart");
});

test.skipIf(!existsSync(path.join(bin, "gemini")))("run gemini: Gemini CLI headless sends /v1beta/models/smart:streamGenerateContent with x-goog-api-key", async () => {
  const r = await run("gemini", ["-p", "hello"]);
  const sent = requestsTo("/v1beta/models/smart:");
  expect(sent.length, r.out).toBeGreaterThan(0);
  expect(sent[0]!.method).toBe("POST");
  expect(sent[0]!.path).toStartWith("/v1beta/models/smart:streamGenerateContent");
  expect(sent[0]!.headers.get("x-goog-api-key")).toBe(KEY);
  // The settings file `run` wrote for it is gone once the client exits.
  expect(readdirSync(path.join(home, ".cache", "lmrelay"))).toEqual([]);
});
