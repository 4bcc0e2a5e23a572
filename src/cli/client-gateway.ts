import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { defaultConfigPath, loadConfig } from "../config/load";
import type { ResolvedConfig } from "../config/resolve";
import { type ParsedArgs, stringFlag } from "./argv";
import type { Gateway } from "./client-setup";
import { loadEnvFile } from "./envfile";
import { parseUnit, unitPath } from "./service-unit";

// Where `lmrelay env` and `lmrelay run` find the gateway: `--url`, else the config (`--config`,
// else ./lmrelay.config.ts, else the one the installed service unit runs), whose server address,
// client keys and aliases give the base URL, the key and the model names.

export interface Located {
  gateway: Gateway;
  /** Where the address came from, for the printed header. */
  source: string;
  config?: ResolvedConfig;
}

const PLACEHOLDER = "<your lmrelay client key>";

export async function locateGateway(args: ParsedArgs, env: Record<string, string | undefined> = process.env): Promise<Located> {
  const url = stringFlag(args, "url");
  const found = await findConfig(args, env);
  const config = found ? await loadConfig(found.file) : undefined;
  const root = url ? url.replace(/\/+$/, "").replace(/\/v1$/, "") : config ? rootOf(config) : undefined;
  if (!root)
    throw new Error(
      "no gateway found: no --config, no ./lmrelay.config.ts and no installed lmrelay service; pass --config PATH or --url URL (lmrelay init writes a config)",
    );
  const { key, keyIsPlaceholder } = clientKey(args, config, env);
  const [model, fastModel] = modelNames(args, config);
  return {
    gateway: { root, key, keyIsPlaceholder, model, fastModel },
    source: url ? `--url ${url}` : found!.source,
    config,
  };
}

async function findConfig(args: ParsedArgs, env: Record<string, string | undefined>): Promise<{ file: string; source: string } | undefined> {
  const flag = stringFlag(args, "config");
  if (flag) return { file: path.resolve(flag), source: `config ${path.resolve(flag)}` };
  const here = defaultConfigPath();
  if (existsSync(here)) return { file: here, source: `config ${here}` };
  if (stringFlag(args, "url")) return undefined;
  for (const user of [true, false]) {
    const unit = unitPath("lmrelay", user, env);
    if (!existsSync(unit)) continue;
    const service = serviceConfig(readFileSync(unit, "utf8"));
    if (!service) continue;
    // The service reads its keys from EnvironmentFile=; without them its config may not load.
    if (service.envFile && existsSync(service.envFile)) {
      try {
        loadEnvFile(service.envFile, env);
      } catch {
        // Unreadable (root-only .env): the config's own env() errors then name what is missing.
      }
    }
    return { file: service.config, source: `config ${service.config} (from the service unit ${unit})` };
  }
  return undefined;
}

/** The `--config` path and EnvironmentFile= of a unit `lmrelay service install` wrote. */
export function serviceConfig(unitText: string): { config: string; envFile?: string } | undefined {
  const service = parseUnit(unitText).get("Service");
  const exec = service?.get("ExecStart")?.at(-1);
  if (!exec) return undefined;
  const words = [...exec.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    (m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!).replace(/%%/g, "%").replace(/\$\$/g, "$"),
  );
  const at = words.indexOf("--config");
  if (at === -1 || !words[at + 1]) return undefined;
  const envFile = service?.get("EnvironmentFile")?.at(-1)?.replace(/^-/, "");
  return { config: words[at + 1]!, envFile };
}

/** The address a local client reaches: a wildcard listen address means this machine. */
export function rootOf(config: ResolvedConfig): string {
  let host = config.server.host;
  if (host === "0.0.0.0" || host === "::" || host === "") host = "127.0.0.1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${config.server.port}`;
}

function clientKey(args: ParsedArgs, config: ResolvedConfig | undefined, env: Record<string, string | undefined>): { key: string; keyIsPlaceholder: boolean } {
  const name = stringFlag(args, "client");
  if (name) {
    if (!config) throw new Error("--client needs the config that defines the client (--config PATH)");
    const client = config.clients.get(name);
    if (!client) {
      const known = [...config.clients.keys()];
      throw new Error(`no client "${name}" in ${config.file}${known.length ? ` (clients: ${known.join(", ")})` : " (it defines no clients)"}`);
    }
    return { key: client.secret, keyIsPlaceholder: false };
  }
  if (env.LMRELAY_API_KEY) return { key: env.LMRELAY_API_KEY, keyIsPlaceholder: false };
  // An open gateway (no client keys) takes any key; clients still insist on sending one.
  if (config && config.clients.size === 0) return { key: "lmrelay", keyIsPlaceholder: false };
  return { key: PLACEHOLDER, keyIsPlaceholder: true };
}

/** `--model`, else the config's aliases: smart/default first, fast for background work. */
function modelNames(args: ParsedArgs, config: ResolvedConfig | undefined): [string, string] {
  const flag = stringFlag(args, "model");
  const aliases = config ? [...config.aliases.keys()] : [];
  const pick = (names: string[]) => names.find((n) => aliases.includes(n));
  // No alias: the first model a provider lists in the config (discovered ones need the network).
  const listed = config ? [...config.providers.values()].find((p) => p.models?.length) : undefined;
  const model = flag ?? pick(["smart", "default"]) ?? aliases[0] ?? (listed ? `${listed.id}/${listed.models![0]}` : "<model>");
  return [model, pick(["fast"]) ?? model];
}
