import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadEnvFile, parseEnvFile } from "../../src/cli/envfile";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

test("parses KEY=value lines the way systemd's EnvironmentFile= does", () => {
  const env = parseEnvFile(
    [
      "# comment",
      "",
      "PLAIN=value",
      "export EXPORTED=yes",
      "SPACED = around ",
      'DOUBLE="a b\\nc"',
      "SINGLE='x # not a comment'",
      "TRAILING=abc # comment",
      "EMPTY=",
      "not a line",
      "1BAD=x",
    ].join("\n"),
  );
  expect(Object.fromEntries(env)).toEqual({
    PLAIN: "value",
    EXPORTED: "yes",
    SPACED: "around",
    DOUBLE: "a b\nc",
    SINGLE: "x # not a comment",
    TRAILING: "abc",
    EMPTY: "",
  });
});

test("loadEnvFile fills only what the environment does not set", () => {
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-env-"));
  const file = path.join(dir, ".env");
  writeFileSync(file, "A=from-file\nB=from-file\nC=from-file\n");
  const env: Record<string, string | undefined> = { A: "from-env", B: "" };
  expect(loadEnvFile(file, env)).toBe(2);
  expect(env).toEqual({ A: "from-env", B: "from-file", C: "from-file" });
});

test("an unreadable env file is a readable error", () => {
  expect(() => loadEnvFile("/nonexistent/lmrelay/.env", {})).toThrow("cannot read --env-file /nonexistent/lmrelay/.env: ENOENT");
});
