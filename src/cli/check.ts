import path from "node:path";
import { defaultConfigPath, loadConfig } from "../config/load";
import { Catalog } from "../router/catalog";
import { resolveCandidates } from "../router/candidates";
import { type ParsedArgs, stringFlag } from "./args";

// `lmrelay check [--config PATH]`: validate the config and print what it resolves to.

export async function checkCommand(args: ParsedArgs): Promise<number> {
  const file = path.resolve(stringFlag(args, "config") ?? defaultConfigPath());
  let config;
  try {
    config = await loadConfig(file);
  } catch (e) {
    process.stderr.write(`lmrelay: ${(e as Error).message}\n`);
    return 1;
  }
  const catalog = new Catalog();
  await catalog.load(config, { wait: true });
  catalog.stop();
  const out: string[] = [`config ${file}: ok`, "", "providers:"];
  for (const p of config.providers.values()) {
    const models = catalog.models(p.id);
    const err = catalog.discoveryError(p.id);
    const keys = p.keys.length ? `${p.keys.length} key${p.keys.length > 1 ? "s" : ""} (${p.keys.map((k) => k.name).join(", ")})` : "no key";
    out.push(`  ${p.id}  type=${p.type}  ${p.baseUrl}  ${keys}${p.free ? "  free" : ""}`);
    out.push(`    models (${p.models ? "configured" : "discovered"}): ${models.length ? models.join(", ") : err ? `unavailable: ${err}` : "none"}`);
  }
  out.push("", "aliases:");
  if (config.aliases.size === 0) out.push("  (none)");
  for (const a of config.aliases.values()) {
    let chain: string;
    try {
      chain = resolveCandidates(config, catalog, a.name).candidates.map((c) => `${c.provider.id}/${c.model}`).join(" → ") || "(no reachable target)";
    } catch (e) {
      chain = (e as Error).message;
    }
    out.push(`  ${a.name}${a.strategy ? ` [${a.strategy}]` : ""}: ${a.targets.join(", ")}`, `    resolves to: ${chain}`);
  }
  out.push("", `clients: ${config.clients.size ? [...config.clients.values()].map((c) => `${c.id} (${c.fingerprint})`).join(", ") : "(none: the gateway is open)"}`);
  out.push(`listen: ${config.server.host}:${config.server.port}   storage: ${config.storagePath}`);
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
