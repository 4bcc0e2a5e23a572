#!/usr/bin/env bun
import { parseCommandLine } from "./cli/argv";
import { allFlags, commandHelp, commandSpec, overview, usageLine } from "./cli/commands";
import { ensureFetchConcurrency } from "./cli/fetch-limit";
import { COMMIT, VERSION } from "./version";

// Only argv parsing, the command table and the fetch-limit re-exec load eagerly: each command's
// modules (and node:fs for --env-file) are imported when used, so `serve` re-executes itself before
// evaluating the program. Every command line goes through one parser (./cli/argv) and one table of
// flags (./cli/commands): `--help` prints the command's help (exit 0), a bad flag exits 2.

type Command = (args: import("./cli/argv").ParsedArgs) => Promise<number> | number;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./cli/serve")).serveCommand,
  check: async () => (await import("./cli/check")).checkCommand,
  init: async () => (await import("./cli/init")).initCommand,
  service: async () => (await import("./cli/service")).serviceCommand,
  models: async () => (await import("./cli/models")).modelsCommand,
  env: async () => (await import("./cli/client-env")).envCommand,
  run: async () => (await import("./cli/client-run")).runCommand,
  logs: async () => (await import("./cli/logs")).logsCommand,
  stats: async () => (await import("./cli/stats")).statsCommand,
  version: async () => () => {
    process.stdout.write(`lmrelay ${VERSION} (${COMMIT})\n`);
    return 0;
  },
  help: async () => (args) => {
    const topic = args.positionals[0];
    if (topic === undefined) {
      process.stdout.write(overview(VERSION));
      return 0;
    }
    const spec = commandSpec(topic);
    if (!spec) {
      process.stderr.write(`lmrelay help: unknown command "${topic}"\n\n${overview(VERSION)}`);
      return 2;
    }
    process.stdout.write(commandHelp(spec));
    return 0;
  },
};

const [command, ...rest] = process.argv.slice(2);
if (!command || command === "--help" || command === "-h") {
  process.stdout.write(overview(VERSION));
  process.exit(command ? 0 : 1);
}
const spec = commandSpec(command);
const load = COMMANDS[command];
if (!spec || !load) {
  process.stderr.write(`lmrelay: unknown command "${command}"\n\n${overview(VERSION)}`);
  process.exit(2);
}
const parsed = parseCommandLine(rest, { flags: new Map(allFlags(spec).map((f) => [f.name, f.value !== undefined])), maxPositionals: spec.maxPositionals, rest: spec.rest });
if (parsed.kind === "help") {
  process.stdout.write(commandHelp(spec));
  process.exit(0);
}
if (parsed.kind === "error") {
  process.stderr.write(`lmrelay ${command}: ${parsed.message}\n${usageLine(spec)}\n(lmrelay help ${command} lists every flag)\n`);
  process.exit(2);
}
const args = parsed.args;
// Read before --env-file can add it: only a value present at process start raises Bun's limit.
const fetchLimitAtStart = process.env.BUN_CONFIG_MAX_HTTP_REQUESTS;
const envFile = args.flags.get("env-file");
if (typeof envFile === "string") {
  try {
    (await import("./cli/envfile")).loadEnvFile(envFile);
  } catch (e) {
    process.stderr.write(`lmrelay: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
if (command === "serve") ensureFetchConcurrency(fetchLimitAtStart);
const run = await load();
process.exit(await run(args));
