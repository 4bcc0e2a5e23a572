import path from "node:path";
import { defaultConfigPath, loadConfig } from "../config/load";
import type { ResolvedConfig } from "../config/resolve";
import { type ParsedArgs, stringFlag } from "./argv";

// What the commands share beyond argv parsing (./argv): finding and loading the config.

export { type ParsedArgs, parseArgs, stringFlag, unknownFlags } from "./argv";

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
