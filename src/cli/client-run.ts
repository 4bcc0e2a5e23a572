import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ParsedArgs } from "./argv";
import { clientAndGateway } from "./client-env";
import { type ClientSetup, clientSetup } from "./client-setup";

// `lmrelay run <client> [flags] [-- ARGS…]`: starts the client (or, for the SDK entries, the command
// after `--`) with the environment `lmrelay env` prints, passes the terminal through, and exits
// with the client's exit code. Signals reach the child through the shared process group.

export async function runCommand(args: ParsedArgs): Promise<number> {
  const start = await clientAndGateway(args, "run");
  if (typeof start === "number") return start;
  const { client, located } = start;
  const setup = clientSetup(client, located.gateway);
  if (!setup.runnable) {
    process.stderr.write(`lmrelay run: ${setup.title} is configured by a file, not started from here: lmrelay env ${client} prints it\n`);
    return 2;
  }
  if (located.gateway.keyIsPlaceholder) {
    process.stderr.write(`lmrelay run: this gateway requires a client key: pass --client NAME (a client of ${located.config?.file ?? "the config"}) or set LMRELAY_API_KEY\n`);
    return 1;
  }
  const rest = args.rest ?? [];
  const argv = [...(setup.command ?? []), ...rest];
  if (argv.length === 0) {
    process.stderr.write(`lmrelay run ${client}: name the program to run after --, e.g. lmrelay run ${client} -- python app.py\n`);
    return 2;
  }
  const program = Bun.which(argv[0]!);
  if (!program) {
    process.stderr.write(`lmrelay run: ${argv[0]} is not on PATH (lmrelay env ${client} prints the settings to use it elsewhere)\n`);
    return 127;
  }
  const env: Record<string, string | undefined> = { ...process.env, ...setup.env };
  let files: string | undefined;
  try {
    files = writeRunFiles(setup, env);
  } catch (e) {
    process.stderr.write(`lmrelay run: cannot write the settings file ${client} needs: ${(e as Error).message}\n`);
    return 1;
  }
  const child = Bun.spawn([program, ...argv.slice(1)], { env, stdio: ["inherit", "inherit", "inherit"] });
  // The terminal sends Ctrl-C to the whole foreground group: let the child decide, then follow it.
  const ignore = () => {};
  process.on("SIGINT", ignore);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  const code = await child.exited;
  if (files) rmSync(files, { recursive: true, force: true });
  const signal = child.signalCode;
  if (!signal) return code;
  return 128 + (typeof signal === "number" ? signal : (os.constants.signals[signal] ?? 0));
}

/** Writes the files a client takes only from disk into a fresh folder under the user's cache (Gemini
 *  CLI ignores a settings file below a world-writable folder such as /tmp), and points each
 *  variable at its file. Returns the folder, removed when the client exits. */
function writeRunFiles(setup: ClientSetup, env: Record<string, string | undefined>): string | undefined {
  if (!setup.runFiles?.length) return undefined;
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache");
  mkdirSync(path.join(cache, "lmrelay"), { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(path.join(cache, "lmrelay", "run-"));
  for (const f of setup.runFiles) {
    if (env[f.envVar]) continue; // the user's own file wins
    const file = path.join(dir, f.fileName);
    writeFileSync(file, f.content, { mode: 0o600 });
    env[f.envVar] = file;
  }
  return dir;
}
