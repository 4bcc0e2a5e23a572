import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { plugin } from "bun";
import * as sdk from "../sdk";
import { adminKeyVariable, describeSyntaxError, explainDisabled, locateProblems } from "./annotate";
import { ConfigError, type ResolvedConfig, resolveConfig } from "./resolve";

// Loads the user's `lmrelay.config.ts`. `import ... from "lmrelay"` inside it is served by a Bun
// virtual module (works in the compiled binary with no node_modules, notes Q2). Reloads drop the
// module cache of every file under the config's folder so edited helpers are seen too (notes Q4).

let registered = false;
export function registerSdkModule(): void {
  if (registered) return;
  registered = true;
  plugin({
    name: "lmrelay-sdk",
    setup(build) {
      build.module("lmrelay", () => ({ exports: { ...sdk }, loader: "object" }));
    },
  });
}

/** Bumped after a load whose module threw: that path stays poisoned in Bun's loader (notes Q4). */
let generation = 0;

export function defaultConfigPath(): string {
  return path.resolve("lmrelay.config.ts");
}

/** `timeoutMs`: give up on a config whose top level never settles (a reload must not hang). */
export async function loadConfig(file: string, opts: { timeoutMs?: number } = {}): Promise<ResolvedConfig> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new ConfigError(abs, [{ path: "", message: notFoundMessage(abs) }]);
  registerSdkModule();
  const dir = path.dirname(abs) + path.sep;
  for (const key of Object.keys(require.cache)) if (key.startsWith(dir)) delete require.cache[key];
  let mod: { default?: unknown };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const loading = import(generation ? `${abs}?gen=${generation}` : abs);
    mod = opts.timeoutMs === undefined
      ? await loading
      : await Promise.race([loading, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LoadTimeout(opts.timeoutMs!)), opts.timeoutMs)))]);
  } catch (e) {
    // A module that threw, or is still pending, stays so under its path: the next load uses another.
    generation++;
    throw new ConfigError(abs, [{ path: "", message: e instanceof LoadTimeout ? e.message : describeLoadError(e, sourceOf(abs)) }]);
  } finally {
    clearTimeout(timer);
  }
  if (mod.default === undefined)
    throw new ConfigError(abs, [{ path: "", message: "the file has no default export; write `export default defineConfig({ ... })`" }]);
  const source = sourceOf(abs);
  let config: ResolvedConfig;
  try {
    config = resolveConfig(mod.default, abs);
  } catch (e) {
    throw e instanceof ConfigError && source !== undefined ? locateProblems(e, source) : e;
  }
  if (source !== undefined) {
    explainDisabled(config, source);
    if (!config.adminKey) config.adminKeyVariable = adminKeyVariable(source);
  }
  return config;
}

function sourceOf(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** A missing default config is most often a first run: say how to make one. */
function notFoundMessage(abs: string): string {
  const isDefault = abs === defaultConfigPath();
  return isDefault
    ? "config file not found; run `lmrelay init` to write a starter config here (or pass --config PATH)"
    : "config file not found (`lmrelay init DIR` writes a starter config)";
}

class LoadTimeout extends Error {
  constructor(ms: number) {
    super(`the config did not finish loading within ${ms / 1000} s (a top-level await that never settles?)`);
  }
}

/** Syntax errors arrive as an AggregateError of BuildMessages with positions (notes Q2). Only the
 *  first is reported: the rest are the parser's cascade after it lost its place. */
function describeLoadError(e: unknown, source: string | undefined): string {
  const first = e instanceof AggregateError && e.errors.length ? e.errors[0] : e;
  const pos = (first as { position?: { line: number; column: number } }).position;
  const msg = first instanceof Error ? first.message : String((first as { message?: unknown })?.message ?? first);
  return pos ? describeSyntaxError(msg, pos.line, pos.column, source) : msg;
}
