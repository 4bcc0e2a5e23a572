import { CATALOG_SOURCE, modelFacts } from "../catalog";
import { priceFor, priceSource } from "../governance/pricing";
import { Catalog } from "../router/catalog";
import { disabledFor, leafTargets, routableNames } from "../router/candidates";
import { loadConfigArg, type ParsedArgs } from "./args";

// `lmrelay models [--config PATH] [--json]`: every name a client can send as `model` — the aliases
// and `provider/model` for each provider's catalog (configured, or discovered now) — with prices
// and what lmrelay knows of each model (context window, output limit, reasoning), each fact with
// where it came from: the provider's `modelInfo`/`pricing` config, the models.dev catalog entry,
// or lmrelay's own price table.

interface Facts {
  contextWindow?: number;
  maxOutputTokens?: number;
  reasoning?: boolean;
  efforts?: string[];
  /** Fact name → source (`config`, `models.dev:openai/gpt-4o`, `lmrelay price table`). */
  sources: Record<string, string>;
}

export async function modelsCommand(args: ParsedArgs): Promise<number> {
  const loaded = await loadConfigArg(args);
  if (!loaded) return 1;
  const { config } = loaded;
  const catalog = new Catalog();
  await catalog.load(config, { wait: true });
  catalog.stop();
  type Row =
    | { model: string; alias: true; targets: string[]; disabled: { target: string; reason: string }[] }
    | { model: string; alias?: undefined; provider: string; type: string; free: boolean; price: { input: number; output: number } | null; facts: Facts };
  const rows = routableNames(config, catalog).map(({ name, provider }): Row => {
    if (!provider) {
      const targets = config.aliases.get(name)!.targets;
      const disabled = leafTargets(config, targets).flatMap((target) => {
        const off = disabledFor(config, target);
        return off ? [{ target, reason: `disabled: ${off.reason}` }] : [];
      });
      return { model: name, alias: true, targets, disabled };
    }
    const upstream = name.slice(provider.id.length + 1);
    const price = provider.free ? { input: 0, output: 0 } : priceFor(provider, upstream);
    const known = modelFacts(provider, upstream);
    const facts: Facts = { sources: {} };
    for (const k of ["contextWindow", "maxOutputTokens", "reasoning", "efforts"] as const) {
      if (known.facts[k] === undefined) continue;
      (facts as unknown as Record<string, unknown>)[k] = known.facts[k];
      facts.sources[k] = known.sources[k]!;
    }
    const priced = price ? priceSource(provider, upstream) : undefined;
    if (priced) facts.sources.price = priced;
    return { model: name, provider: provider.id, type: provider.type, free: provider.free, price: price ?? null, facts };
  });
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  const lines: string[] = [];
  for (const r of rows) {
    if (r.alias) {
      const off = new Map(r.disabled.map((d) => [d.target, d.reason]));
      const shown = leafTargets(config, r.targets).map((t) => (off.has(t) ? `${t} [${off.get(t)}]` : t));
      lines.push(`${r.model}  (alias → ${shown.join(", ")})`);
    }
    else {
      const cost = r.free ? "free" : r.price ? `$${r.price.input}/$${r.price.output} per M tokens` : "price unknown";
      lines.push(`${r.model}  ${r.type}  ${cost}${describeFacts(r.facts)}`);
    }
  }
  for (const p of config.providers.values()) {
    const err = catalog.discoveryError(p.id);
    if (err && catalog.models(p.id).length === 0) lines.push(`(${p.id}: no models discovered: ${err})`);
  }
  for (const d of config.disabled?.values() ?? []) lines.push(`(${d.id}: disabled: ${d.reason})`);
  lines.push(`(model facts: ${CATALOG_SOURCE.source} as of ${CATALOG_SOURCE.date}, ${CATALOG_SOURCE.license.split(",")[0]}; a provider's modelInfo and pricing override it)`);
  process.stdout.write((rows.length ? lines.join("\n") : "(no routable models)") + "\n");
  return 0;
}

/** `  context 128000, output 16384, no reasoning  [models.dev:openai/gpt-4o; price: config]` */
function describeFacts(f: Facts): string {
  const parts: string[] = [];
  if (f.contextWindow !== undefined) parts.push(`context ${f.contextWindow}`);
  if (f.maxOutputTokens !== undefined) parts.push(`output ${f.maxOutputTokens}`);
  if (f.reasoning !== undefined) parts.push(f.reasoning ? `reasoning${f.efforts ? ` (${f.efforts.join("/")})` : ""}` : "no reasoning");
  const bySource = new Map<string, string[]>();
  for (const [fact, source] of Object.entries(f.sources)) bySource.set(source, [...(bySource.get(source) ?? []), fact]);
  if (bySource.size === 0) return parts.length ? `  ${parts.join(", ")}` : "";
  // The most common source is named alone; the others name their facts.
  const sorted = [...bySource].sort((a, b) => b[1].length - a[1].length);
  const from = sorted.map(([source, facts], i) => (i === 0 ? source : `${facts.join(", ")}: ${source}`)).join("; ");
  return `  ${parts.join(", ")}  [${from}]`;
}
