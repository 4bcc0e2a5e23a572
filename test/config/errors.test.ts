import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { locateFields } from "../../src/config/locate";
import { loadConfig } from "../../src/config/load";
import { ConfigError } from "../../src/config/resolve";

// Each test starts lmrelay processes: on a loaded machine that takes more than the default 5 s.
setDefaultTimeout(30_000);

// Config errors in the user's words and at the user's line: allowed values for enums and unions,
// "did you mean" for a misspelt field, line:column of the field, and one error for one syntax
// mistake, placed at the line that lacks the comma. Disabled providers remember why they are off.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function write(text: string): string {
  const d = mkdtempSync(path.join(tmpdir(), "lmrelay-cfgerr-"));
  dirs.push(d);
  const file = path.join(d, "lmrelay.config.ts");
  writeFileSync(file, text);
  return file;
}
async function problems(text: string) {
  const file = write(text);
  try {
    await loadConfig(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return { file, err: e as ConfigError };
  }
  throw new Error("the config loaded");
}

const BAD = `import { defineConfig } from "lmrelay";
export default defineConfig({
  server: { hots: "127.0.0.1", port: 11435 },
  providers: {
    echo: { type: "echoo", models: "echo-1" },
    o: { type: "openai", keys: [{ key: "x", nmae: "a" }, 5] },
  },
  models: { a: "echo/echo-1" },
  routing: { strategy: "fastest" },
});
`;

test("schema errors list the allowed values, suggest the misspelt field and give its line and column", async () => {
  const { file, err } = await problems(BAD);
  expect(err.problems).toEqual([
    { path: "server.hots", line: 3, column: 13, message: 'unknown field "hots"; did you mean "host"? (fields here: host, port, maxBodyBytes)' },
    {
      path: "providers.echo.type",
      line: 5,
      column: 13,
      message: expect.stringMatching(/^must be one of: openai, openai-compatible, anthropic, gemini, .*, echo; got "echoo" \(did you mean "echo"\?\)$/),
    },
    { path: "providers.echo.models", line: 5, column: 28, message: 'must be a list of strings; got "echo-1"' },
    { path: "providers.o.keys[0].nmae", line: 6, column: 45, message: 'unknown field "nmae"; did you mean "name"? (fields here: key, name, models, rpm, tpm, weight)' },
    { path: "providers.o.keys[1]", line: 6, column: 58, message: "must be a string or an object { key, name?, models?, rpm?, tpm?, weight? }; got 5" },
    { path: "models.a", line: 8, column: 13, message: 'must be a list of strings or an object { targets, strategy?, cache? }; got "echo/echo-1"' },
    { path: "routing.strategy", line: 9, column: 14, message: 'must be one of: health, priority, cost, latency, round-robin; got "fastest"' },
  ]);
  expect(err.message).toStartWith(`invalid config ${file}:\n  server.hots (line 3:13): unknown field "hots"`);
});

test("one missing comma is one error, at the end of the line that lacks it", async () => {
  const { err } = await problems(`import { defineConfig } from "lmrelay";

export default defineConfig({
  server: { host: "127.0.0.1", port: 11435 }
  // the storage goes here
  storage: { path: "x.db" },
  providers: { echo: { type: "echo", models: ["echo-1"] } },
});
`);
  expect(err.problems).toHaveLength(1);
  expect(err.problems[0]!.message).toBe('line 4:45: missing "," at the end of this line (the next entry, "storage", starts on line 6)\n      server: { host: "127.0.0.1", port: 11435 }');
});

test("other syntax errors report Bun's first diagnostic only, with its line", async () => {
  const { err } = await problems(`import { defineConfig } from "lmrelay";
export default defineConfig({
  providers: { echo: { type: "echo", models: ["echo-1"] } },
  models: { a: ["echo/echo-1"] ) },
});
`);
  expect(err.problems).toHaveLength(1);
  expect(err.problems[0]!.message).toMatch(/^line 4:\d+: .+\n {6}models: \{ a: \["echo\/echo-1"\] \) \},$/);
  expect(err.problems[0]!.message.split("\n")).toHaveLength(2);
});

test("a disabled provider is remembered with the unset variable that switched it off", async () => {
  delete process.env.LMRELAY_TEST_UNSET_KEY;
  process.env.LMRELAY_TEST_SET_KEY = "sk-set";
  const file = write(`import { defineConfig, env } from "lmrelay";
export default defineConfig({
  providers: {
    echo: { type: "echo", models: ["echo-1"] },
    openai: { type: "openai", keys: [env.optional("LMRELAY_TEST_UNSET_KEY")], enabled: env.has("LMRELAY_TEST_UNSET_KEY") },
    groq: { type: "groq", keys: [env("LMRELAY_TEST_SET_KEY")], enabled: false },
  },
});
`);
  const config = await loadConfig(file);
  expect([...config.providers.keys()]).toEqual(["echo"]);
  expect([...config.disabled!.values()]).toEqual([
    { id: "openai", type: "openai", reason: "LMRELAY_TEST_UNSET_KEY not set" },
    { id: "groq", type: "groq", reason: "enabled: false in the config" },
  ]);
  delete process.env.LMRELAY_TEST_SET_KEY;
});

test("the locator finds nested fields, array entries and methods, and skips computed values", () => {
  const spots = locateFields(`const shared = { a: 1 };
export default defineConfig({
  // a comment with { braces: [
  providers: { "my-prov": { type: \`t\${1}\`, keys: ["a", { key: "b" }] }, ...shared },
  routing: { route(req, c) { return c.filter((x) => ({ y: 1 })); }, maxAttempts: 2 },
});`);
  expect(spots.get("providers.my-prov.type")).toMatchObject({ line: 4, column: 29 });
  expect(spots.get("providers.my-prov.keys[1].key")).toMatchObject({ line: 4, column: 58 });
  expect(spots.get("routing.route")).toMatchObject({ line: 5, column: 14 });
  expect(spots.get("routing.maxAttempts")).toMatchObject({ line: 5, column: 69 });
  expect(spots.has("a")).toBe(false);
  expect(spots.has("routing.route.y")).toBe(false);
});

test("serve in an empty folder suggests lmrelay init", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-empty-"));
  dirs.push(dir);
  const root = path.resolve(import.meta.dir, "../..");
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), "serve"], { cwd: dir, env: { PATH: process.env.PATH }, stdout: "pipe", stderr: "pipe" });
  expect(p.exitCode).toBe(1);
  expect(p.stderr.toString()).toContain("config file not found; run `lmrelay init` to write a starter config here (or pass --config PATH)");
});
