import { priceFor } from "../governance/pricing";
import { Catalog } from "../router/catalog";
import { routableNames } from "../router/candidates";
import { loadConfigArg, type ParsedArgs } from "./args";

// `lmrelay models [--config PATH] [--json]`: every name a client can send as `model` — the aliases
// and `provider/model` for each provider's catalog (configured, or discovered now) — with prices.

export async function modelsCommand(args: ParsedArgs): Promise<number> {
  const loaded = await loadConfigArg(args);
  if (!loaded) return 1;
  const { file, config } = loaded;
  const catalog = new Catalog();
  await catalog.load(config, { wait: true });
  catalog.stop();
  type Row =
    | { model: string; alias: true; targets: string[] }
    | { model: string; alias?: undefined; provider: string; type: string; free: boolean; price: { input: number; output: number } | null };
  const rows = routableNames(config, catalog).map(({ name, provider }): Row => {
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
    if (r.alias) lines.push(`${r.model}  (alias → ${r.targets.join(", ")})`);
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
