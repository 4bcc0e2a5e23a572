#!/usr/bin/env bun
import { parseArgs } from "./cli/argv";
import { ensureFetchConcurrency } from "./cli/fetch-limit";
import { COMMIT, VERSION } from "./version";

// Only argv parsing and the fetch-limit re-exec load eagerly: each command's modules (and node:fs for
// --env-file) are imported when used, so `serve` re-executes itself before evaluating the program.

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

type Command = (args: ReturnType<typeof parseArgs>) => Promise<number> | number;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./cli/serve")).serveCommand,
  check: async () => (await import("./cli/check")).checkCommand,
  init: async () => (await import("./cli/init")).initCommand,
  service: async () => (await import("./cli/service")).serviceCommand,
  models: async () => (await import("./cli/models")).modelsCommand,
  logs: async () => (await import("./cli/logs")).logsCommand,
  stats: async () => (await import("./cli/stats")).statsCommand,
  version: async () => () => {
    process.stdout.write(`lmrelay ${VERSION} (${COMMIT})\n`);
    return 0;
  },
};

const [command, ...rest] = process.argv.slice(2);
if (!command || command === "help" || command === "--help" || command === "-h") {
  process.stdout.write(USAGE);
  process.exit(command ? 0 : 1);
}
const load = COMMANDS[command];
if (!load) {
  process.stderr.write(`lmrelay: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}
const args = parseArgs(rest, BOOLEAN_FLAGS);
// Read before --env-file can add it: only a value present at process start raises Bun's limit.
const fetchLimitAtStart = process.env.BUN_CONFIG_MAX_HTTP_REQUESTS;
const envFile = args.flags.get("env-file");
if (envFile !== undefined) {
  try {
    if (envFile === true) throw new Error("--env-file needs a path");
    (await import("./cli/envfile")).loadEnvFile(envFile);
  } catch (e) {
    process.stderr.write(`lmrelay: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
if (command === "serve") ensureFetchConcurrency(fetchLimitAtStart);
const run = await load();
process.exit(await run(args));
