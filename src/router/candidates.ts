import type { RoutingStrategy } from "../config/define";
import type { DisabledProvider, ResolvedConfig, ResolvedProvider } from "../config/resolve";
import { lmrelayError } from "../core/errors";
import { compileGlob } from "../core/glob";
import type { Catalog } from "./catalog";

// Step one of routing: turn the requested model name into the ordered list of (provider, model)
// candidates (SPEC §4): an alias's chain, `providerId/model`, or every provider offering the name.

export interface Candidate {
  provider: ResolvedProvider;
  /** Model name as the upstream knows it. */
  model: string;
}

export interface Resolution {
  candidates: Candidate[];
  /** The alias's own strategy, when the request named an alias that sets one. */
  strategy?: RoutingStrategy;
  alias?: string;
}

/** Resolutions per model name, built once per (config, catalog generation): resolving walks
 *  aliases, providers and globs, and every request does it. Callers only read them. */
interface ResolutionCache {
  config: ResolvedConfig;
  generation: number;
  byName: Map<string, Resolution>;
}
const caches = new WeakMap<Catalog, ResolutionCache>();
/** `provider/anything` resolves on a discovered catalog, so names are client-chosen: bound them. */
const MAX_CACHED_NAMES = 2_000;

export function resolveCandidates(config: ResolvedConfig, catalog: Catalog, requested: string): Resolution {
  let cache = caches.get(catalog);
  if (!cache || cache.config !== config || cache.generation !== catalog.generation) {
    cache = { config, generation: catalog.generation, byName: new Map() };
    caches.set(catalog, cache);
  }
  let resolution = cache.byName.get(requested);
  if (!resolution) {
    resolution = resolveUncached(config, catalog, requested);
    if (cache.byName.size >= MAX_CACHED_NAMES) cache.byName.clear();
    cache.byName.set(requested, resolution);
  }
  return resolution;
}

function resolveUncached(config: ResolvedConfig, catalog: Catalog, requested: string): Resolution {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (c: Candidate) => {
    const k = `${c.provider.id}\u0000${c.model}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(c);
    }
  };
  const alias = config.aliases.get(requested);
  if (alias) {
    expandAlias(config, catalog, alias.targets, add, new Set([alias.name]));
    // Every target on a switched-off provider: say so, as for `provider/model` below.
    if (out.length === 0) {
      const off = leafTargets(config, alias.targets).map((t) => disabledFor(config, t)).filter((d) => d !== undefined);
      if (off.length) throw lmrelayError("not_found", `model "${requested}": every target is on a disabled provider (${describeDisabled(off)})`, { param: "model", code: "model_not_found" });
    }
    return { candidates: out, strategy: alias.strategy, alias: alias.name };
  }
  resolveName(config, catalog, requested, add);
  if (out.length === 0) throw notFound(config, catalog, requested);
  return { candidates: out };
}

function expandAlias(config: ResolvedConfig, catalog: Catalog, targets: string[], add: (c: Candidate) => void, seen: Set<string>): void {
  for (const t of targets) {
    const nested = config.aliases.get(t);
    if (nested) {
      if (seen.has(t)) continue;
      seen.add(t);
      expandAlias(config, catalog, nested.targets, add, seen);
    } else resolveName(config, catalog, t, add, true);
  }
}

function resolveName(config: ResolvedConfig, catalog: Catalog, name: string, add: (c: Candidate) => void, globs = false): void {
  const slash = name.indexOf("/");
  if (slash > 0) {
    const provider = config.providers.get(name.slice(0, slash));
    if (provider) {
      const model = name.slice(slash + 1);
      if (globs && isGlob(model)) return addMatching(catalog, [provider], model, add);
      const known = catalog.lookup(provider.id, model);
      // A discovered catalog may lag behind the provider: trust an explicit provider/model then.
      if (known) add({ provider, model: known });
      else if (model && !catalog.isConfigured(provider.id)) add({ provider, model });
      return;
    }
  }
  if (globs && isGlob(name)) return addMatching(catalog, config.providers.values(), name, add);
  for (const provider of config.providers.values()) {
    const known = catalog.lookup(provider.id, name);
    if (known) add({ provider, model: known });
  }
}

const isGlob = (name: string) => /[*?]/.test(name);

/** An alias target with a glob (`openrouter/*:free`, `llama3*`) stands for every matching catalog model. */
function addMatching(catalog: Catalog, providers: Iterable<ResolvedProvider>, pattern: string, add: (c: Candidate) => void): void {
  const match = compileGlob(pattern);
  for (const provider of providers) for (const m of catalog.models(provider.id)) if (match(m)) add({ provider, model: m });
}

/** Every name a client could use: aliases, then `provider/model` for each catalog entry. */
export function routableNames(config: ResolvedConfig, catalog: Catalog): { name: string; provider?: ResolvedProvider }[] {
  const names: { name: string; provider?: ResolvedProvider }[] = [];
  for (const a of config.aliases.keys()) names.push({ name: a });
  for (const p of config.providers.values()) for (const m of catalog.models(p.id)) names.push({ name: `${p.id}/${m}`, provider: p });
  return names;
}

/** An alias's targets with nested aliases expanded (each alias once). */
export function leafTargets(config: ResolvedConfig, targets: string[], seen = new Set<string>()): string[] {
  return targets.flatMap((t) => {
    const nested = config.aliases.get(t);
    if (!nested) return [t];
    if (seen.has(t)) return [];
    seen.add(t);
    return leafTargets(config, nested.targets, seen);
  });
}

/** The disabled provider a `provider/model` name points at, if it does. */
export function disabledFor(config: ResolvedConfig, name: string): DisabledProvider | undefined {
  const slash = name.indexOf("/");
  return slash > 0 && !config.providers.has(name.slice(0, slash)) ? config.disabled?.get(name.slice(0, slash)) : undefined;
}

function describeDisabled(off: DisabledProvider[]): string {
  return [...new Map(off.map((d) => [d.id, `"${d.id}": ${d.reason}`])).values()].join("; ");
}

/** The candidates one written alias target stands for (a glob may stand for several). */
export function resolveTarget(config: ResolvedConfig, catalog: Catalog, target: string): Candidate[] {
  const out: Candidate[] = [];
  resolveName(config, catalog, target, (c) => out.push(c), true);
  return out;
}

function notFound(config: ResolvedConfig, catalog: Catalog, requested: string) {
  const off = disabledFor(config, requested);
  if (off)
    return lmrelayError("not_found", `model "${requested}": provider "${off.id}" is disabled (${off.reason})`, { param: "model", code: "model_not_found" });
  const names = routableNames(config, catalog).map((n) => n.name);
  const nearest = nearestNames(requested, names, 3);
  const disabled = [...(config.disabled?.values() ?? [])];
  const hint =
    (nearest.length ? `; did you mean ${nearest.map((n) => `"${n}"`).join(", ")}?` : "") +
    (disabled.length ? ` (disabled providers: ${disabled.map((d) => `${d.id}: ${d.reason}`).join("; ")})` : "");
  return lmrelayError("not_found", `model "${requested}" is not known to any provider or alias${hint}`, {
    param: "model",
    code: "model_not_found",
  });
}

export function nearestNames(target: string, names: string[], count: number): string[] {
  const t = target.toLowerCase();
  return names
    .map((n) => {
      const base = n.slice(n.indexOf("/") + 1).toLowerCase();
      return { n, d: Math.min(distance(t, n.toLowerCase()), distance(t, base)) };
    })
    .filter((x) => x.d <= Math.max(3, Math.floor(t.length / 2)))
    .sort((a, b) => a.d - b.d)
    .slice(0, count)
    .map((x) => x.n);
}

/** Levenshtein distance, two rows. */
function distance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
