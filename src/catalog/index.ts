import { compileGlob } from "../core/glob";
import type { CatalogFile, CatalogModel } from "./format";
import data from "./models.json" with { type: "json" };

// What lmrelay knows of public models — context window, output limit, reasoning controls, tools,
// sampling, input modalities, prices — from the models.dev snapshot it ships (models.json, built by
// scripts/catalog.ts), with a provider's `modelInfo` config on top. Pure data and lookups: the
// router (context windows), governance (prices) and the upstream adapters (parameter rules) read it.

const catalog = data as unknown as CatalogFile;

export type { CatalogModel } from "./format";

/** Where the catalog came from, for `lmrelay models` and the README. */
export const CATALOG_SOURCE = { source: catalog.source, commit: catalog.commit, date: catalog.date, license: catalog.license };

/** A model's facts as lmrelay uses them. Absent = unknown. */
export interface ModelFacts {
  contextWindow?: number;
  maxOutputTokens?: number;
  /** The model reasons (thinks) at all. */
  reasoning?: boolean;
  /** Effort values it takes (OpenAI `reasoning_effort`, Anthropic `output_config.effort`, Gemini 3 `thinkingLevel`). */
  efforts?: string[];
  /** Thinking budget bounds in tokens. */
  budget?: { min?: number; max?: number };
  /** Thinking can only be switched on or off. */
  toggle?: boolean;
  tools?: boolean;
  /** false: temperature / top_p are refused. */
  sampling?: boolean;
  images?: boolean;
  /** USD per million tokens. */
  price?: { input: number; output: number; cachedInput?: number; cacheWrite?: number };
}

/** A provider's config override of a model's facts (`modelInfo` in the config). */
export type ModelFactsOverride = Partial<ModelFacts>;

/** Which fact came from where: the catalog entry it used (`models.dev:openai/gpt-4o`) or `config`. */
export type FactSources = Partial<Record<keyof ModelFacts, string>>;

export interface KnownModel {
  facts: ModelFacts;
  sources: FactSources;
}

/** lmrelay provider type → the models.dev providers to look in, in order. The first-party
 *  providers follow as a last resort for every type, so `gpt-4o` behind an OpenAI-compatible
 *  proxy or an Azure deployment is still known. */
const SOURCES_BY_TYPE: Record<string, readonly string[]> = {
  openai: ["openai"],
  azure: ["openai"],
  anthropic: ["anthropic"],
  gemini: ["google"],
  cohere: ["cohere"],
  mistral: ["mistral"],
  deepinfra: ["deepinfra"],
  groq: ["groq"],
  cerebras: ["cerebras"],
  nvidia: ["nvidia"],
  huggingface: ["huggingface"],
  openrouter: ["openrouter"],
  cloudflare: ["cloudflare-workers-ai"],
  ollama: ["ollama-cloud"],
};
const FIRST_PARTY = ["openai", "anthropic", "google", "mistral", "cohere"] as const;

/** Name variants to try: as given, without Gemini's `models/`, without a vendor prefix, then
 *  without a date or `-latest` suffix (`claude-3-5-haiku-20241022` → `claude-3-5-haiku`). */
function variants(model: string): string[] {
  const out = [model];
  const add = (v: string) => {
    if (v && !out.includes(v)) out.push(v);
  };
  const lower = model.toLowerCase();
  add(lower);
  let bare = lower.startsWith("models/") ? lower.slice("models/".length) : lower;
  add(bare);
  bare = bare.slice(bare.lastIndexOf("/") + 1);
  add(bare);
  add(undated(bare));
  if (bare.endsWith(":latest")) add(bare.slice(0, -":latest".length));
  return out;
}

function undated(name: string): string {
  return name.replace(/(-|@)(\d{8}|\d{4}-\d{2}-\d{2}|latest|\d{3})$/, "");
}

/** Per models.dev provider: name and undated name → entry id (a dated entry answers for its
 *  undated name when no undated entry exists). */
const indexes = new Map<string, Map<string, string>>();
function indexOf(provider: string): Map<string, string> {
  let index = indexes.get(provider);
  if (index) return index;
  index = new Map();
  const models = catalog.providers[provider] ?? {};
  for (const id of Object.keys(models)) index.set(id.toLowerCase(), id);
  for (const id of Object.keys(models)) {
    const short = undated(id.toLowerCase());
    if (!index.has(short)) index.set(short, id);
  }
  indexes.set(provider, index);
  return index;
}

/** The catalog entry for (provider type, model), and its name (`openai/gpt-4o`). */
export function catalogEntry(type: string, model: string): { id: string; model: CatalogModel } | undefined {
  const own = SOURCES_BY_TYPE[type] ?? [];
  const names = variants(model);
  for (const provider of [...own, ...FIRST_PARTY.filter((p) => !own.includes(p))]) {
    const index = indexOf(provider);
    for (const name of names) {
      const id = index.get(name);
      if (id) return { id: `${provider}/${id}`, model: catalog.providers[provider]![id]! };
    }
  }
  return undefined;
}

function factsOf(m: CatalogModel): ModelFacts {
  const f: ModelFacts = {};
  if (m.context !== undefined) f.contextWindow = m.context;
  if (m.output !== undefined) f.maxOutputTokens = m.output;
  if (m.reasoning !== undefined) f.reasoning = m.reasoning;
  if (m.efforts?.length) f.efforts = m.efforts;
  if (m.budget) f.budget = { min: m.budget[0] ?? undefined, max: m.budget[1] ?? undefined };
  if (m.toggle) f.toggle = true;
  if (m.tools !== undefined) f.tools = m.tools;
  if (m.temperature !== undefined) f.sampling = m.temperature;
  if (m.input) f.images = m.input.includes("image");
  if (m.price) {
    const [input, output, cacheRead, cacheWrite] = m.price;
    f.price = { input, output };
    if (cacheRead !== null) f.price.cachedInput = cacheRead;
    if (cacheWrite !== null) f.price.cacheWrite = cacheWrite;
  }
  return f;
}

const known = new Map<string, KnownModel>();

/** What lmrelay knows of `model` on a provider of `type`: the catalog, then `overrides` (the
 *  provider's `modelInfo`, exact name or glob already picked by the caller) on top. Cached. */
export function knownModel(type: string, model: string, override?: ModelFactsOverride): KnownModel {
  if (!override) {
    const key = `${type}\u0000${model}`;
    const hit = known.get(key);
    if (hit) return hit;
    const value = fromCatalog(type, model);
    if (known.size < 10_000) known.set(key, value);
    return value;
  }
  const base = fromCatalog(type, model);
  const facts = { ...base.facts };
  const sources = { ...base.sources };
  for (const [k, v] of Object.entries(override) as [keyof ModelFacts, never][]) {
    if (v === undefined) continue;
    facts[k] = v;
    sources[k] = "config";
  }
  return { facts, sources };
}

function fromCatalog(type: string, model: string): KnownModel {
  const entry = catalogEntry(type, model);
  if (!entry) return { facts: {}, sources: {} };
  const facts = factsOf(entry.model);
  const sources: FactSources = {};
  for (const k of Object.keys(facts) as (keyof ModelFacts)[]) sources[k] = `models.dev:${entry.id}`;
  return { facts, sources };
}

/** The provider fields this module reads (structurally a config ResolvedProvider). */
export interface ProviderFacts {
  type: string;
  modelInfo?: Record<string, ModelFactsOverride>;
}

const overrideCache = new WeakMap<object, Map<string, KnownModel>>();

/** What is known of `model` on `provider`: the catalog with the provider's `modelInfo` (exact
 *  name first, then globs in written order) on top. Cached per provider object. */
export function modelFacts(provider: ProviderFacts, model: string): KnownModel {
  const info = provider.modelInfo;
  if (!info || Object.keys(info).length === 0) return knownModel(provider.type, model);
  let byModel = overrideCache.get(info);
  if (!byModel) overrideCache.set(info, (byModel = new Map()));
  const hit = byModel.get(model);
  if (hit) return hit;
  let override = info[model];
  if (!override) for (const [pattern, o] of Object.entries(info)) if (/[*?]/.test(pattern) && compileGlob(pattern)(model)) {
    override = o;
    break;
  }
  const value = knownModel(provider.type, model, override);
  if (byModel.size < 10_000) byModel.set(model, value);
  return value;
}
