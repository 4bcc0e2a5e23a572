#!/usr/bin/env bun
// Builds the single executable: `bun run build` → dist/lmrelay (this machine's platform).
//
//   bun run build --target bun-linux-arm64                 another `bun build --compile` target
//   bun run build --target bun-linux-x64,bun-darwin-arm64  several, one binary each
//   bun run build --target bun-linux-arm64 --executable /path/to/bun-linux-arm64/bun
//
// Cross-compiling needs the target's Bun runtime: Bun fetches it from the npm registry, or
// `--executable PATH` points at a copy on disk (offline builds). Before compiling, the editor types
// that `lmrelay init` embeds are regenerated if src/config changed (scripts/sdk-types.ts).
//
// Start-up (issue 7): chunks are split, so `serve` re-executes itself after loading only main.ts's
// few modules; a JIT policy keeps start-up's run-once code in the interpreter until `serve` listens
// (it then calls Bun.unsafe.setJITPolicy(1)); and a first build, run once through start-up and the
// benchmark's requests, gives the order in which the final build lays out the bytecode
// (scripts/bytecode-order.ts). Each target's binary is built from that order.
import { $ } from "bun";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { recordBytecodeOrder } from "./bytecode-order";
import { generateSdkTypes, SDK_TYPES_FILE } from "./sdk-types";

const TARGETS = [
  "bun-linux-x64",
  "bun-linux-x64-baseline",
  "bun-linux-x64-modern",
  "bun-linux-arm64",
  "bun-linux-x64-musl",
  "bun-linux-x64-musl-baseline",
  "bun-linux-arm64-musl",
  "bun-darwin-x64",
  "bun-darwin-x64-baseline",
  "bun-darwin-arm64",
  "bun-windows-x64",
  "bun-windows-x64-baseline",
  "bun-windows-x64-modern",
];

const root = path.resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const flags = new Map<string, string>();
for (let i = 0; i < args.length; i++) {
  const m = /^--(target|executable)(?:=(.*))?$/.exec(args[i]!);
  const value = m && (m[2] ?? args[++i]);
  if (!m || !value) fail(`usage: bun run build [--target ${TARGETS[0]}[,…]] [--executable PATH]\n(got "${args.join(" ")}")`);
  flags.set(m[1]!, value);
}
const targets = flags.get("target")?.split(",").map((t) => t.trim()).filter(Boolean);
for (const t of targets ?? []) if (!TARGETS.includes(t)) fail(`unknown target "${t}"; one of:\n  ${TARGETS.join("\n  ")}`);
const executable = flags.get("executable");
if (executable && targets?.length !== 1) fail("--executable goes with exactly one --target (the runtime of that target)");

let commit = "unknown";
try {
  commit = (await $`git rev-parse --short HEAD`.cwd(root).quiet().text()).trim();
} catch {}

const types = generateSdkTypes();
let current = "";
try {
  current = readFileSync(SDK_TYPES_FILE, "utf8");
} catch {}
if (current !== types) {
  writeFileSync(SDK_TYPES_FILE, types);
  console.log(`updated ${path.relative(root, SDK_TYPES_FILE)} (the config's types changed)`);
}

/** Tier-up thresholds × this until `serve` listens: start-up code runs once, compiling it is waste. */
const JIT_POLICY = 20;

class BuildFailed extends Error {
  constructor(readonly code: number) {
    super(`bun build exited ${code}`);
  }
}

const dist = path.join(root, "dist");
mkdirSync(dist, { recursive: true });
// The binary embeds its source map (--sourcemap with --compile), so stack traces keep their source
// lines; the .map files bun also writes beside it, and the last build's leftovers, are removed.
const dropMaps = () => {
  for (const f of readdirSync(dist)) if (f.endsWith(".map") || f === "bytecode-order.txt") rmSync(path.join(dist, f));
};
dropMaps();

// The profiling run needs a binary this machine can run: the host's, whatever the targets are. It
// and the order it records live in a scratch folder, not beside the release binary.
const scratch = mkdtempSync(path.join(tmpdir(), "lmrelay-build-"));
const profiled = path.join(scratch, "lmrelay-profiled");
const orderFile = path.join(scratch, "bytecode-order.txt");
let why: string | undefined;
try {
  compile(undefined, profiled);
  why = await recordBytecodeOrder(profiled, orderFile);
  if (why) console.warn(`build: no bytecode order (${why}); building without it`);
  for (const target of targets ?? [undefined]) {
    const name = target ? `lmrelay-${target.replace(/^bun-/, "")}` : "lmrelay";
    const outfile = path.join(dist, target?.includes("windows") ? `${name}.exe` : name);
    compile(target, outfile, why ? undefined : orderFile);
    console.log(`built ${path.relative(root, outfile)} (${commit}, ${(statSync(outfile).size / 1e6).toFixed(1)} MB)`);
  }
} catch (e) {
  if (!(e instanceof BuildFailed)) throw e;
  process.exitCode = e.code;
} finally {
  rmSync(scratch, { recursive: true, force: true });
  dropMaps();
}

function compile(target: string | undefined, outfile: string, order?: string): void {
  const cmd = [
    "bun", "build", "--compile", "--splitting", "--minify", "--sourcemap", "--bytecode", "--format=esm",
    `--compile-jit-policy=${JIT_POLICY}`,
    ...(order ? [`--bytecode-order=${order}`] : []),
    // A service reads its environment from systemd, not from whatever .env sits in its cwd.
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    "--asset", "./src/store/migrations",
    "--asset", "./src/store/postgres/pg-migrations",
    `--define`, `LMRELAY_COMMIT=${JSON.stringify(commit)}`,
    ...(target ? [`--target=${target}`] : []),
    ...(target && executable ? [`--compile-executable-path=${executable}`] : []),
    // The audit writer runs on a Worker: its file is an entry point of its own (src/store/audit.ts).
    "src/main.ts", "src/store/audit-worker.ts", "--outfile", outfile,
  ];
  const proc = Bun.spawnSync(cmd, { cwd: root, stdout: "ignore", stderr: "inherit" });
  if (proc.exitCode !== 0) {
    if (target && !executable) console.error(`(cross-compiling for ${target} needs its Bun runtime: network access to the npm registry, or --executable PATH)`);
    throw new BuildFailed(proc.exitCode ?? 1);
  }
}


function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(2);
}
