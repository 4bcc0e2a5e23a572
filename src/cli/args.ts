import path from "node:path";
import { defaultConfigPath, loadConfig } from "../config/load";
import type { ResolvedConfig } from "../config/resolve";
// Tiny argv parser: `--flag value`, `--flag=value`, boolean `--flag`, and positionals.

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq !== -1) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (booleanFlags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1]!.startsWith("--")) flags.set(a.slice(2), true);
    else flags.set(a.slice(2), argv[++i]!);
  }
  return { positionals, flags };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** A message naming the first flag a command does not take, or undefined when all are known. */
export function unknownFlags(args: ParsedArgs, known: readonly string[]): string | undefined {
  for (const name of args.flags.keys()) if (!known.includes(name)) return `unknown flag --${name} (takes: ${known.map((k) => `--${k}`).join(", ")})`;
  return undefined;
}

/** The config file a command works on: `--config PATH`, else `./lmrelay.config.ts`. */
export function configPathArg(args: ParsedArgs): string {
  return path.resolve(stringFlag(args, "config") ?? defaultConfigPath());
}

/** Loads the command's config; on failure prints the error (file, field, reason) and returns undefined. */
export async function loadConfigArg(args: ParsedArgs): Promise<{ file: string; config: ResolvedConfig } | undefined> {
  const file = configPathArg(args);
  try {
    return { file, config: await loadConfig(file) };
  } catch (e) {
    process.stderr.write(`lmrelay: ${(e as Error).message}\n`);
    return undefined;
  }
}
