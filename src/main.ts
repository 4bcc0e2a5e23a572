#!/usr/bin/env bun
import { ensureFetchConcurrency } from "./cli/fetch-limit";
import { parseArgs } from "./cli/args";
import { checkCommand } from "./cli/check";
import { loadEnvFile } from "./cli/envfile";
import { initCommand } from "./cli/init";
import { logsCommand } from "./cli/logs";
import { modelsCommand } from "./cli/models";
import { serveCommand } from "./cli/serve";
import { serviceCommand } from "./cli/service";
import { statsCommand } from "./cli/stats";
import { COMMIT, VERSION } from "./version";

const USAGE = `lmrelay ${VERSION} — one port for OpenAI, Anthropic and Ollama clients; many providers behind it.

Usage:
  lmrelay serve [--config PATH] [--host HOST] [--port PORT]   run the gateway
        [--no-watch] [--drain-timeout SECONDS] [--log-level L]   (reloads on config change and SIGHUP)
  lmrelay check [--config PATH]                               validate the config, print the routing table
  lmrelay models [--config PATH] [--json]                     list the model names clients can use, with prices
  lmrelay init [DIR] [--force] [--types]                      write a starter config and editor types
  lmrelay service install [--user] [--dry-run] [--config PATH] write a systemd unit
  lmrelay logs [--client C] [--model M] [--provider P] [--status 429|5xx|error]
        [--since 1h|2025-11-01] [--limit N] [--json] [--config PATH|--db PATH]   query the audit log
  lmrelay stats [--since 24h] [--json] [--config PATH|--db PATH]  requests, errors, latency, tokens, spend
  lmrelay version                                             print version and commit

Every command takes --env-file PATH: KEY=value lines added to the environment (the environment wins).
`;

/** Flags that never take a value, so \`init --force DIR\` keeps DIR as a positional. */
const BOOLEAN_FLAGS = ["force", "types", "user", "dry-run", "no-watch", "json"];

const COMMANDS: Record<string, (args: ReturnType<typeof parseArgs>) => Promise<number> | number> = {
  serve: serveCommand,
  check: checkCommand,
  init: initCommand,
  service: serviceCommand,
  models: (args) => modelsCommand(args),
  logs: (args) => logsCommand(args),
  stats: (args) => statsCommand(args),
  version: () => {
    process.stdout.write(`lmrelay ${VERSION} (${COMMIT})\n`);
    return 0;
  },
};

const [command, ...rest] = process.argv.slice(2);
if (!command || command === "help" || command === "--help" || command === "-h") {
  process.stdout.write(USAGE);
  process.exit(command ? 0 : 1);
}
const run = COMMANDS[command];
if (!run) {
  process.stderr.write(`lmrelay: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}
const args = parseArgs(rest, BOOLEAN_FLAGS);
const envFile = args.flags.get("env-file");
if (envFile !== undefined) {
  try {
    if (envFile === true) throw new Error("--env-file needs a path");
    loadEnvFile(envFile);
  } catch (e) {
    process.stderr.write(`lmrelay: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
if (command === "serve") ensureFetchConcurrency();
process.exit(await run(args));
