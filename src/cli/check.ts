import { existsSync } from "node:fs";
import type { ResolvedConfig } from "../config/resolve";
import { HealthStore } from "../health/store";
import { HealthTracker } from "../health/tracker";
import { openDatabase } from "../store/db";
import { Catalog } from "../router/catalog";
import { routingTable } from "../router/table";
import { loadConfigArg, type ParsedArgs } from "./args";

// `lmrelay check [--config PATH]`: validate the config and print what it resolves to.

export async function checkCommand(args: ParsedArgs): Promise<number> {
  const loaded = await loadConfigArg(args);
  if (!loaded) return 1;
  const { file, config } = loaded;
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
  out.push("", `routing: strategy ${config.routing.strategy}, keys ${config.routing.keyRotation}, maxAttempts ${config.routing.maxAttempts}, timeout ${config.routing.timeoutMs} ms${config.routing.route ? ", route() set (not run here)" : ""}`);
  const health = storedHealth(config);
  for (const line of routingTable(config, catalog, health)) {
    const label = line.alias ? `${line.name} [alias, ${line.strategy === "written" ? "written order" : line.strategy}]` : line.name;
    if (line.error) {
      out.push(`  ${label}: ${line.error}`);
      continue;
    }
    out.push(line.chain.length ? `  ${label}:` : `  ${label}: (nothing routable now)`);
    line.chain.forEach((c, i) => out.push(`    ${i + 1}. ${c}`));
    for (const s of line.skipped) out.push(`    skipped ${s}`);
  }
  out.push("", `clients: ${config.clients.size ? [...config.clients.values()].map((c) => `${c.id} (${c.fingerprint})`).join(", ") : "(none: the gateway is open)"}`);
  out.push(`listen: ${config.server.host}:${config.server.port}   storage: ${config.storagePath}`);
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

/** Health and cooldowns as the server last stored them (nothing when there is no database yet). */
function storedHealth(config: ResolvedConfig): HealthTracker {
  const health = new HealthTracker(config);
  if (config.storagePath === ":memory:" || !existsSync(config.storagePath)) return health;
  try {
    const db = openDatabase(config.storagePath);
    try {
      new HealthStore(db, health).load();
    } finally {
      db.$client.close();
    }
  } catch (e) {
    process.stderr.write(`lmrelay: cannot read stored health from ${config.storagePath}: ${(e as Error).message}\n`);
  }
  return health;
}
