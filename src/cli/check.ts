import { existsSync } from "node:fs";
import type { ResolvedConfig } from "../config/resolve";
import { HealthStore } from "../health/store";
import { HealthTracker } from "../health/tracker";
import { openDatabase } from "../store/db";
import { Catalog } from "../router/catalog";
import { type AliasVerdict, aliasVerdicts, routingTable } from "../router/table";
import { loadConfigArg, type ParsedArgs } from "./args";
import { engineLines } from "./check-engines";

// `lmrelay check [--config PATH] [--strict]`: validate the config and print what it resolves to:
// every provider (disabled ones with why), each alias's targets marked usable or skipped, a verdict
// per alias. `--strict` fails when an alias has no usable target.

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
  // Switched-off providers are listed too: a chain that skips them must not look shorter for no reason.
  for (const d of config.disabled?.values() ?? []) out.push(`  ${d.id}  type=${d.type}  disabled: ${d.reason}`);
  out.push("", `routing: strategy ${config.routing.strategy}, keys ${config.routing.keyRotation}, maxAttempts ${config.routing.maxAttempts}, timeout ${config.routing.timeoutMs} ms${config.routing.route ? ", route() set (not run here)" : ""}`);
  const health = storedHealth(config);
  const verdicts = new Map(aliasVerdicts(config, catalog, health).map((v) => [v.alias, v]));
  for (const line of routingTable(config, catalog, health)) {
    const aliasStrategy = config.aliases.get(line.name)?.strategy;
    const label = line.alias ? `${line.name} [alias, ${aliasStrategy ?? "written order"}]` : line.name;
    const verdict = line.alias ? verdicts.get(line.name) : undefined;
    if (verdict) {
      out.push(`  ${label}: ${verdictText(verdict)}`);
      for (const t of verdict.targets) out.push(`    ${t.target}  ${t.note}`);
      // (An alias with every target disabled has no chain; the marks above say why.)
      if (line.chain.length) out.push(`    try order: ${line.chain.map((c, i) => `${i + 1}. ${c}`).join("  ")}`);
      for (const s of line.skipped) out.push(`    skipped ${s}`);
      continue;
    }
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
  out.push(...(await engineLines(config)));
  if (verdicts.size) out.push("", "aliases:", ...[...verdicts.values()].map((v) => `  ${v.alias}: ${verdictText(v)}`));
  process.stdout.write(out.join("\n") + "\n");
  const dead = [...verdicts.values()].filter((v) => v.usable === 0);
  if (dead.length && args.flags.has("strict")) {
    process.stderr.write(`lmrelay check: --strict: ${dead.map((v) => `"${v.alias}"`).join(", ")} ${dead.length === 1 ? "has" : "have"} no usable target\n`);
    return 1;
  }
  return 0;
}

function verdictText(v: AliasVerdict): string {
  return `${v.usable} of ${v.targets.length} target${v.targets.length === 1 ? "" : "s"} usable`;
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
