import { type ParsedArgs } from "./argv";
import { locateGateway } from "./client-gateway";
import { type ClientName, clientSetup, shellExports } from "./client-setup";
import { CLIENT_NAMES } from "./commands";

// `lmrelay env <client> [--config PATH] [--client NAME] [--model NAME] [--url URL]`: prints the
// shell exports and, for clients that read a file, the snippet to put there. `eval "$(lmrelay env
// claude)"` works: everything but the exports is a comment.

function clientArg(args: ParsedArgs, command: string): ClientName | string {
  const name = args.positionals[0];
  if (!name) return `lmrelay ${command}: name a client: ${CLIENT_NAMES.join(", ")}`;
  if (!(CLIENT_NAMES as readonly string[]).includes(name)) return `lmrelay ${command}: unknown client "${name}" (clients: ${CLIENT_NAMES.join(", ")})`;
  return name as ClientName;
}

function isClient(v: string): v is ClientName {
  return (CLIENT_NAMES as readonly string[]).includes(v);
}

/** What `env` and `run` both start from: the client named and where the gateway is; or the exit
 *  code, the reason already written (2: the arguments, 1: no gateway found). */
export async function clientAndGateway(args: ParsedArgs, command: "env" | "run"): Promise<{ client: ClientName; located: Awaited<ReturnType<typeof locateGateway>> } | number> {
  const client = clientArg(args, command);
  if (!isClient(client)) {
    process.stderr.write(client + "\n");
    return 2;
  }
  try {
    return { client, located: await locateGateway(args) };
  } catch (e) {
    process.stderr.write(`lmrelay ${command}: ${(e as Error).message}\n`);
    return 1;
  }
}

export async function envCommand(args: ParsedArgs): Promise<number> {
  const start = await clientAndGateway(args, "env");
  if (typeof start === "number") return start;
  const { client, located } = start;
  const { gateway } = located;
  const setup = clientSetup(client, gateway);
  const out = [`# ${setup.title} → lmrelay at ${gateway.root} (${located.source})`];
  if (gateway.keyIsPlaceholder)
    out.push(`# this gateway requires a client key: pass --client NAME (a client of the config) or set LMRELAY_API_KEY`);
  out.push(...shellExports(setup.env));
  if (setup.file) {
    out.push("", `# ${setup.file.path}:`, ...setup.file.content.split("\n").map((l) => `#   ${l}`));
  }
  out.push("", ...setup.notes.map((n) => `# ${n}`));
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
