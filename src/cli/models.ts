import path from "node:path";
import { defaultConfigPath, loadConfig } from "../config/load";
import { priceFor } from "../governance/pricing";
import { Catalog } from "../router/catalog";
import { routableNames } from "../router/candidates";
import { type ParsedArgs, stringFlag } from "./args";

// `lmrelay models [--config PATH] [--json]`: every name a client can send as `model` — the aliases
// and `provider/model` for each provider's catalog (configured, or discovered now) — with prices.

export async function modelsCommand(args: ParsedArgs): Promise<number> {
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
  const rows = routableNames(config, catalog).map(({ name, provider }) => {
    if (!provider) return { model: name, alias: true, targets: config.aliases.get(name)!.targets };
    const upstream = name.slice(provider.id.length + 1);
    const price = provider.free ? { input: 0, output: 0 } : priceFor(provider, upstream);
    return { model: name, provider: provider.id, type: provider.type, free: provider.free, price: price ?? null };
  });
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  const lines: string[] = [];
  for (const r of rows) {
    if ("alias" in r) lines.push(`${r.model}  (alias → ${r.targets.join(", ")})`);
    else {
      const cost = r.free ? "free" : r.price ? `$${r.price.input}/$${r.price.output} per M tokens` : "price unknown";
      lines.push(`${r.model}  ${r.type}  ${cost}`);
    }
  }
  for (const p of config.providers.values()) {
    const err = catalog.discoveryError(p.id);
    if (err && catalog.models(p.id).length === 0) lines.push(`(${p.id}: no models discovered: ${err})`);
  }
  process.stdout.write((lines.length ? lines.join("\n") : "(no routable models)") + "\n");
  return 0;
}
