import type { ModelPrice, ProviderType } from "../config/define";
import type { ResolvedProvider } from "../config/resolve";
import { knownModel } from "../catalog";
import { compileGlob, type Matcher } from "../core/glob";
import type { Usage } from "../core/types";
import {
  ANTHROPIC,
  CEREBRAS,
  CLOUDFLARE,
  COHERE,
  DEEPINFRA,
  GEMINI,
  GROQ,
  MISTRAL,
  NVIDIA,
  OPENAI,
  OPENROUTER_VENDORS,
  type PriceList,
} from "./pricing-table";

// Prices of (provider, model): the provider's own `pricing` (exact names, then globs in written
// order), then free providers (cost 0), then the catalog (models.dev, src/catalog), then the
// built-in table for what the catalog lacks (pricing-table.ts: dated snapshots, Cohere variants,
// OpenRouter names of first-party models). Unknown models have no price: they cost 0 and are
// flagged in stats. Lookups are cached per resolved
// provider, so the router may call this for every candidate of every request.

export interface Price {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
  /** USD per million input tokens read from the prompt cache. */
  cachedInput?: number;
  /** USD per million input tokens written to the prompt cache. */
  cacheWrite?: number;
}

const FREE: Price = Object.freeze({ input: 0, output: 0 });

type CompiledList = { match: Matcher; price: Price }[];
const compiled = new WeakMap<PriceList, CompiledList>();

function compile(list: PriceList): CompiledList {
  let c = compiled.get(list);
  if (!c) {
    c = list.map(([pattern, price]) => ({ match: compileGlob(pattern), price }));
    compiled.set(list, c);
  }
  return c;
}

function lookup(list: PriceList, model: string): Price | undefined {
  for (const e of compile(list)) if (e.match(model)) return e.price;
  return undefined;
}

const BY_TYPE: Partial<Record<ProviderType, PriceList>> = {
  openai: OPENAI,
  azure: OPENAI,
  anthropic: ANTHROPIC,
  gemini: GEMINI,
  cohere: COHERE,
  mistral: MISTRAL,
  groq: GROQ,
  cerebras: CEREBRAS,
  deepinfra: DEEPINFRA,
  cloudflare: CLOUDFLARE,
  nvidia: NVIDIA,
};

/** `anthropic/claude-3.5-sonnet` → the Anthropic table's `claude-3-5-sonnet`. */
function openRouterPrice(model: string): Price | undefined {
  const slash = model.indexOf("/");
  if (slash <= 0) return undefined;
  const vendor = model.slice(0, slash);
  const list = OPENROUTER_VENDORS[vendor];
  if (!list) return undefined;
  let name = model.slice(slash + 1).replace(/:[a-z-]+$/, "");
  if (vendor === "anthropic") name = name.replace(/(\d)\.(\d)/g, "$1-$2");
  return lookup(list, name);
}

function builtinPrice(type: ProviderType, model: string): Price | undefined {
  if (type === "openrouter") return openRouterPrice(model);
  const list = BY_TYPE[type];
  if (!list) return undefined;
  const name = model.startsWith("models/") ? model.slice("models/".length) : model;
  return lookup(list, name);
}

function configuredPrice(pricing: Record<string, ModelPrice>, model: string): Price | undefined {
  const exact = pricing[model];
  if (exact) return exact;
  for (const [pattern, price] of Object.entries(pricing)) if (/[*?]/.test(pattern) && compileGlob(pattern)(model)) return price;
  return undefined;
}

/** The catalog's price, when it has one (models.dev lists prices for the first-party providers). */
function catalogPrice(provider: ResolvedProvider, model: string): Price | undefined {
  return knownModel(provider.type, model).facts.price;
}

/** Where the price of `model` on `provider` comes from, for `lmrelay models`. */
export function priceSource(provider: ResolvedProvider, model: string): string | undefined {
  if (configuredPrice(provider.pricing, model)) return "config";
  if (provider.free) return "free provider";
  const known = knownModel(provider.type, model);
  if (known.facts.price) return known.sources.price;
  return builtinPrice(provider.type, model) ? "lmrelay price table" : undefined;
}

const cache = new WeakMap<ResolvedProvider, Map<string, Price | null>>();

/** The price of `model` on `provider`, or undefined when nothing prices it. */
export function priceFor(provider: ResolvedProvider, model: string): { input: number; output: number; cachedInput?: number; cacheWrite?: number } | undefined {
  let byModel = cache.get(provider);
  if (!byModel) {
    byModel = new Map();
    cache.set(provider, byModel);
  }
  const hit = byModel.get(model);
  if (hit !== undefined) return hit ?? undefined;
  const price = configuredPrice(provider.pricing, model) ?? (provider.free ? FREE : (catalogPrice(provider, model) ?? builtinPrice(provider.type, model)));
  // Model names come from catalogs and configs, but bound the cache all the same.
  if (byModel.size < 10_000) byModel.set(model, price ?? null);
  return price;
}

/** USD for one request's usage. `inputTokens` includes cached ones (canonical Usage), which are
 *  priced at their own rates when the price has them, else as plain input. */
export function costOf(price: Price | undefined, usage: Pick<Usage, "inputTokens" | "outputTokens" | "cacheReadTokens" | "cacheWriteTokens">): number {
  if (!price) return 0;
  const cacheRead = Math.max(0, usage.cacheReadTokens ?? 0);
  const cacheWrite = Math.max(0, usage.cacheWriteTokens ?? 0);
  const plainInput = Math.max(0, usage.inputTokens - cacheRead - cacheWrite);
  const micro =
    plainInput * price.input +
    cacheRead * (price.cachedInput ?? price.input) +
    cacheWrite * (price.cacheWrite ?? price.input) +
    Math.max(0, usage.outputTokens) * price.output;
  return micro / 1_000_000;
}
