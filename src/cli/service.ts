import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../config/load";
import { configPathArg, type ParsedArgs, stringFlag, unknownFlags } from "./args";
import { parseEnvFile } from "./envfile";
import { renderUnit, systemctlCommands, type UnitOptions, underHome, unitPath } from "./service-unit";

// `lmrelay service install [--user] [--dry-run] [--config PATH] [--env-file PATH] [--name NAME]
// [--binary PATH] [--force]`: writes a hardened systemd unit for `lmrelay serve` and prints the
// systemctl commands to start it. `--dry-run` prints the unit instead of writing it.

const FLAGS = ["user", "dry-run", "config", "env-file", "name", "binary", "force"];
const USAGE = `usage: lmrelay service install [--user] [--dry-run] [--config PATH] [--env-file PATH] [--name NAME] [--binary PATH] [--force]
  --user        a per-user service (systemctl --user) instead of a system one
  --dry-run     print the unit; write nothing
  --config      the config file the service runs (default ./lmrelay.config.ts)
  --env-file    KEY=value file with the keys (default .env beside the config, optional)
  --name        unit and state directory name (default lmrelay)
  --binary      the lmrelay executable (default: this one)
  --force       replace an existing, different unit file
`;

/** The command line that starts this lmrelay: the compiled binary itself, or bun + main.ts. */
export function selfCommand(): string[] {
  // In a compiled binary the entry module lives in Bun's embedded file system.
  const compiled = Bun.main.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/.test(Bun.main);
  return compiled ? [process.execPath] : [process.execPath, path.resolve(Bun.main)];
}

export async function serviceCommand(args: ParsedArgs): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (sub !== "install" || extra.length) {
    process.stderr.write(`lmrelay service: ${sub ? `unknown subcommand "${[sub, ...extra].join(" ")}"` : "missing subcommand"}\n${USAGE}`);
    return 2;
  }
  const bad = unknownFlags(args, FLAGS);
  if (bad) {
    process.stderr.write(`lmrelay service install: ${bad}\n${USAGE}`);
    return 2;
  }
  const user = args.flags.has("user");
  const dryRun = args.flags.has("dry-run");
  const name = stringFlag(args, "name") ?? "lmrelay";
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/.test(name)) return fail(`--name must be a plain unit name, got "${name}"`);
  const configFile = configPathArg(args);
  const envFlag = stringFlag(args, "env-file");
  const binary = stringFlag(args, "binary");
  const opts: UnitOptions = {
    name,
    user,
    command: binary ? [path.resolve(binary)] : selfCommand(),
    configFile,
    envFile: envFlag ? path.resolve(envFlag) : path.join(path.dirname(configFile), ".env"),
    envFileRequired: envFlag !== undefined,
  };
  const warnings = await preflight(opts);
  const unit = renderUnit(opts);
  if (dryRun) {
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(unit);
    return 0;
  }
  if (!existsSync(configFile)) return fail(`config ${configFile} not found (lmrelay init writes a starter one)`);

  const file = unitPath(name, user);
  let previous: string | undefined;
  try {
    previous = readFileSync(file, "utf8");
  } catch {}
  if (previous !== undefined && previous !== unit && !args.flags.has("force"))
    return fail(`${file} exists and differs; --force replaces it (--dry-run shows the new one)`);
  if (previous !== unit) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, unit, { mode: 0o644 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(`cannot write ${file}: ${code === "EACCES" || code === "EPERM" ? "permission denied (run it with sudo, or use --user)" : (e as Error).message}`);
    }
  }
  const out = [previous === unit ? `${file} is already up to date` : `wrote ${file}`];
  for (const w of warnings) out.push(`warning: ${w}`);
  out.push("", "now run:", ...systemctlCommands(name, user).map((c) => `  ${c}`));
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

/** Problems that would stop the service from starting, found before it is installed. */
async function preflight(o: UnitOptions): Promise<string[]> {
  const warnings: string[] = [];
  if (!existsSync(o.configFile)) {
    warnings.push(`config ${o.configFile} does not exist yet`);
    return warnings;
  }
  if (o.envFileRequired && !existsSync(o.envFile)) warnings.push(`env file ${o.envFile} does not exist; the service will not start without it`);
  const files = [o.configFile, o.envFile, o.command[0]!, o.command[1] ?? ""];
  if (files.some((f) => f.startsWith("/tmp/") || f.startsWith("/var/tmp/")))
    warnings.push("the binary, config or env file lives under /tmp, which the service does not see (PrivateTmp=yes); move them elsewhere");
  if (!o.user && [o.configFile, o.command[0]!, o.command[1] ?? ""].some(underHome))
    warnings.push("the binary or config lives in a home folder; a system service runs as its own user and may not be able to read it (move them to /usr/local/bin and /etc/lmrelay)");
  // Load the config as the service would (keys from the env file, LMRELAY_DB set) to check that the
  // database lands in the state directory: elsewhere ProtectSystem=strict makes it read-only.
  const stateDb = path.join(o.user ? path.join(process.env.XDG_STATE_HOME || path.join(process.env.HOME || "~", ".local/state"), o.name) : `/var/lib/${o.name}`, "lmrelay.db");
  const saved = { ...process.env };
  try {
    try {
      for (const [k, v] of parseEnvFile(readFileSync(o.envFile, "utf8"))) if (!process.env[k]) process.env[k] = v;
    } catch {}
    process.env.LMRELAY_DB = stateDb;
    const config = await loadConfig(o.configFile);
    if (config.storagePath !== stateDb)
      warnings.push(
        `the config stores its database at ${config.storagePath}, which the service cannot write (ProtectSystem=strict); use storage: { path: env("LMRELAY_DB", "lmrelay.db") }`,
      );
  } catch (e) {
    warnings.push(`could not load the config to check it (${(e as Error).message.split("\n").slice(0, 2).join(" ").trim()}); run lmrelay check`);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return warnings;
}

function fail(message: string): number {
  process.stderr.write(`lmrelay service install: ${message}\n`);
  return 1;
}
