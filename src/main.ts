#!/usr/bin/env bun
import { parseArgs } from "./cli/args";
import { checkCommand } from "./cli/check";
import { serveCommand } from "./cli/serve";
import { COMMIT, VERSION } from "./version";

const USAGE = `lmrelay ${VERSION} — one port for OpenAI, Anthropic and Ollama clients; many providers behind it.

Usage:
  lmrelay serve [--config PATH] [--host HOST] [--port PORT]   run the gateway
  lmrelay check [--config PATH]                               validate the config, print the routing table
  lmrelay version                                             print version and commit
`;

const COMMANDS: Record<string, (args: ReturnType<typeof parseArgs>) => Promise<number> | number> = {
  serve: serveCommand,
  check: checkCommand,
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
process.exit(await run(parseArgs(rest)));
