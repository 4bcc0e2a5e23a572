import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateSdkTypes, SDK_TYPES_FILE } from "../../scripts/sdk-types";
import { tempDirs } from "../helpers/tempdirs";

// `lmrelay init`: the files it writes type-check with `tsc --noEmit` in a folder with no
// node_modules (the editor types are self-contained) and load with `lmrelay check`.

const root = path.resolve(import.meta.dir, "../..");
const tsc = path.join(root, "node_modules/typescript/bin/tsc");
const tempDir = tempDirs("lmrelay-init-");

/** Runs the CLI from source with a bare environment (no provider keys set). */
function lmrelay(args: string[], cwd = root) {
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), ...args], { cwd, env: { PATH: process.env.PATH }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function typecheck(dir: string) {
  const p = Bun.spawnSync([process.execPath, tsc, "--noEmit", "-p", dir], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

test("the embedded editor types are the ones generated from src/sdk.ts (run: bun scripts/sdk-types.ts)", () => {
  expect(readFileSync(SDK_TYPES_FILE, "utf8")).toBe(generateSdkTypes());
}, 30_000);

test("init writes a config, the types, a tsconfig and a .env.example that type-check and load", () => {
  const dir = path.join(tempDir(), "fresh"); // init creates the folder
  const r = lmrelay(["init", dir]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  for (const f of ["lmrelay.config.ts", "lmrelay-env.d.ts", "tsconfig.json", ".env.example"]) expect(existsSync(path.join(dir, f))).toBe(true);
  expect(r.stdout).toContain("lmrelay service install --config");
  expect(r.stdout).toContain("lmrelay run claude --config");
  expect(existsSync(path.join(dir, "node_modules"))).toBe(false);

  const checked = typecheck(dir);
  expect(checked.out).toBe("");
  expect(checked.code).toBe(0);

  const loaded = lmrelay(["check", "--config", path.join(dir, "lmrelay.config.ts")]);
  expect(loaded.stderr).toBe("");
  expect(loaded.code).toBe(0);
  expect(loaded.stdout).toContain("echo");
  // The storage default stays beside the config when LMRELAY_DB is not set.
  expect(loaded.stdout).toContain(path.join(dir, "lmrelay.db"));

  // Every variable the starter config reads is listed in .env.example.
  const config = readFileSync(path.join(dir, "lmrelay.config.ts"), "utf8");
  const example = readFileSync(path.join(dir, ".env.example"), "utf8");
  const live = config.split("\n").filter((l) => !l.trim().startsWith("//")).join("\n");
  for (const [, name] of live.matchAll(/env(?:\.optional|\.has)?\("([A-Z0-9_]+)"/g)) if (name !== "LMRELAY_DB") expect(example).toContain(`${name}=`);
}, 30_000);

test("the types catch mistakes in a config (so they are not just `any`)", () => {
  const dir = tempDir();
  expect(lmrelay(["init", dir]).code).toBe(0);
  writeFileSync(
    path.join(dir, "lmrelay.config.ts"),
    `import { defineConfig, env } from "lmrelay";
export default defineConfig({
  providers: { a: { type: "not-a-provider", keys: [env("K")] } },
  routing: { strategy: "fastest", route: (req, candidates) => candidates.length },
});
`,
  );
  const r = typecheck(dir);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain('"not-a-provider"');
  expect(r.out).toContain('"fastest"');
  expect(r.out).toContain("lmrelay.config.ts(4,");
}, 30_000);

test("the module's private helpers stay private, like the run-time module", () => {
  const dir = tempDir();
  expect(lmrelay(["init", dir, "--types"]).code).toBe(0);
  expect(existsSync(path.join(dir, "lmrelay.config.ts"))).toBe(false); // --types writes only the types
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "Preserve", moduleResolution: "bundler", types: [] }, include: ["*.ts"] }));
  writeFileSync(path.join(dir, "use.ts"), `import { ProviderTypes, type LmrelayConfig, env } from "lmrelay";\nexport const x: LmrelayConfig = { providers: {} };\nexport const y: string = env("A");\nexport const z = ProviderTypes;\n`);
  const r = typecheck(dir);
  expect(r.out).toContain("has no exported member named 'ProviderTypes'");
  expect(r.out.split("error").length - 1).toBe(1);
}, 30_000);

test("init never overwrites without --force, and writes nothing when any file exists", () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, "tsconfig.json"), "{ \"mine\": true }\n");
  const r = lmrelay(["init", dir]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(path.join(dir, "tsconfig.json"));
  expect(r.stderr).toContain("--force");
  expect(existsSync(path.join(dir, "lmrelay.config.ts"))).toBe(false);
  expect(readFileSync(path.join(dir, "tsconfig.json"), "utf8")).toBe("{ \"mine\": true }\n");

  const forced = lmrelay(["init", "--force", dir]);
  expect(forced.code).toBe(0);
  expect(readFileSync(path.join(dir, "tsconfig.json"), "utf8")).toContain("lmrelay-env.d.ts");
  expect(existsSync(path.join(dir, "lmrelay.config.ts"))).toBe(true);
});

test("init defaults to the current folder and rejects unknown flags", () => {
  const dir = tempDir();
  expect(lmrelay(["init"], dir).code).toBe(0);
  expect(existsSync(path.join(dir, "lmrelay.config.ts"))).toBe(true);
  const bad = lmrelay(["init", dir, "--froce"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("unknown flag --froce");
});
