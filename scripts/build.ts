#!/usr/bin/env bun
// Builds the single executable: `bun run build` → dist/lmrelay (this machine's platform).
// `bun run build --target bun-linux-arm64` (or any `bun build --compile` target) cross-compiles;
// that needs the target's Bun runtime: from the network, or `--executable PATH` to a local copy.
import { $ } from "bun";
import { mkdirSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const target = flag("target");
const executable = flag("executable");
const outfile = path.join(root, "dist", target ? `lmrelay-${target.replace(/^bun-/, "")}` : "lmrelay");

let commit = "unknown";
try {
  commit = (await $`git rev-parse --short HEAD`.cwd(root).quiet().text()).trim();
} catch {}

mkdirSync(path.dirname(outfile), { recursive: true });
const cmd = [
  "bun", "build", "--compile", "--minify", "--sourcemap", "--bytecode", "--format=esm",
  // A service reads its environment from systemd, not from whatever .env sits in its cwd.
  "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  "--asset", "./src/store/migrations",
  `--define`, `LMRELAY_COMMIT=${JSON.stringify(commit)}`,
  ...(target ? [`--target=${target}`] : []),
  ...(executable ? [`--compile-executable-path=${executable}`] : []),
  "src/main.ts", "--outfile", outfile,
];
const proc = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
console.log(`built ${path.relative(root, outfile)} (${commit})`);
