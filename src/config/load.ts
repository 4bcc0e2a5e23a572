import { existsSync } from "node:fs";
import path from "node:path";
import { plugin } from "bun";
import * as sdk from "../sdk";
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
  if (!existsSync(abs)) throw new ConfigError(abs, [{ path: "", message: "config file not found" }]);
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
    throw new ConfigError(abs, [{ path: "", message: e instanceof LoadTimeout ? e.message : describeLoadError(e) }]);
  } finally {
    clearTimeout(timer);
  }
  if (mod.default === undefined)
    throw new ConfigError(abs, [{ path: "", message: "the file has no default export; write `export default defineConfig({ ... })`" }]);
  return resolveConfig(mod.default, abs);
}

class LoadTimeout extends Error {
  constructor(ms: number) {
    super(`the config did not finish loading within ${ms / 1000} s (a top-level await that never settles?)`);
  }
}

/** Syntax errors arrive as an AggregateError of BuildMessages with positions (notes Q2). */
function describeLoadError(e: unknown): string {
  const errors = e instanceof AggregateError ? e.errors : [e];
  return errors
    .map((err) => {
      const pos = (err as { position?: { line: number; column: number; lineText?: string } }).position;
      const msg = err instanceof Error ? err.message : String(err);
      return pos ? `line ${pos.line}:${pos.column}: ${msg}${pos.lineText ? `\n      ${pos.lineText.trim()}` : ""}` : msg;
    })
    .join("\n    ");
}
