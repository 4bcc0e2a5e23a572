import { expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseCommandLine } from "../../src/cli/argv";
import { allFlags, COMMAND_SPECS } from "../../src/cli/commands";
import { registerSdkModule } from "../../src/config/load";
import { startGateway } from "../helpers/gateway";
import { tempDirs } from "../helpers/tempdirs";

// Each test starts lmrelay processes: on a loaded machine that takes more than the default 5 s.
setDefaultTimeout(30_000);

// One parser for every command: `--help` (exit 0) and unknown flags (exit 2) behave the same
// everywhere, and `lmrelay help <command>` prints what `<command> --help` prints. Also the README's
// first curl, which must answer on both the repo's example config and the one `lmrelay init` writes.

const root = path.resolve(import.meta.dir, "../..");
const tempDir = tempDirs("lmrelay-cmd-");

function lmrelay(args: string[], cwd: string) {
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), ...args], { cwd, env: { PATH: process.env.PATH }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

const commands = COMMAND_SPECS.map((c) => c.name);

test.each(commands)("lmrelay %s --help prints its usage and exits 0 without running", (name) => {
  const dir = tempDir(); // empty: a command that ran would fail on the missing config
  const r = lmrelay([name, ...(name === "service" ? ["install"] : []), "--help"], dir);
  expect(r.code).toBe(0);
  expect(r.stdout).toStartWith(`usage: lmrelay ${name}`);
  expect(r.stdout).toContain("--env-file PATH");
  expect(r.stderr).toBe("");
  expect(lmrelay(["help", name], dir).stdout).toBe(r.stdout);
}, 20_000);

test.each(commands)("lmrelay %s --bogus-flag is an error naming the flag, exit 2", (name) => {
  const r = lmrelay([name, "--bogus-flag"], tempDir());
  expect(r.code).toBe(2);
  expect(r.stderr).toStartWith(`lmrelay ${name}: unknown flag --bogus-flag (takes: `);
  expect(r.stderr).toContain(`usage: lmrelay ${name}`);
  expect(r.stdout).toBe("");
}, 20_000);

test("lmrelay help lists every command; help for an unknown command exits 2", () => {
  const dir = tempDir();
  const r = lmrelay(["help"], dir);
  expect(r.code).toBe(0);
  for (const name of commands) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
  expect(lmrelay(["--help"], dir).stdout).toBe(r.stdout);
  const bad = lmrelay(["help", "serv"], dir);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown command "serv"');
}, 20_000);

test("the parser: values, booleans, missing values, extra positionals and -- for run", () => {
  const rules = (name: string) => {
    const spec = COMMAND_SPECS.find((c) => c.name === name)!;
    return { flags: new Map(allFlags(spec).map((f) => [f.name, f.value !== undefined])), maxPositionals: spec.maxPositionals, rest: spec.rest };
  };
  expect(parseCommandLine(["--config", "a.ts", "--json"], rules("models"))).toEqual({ kind: "args", args: { positionals: [], flags: new Map<string, string | true>([["config", "a.ts"], ["json", true]]) } });
  expect(parseCommandLine(["--config=a.ts"], rules("check"))).toMatchObject({ kind: "args" });
  expect(parseCommandLine(["--config"], rules("check"))).toEqual({ kind: "error", message: "--config needs a value" });
  expect(parseCommandLine(["--config", "--strict"], rules("check"))).toEqual({ kind: "error", message: "--config needs a value" });
  expect(parseCommandLine(["--json=yes"], rules("models"))).toEqual({ kind: "error", message: "--json takes no value" });
  expect(parseCommandLine(["extra"], rules("check"))).toEqual({ kind: "error", message: 'takes no arguments, got "extra"' });
  expect(parseCommandLine(["-x"], rules("check"))).toMatchObject({ kind: "error", message: expect.stringMatching(/^unknown flag -x /) });
  expect(parseCommandLine(["-h"], rules("check"))).toEqual({ kind: "help" });
  // After `--` everything is the client's, --help included.
  expect(parseCommandLine(["claude", "--model", "m", "--", "-p", "hi", "--help"], rules("run"))).toEqual({
    kind: "args",
    args: { positionals: ["claude"], flags: new Map([["model", "m"]]), rest: ["-p", "hi", "--help"] },
  });
  expect(parseCommandLine(["--", "x"], rules("check"))).toEqual({ kind: "error", message: "takes no arguments after --" });
});

/** The body of the README's first curl example. */
function readmeCurlBody(): { model: string; messages: unknown[] } {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const m = /curl -s http:\/\/127\.0\.0\.1:11435\/v1\/chat\/completions[^\n]*\\\n\s*-d '([^']+)'/.exec(readme);
  if (!m) throw new Error("README has no curl example");
  return JSON.parse(m[1]!);
}

test("the README's curl answers on the repo's example config and on the config lmrelay init writes", async () => {
  const dir = tempDir();
  expect(lmrelay(["init", dir], dir).code).toBe(0);
  const body = readmeCurlBody();
  registerSdkModule();
  for (const file of [path.join(root, "lmrelay.config.ts"), path.join(dir, "lmrelay.config.ts")]) {
    const config = (await import(file)).default;
    // A bare environment: no provider key may decide the outcome.
    const gw = await startGateway({ ...config, providers: Object.fromEntries(Object.entries(config.providers).filter(([, p]) => (p as { enabled?: boolean }).enabled !== true)) });
    try {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect({ file, status: res.status }).toEqual({ file, status: 200 });
      const json = (await res.json()) as { choices: { message: { content: string } }[] };
      expect(json.choices[0]!.message.content).toBe("hello there");
      expect(res.headers.get("x-lmrelay-provider")).toBe("echo");
    } finally {
      await gw.stop();
    }
  }
}, 30_000);
