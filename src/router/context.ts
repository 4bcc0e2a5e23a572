import type { ResolvedProvider } from "../config/resolve";
import { modelFacts } from "../catalog";
import { compileGlob, type Matcher } from "../core/glob";

// Context windows (tokens) of well-known model families the catalog does not list (local Ollama
// tags, older names), so a "prompt too long" failure moves only to
// a candidate that can hold more. Unknown models are never assumed larger. Globs in order: a
// specific entry comes before a broader one. Names are matched without a vendor prefix
// (`openai/gpt-4o` on OpenRouter, `models/gemini-…` on Gemini) and without an Ollama tag.

const WINDOWS: [string, number][] = [
  ["gpt-4.1*", 1_047_576],
  ["gpt-5*", 400_000],
  ["o1-mini*", 128_000],
  ["o1*", 200_000],
  ["o3*", 200_000],
  ["o4-mini*", 200_000],
  ["gpt-4o*", 128_000],
  ["chatgpt-4o*", 128_000],
  ["gpt-4-turbo*", 128_000],
  ["gpt-4-32k*", 32_768],
  ["gpt-4", 8_192],
  ["gpt-3.5-turbo*", 16_385],
  ["claude-sonnet-4*", 200_000],
  ["claude-*", 200_000],
  ["gemini-1.5-pro*", 2_097_152],
  ["gemini-*", 1_048_576],
  ["command-a*", 256_000],
  ["command-r*", 128_000],
  ["mistral-large*", 128_000],
  ["mistral-small*", 128_000],
  ["codestral*", 256_000],
  ["llama-3.1*", 128_000],
  ["llama-3.2*", 128_000],
  ["llama-3.3*", 128_000],
  ["llama3.1*", 128_000],
  ["llama3.2*", 128_000],
  ["llama3.3*", 128_000],
  ["llama3*", 8_192],
  ["qwen2.5*", 32_768],
  ["deepseek-chat*", 128_000],
  ["deepseek-r1*", 128_000],
];

const compiled: [Matcher, number][] = WINDOWS.map(([p, n]) => [compileGlob(p), n]);

const known = new Map<string, number | undefined>();

/** The model's context window in tokens, when known: the provider's `modelInfo`, the catalog
 *  (models.dev), else the families above. Called per candidate per request: cached. */
export function contextWindowOf(provider: ResolvedProvider, model: string): number | undefined {
  const fromCatalog = modelFacts(provider, model).facts.contextWindow;
  if (fromCatalog !== undefined) return fromCatalog;
  if (known.has(model)) return known.get(model);
  const n = lookup(model);
  if (known.size < 10_000) known.set(model, n);
  return n;
}

function lookup(model: string): number | undefined {
  let name = model.toLowerCase();
  if (name.startsWith("models/")) name = name.slice("models/".length);
  name = name.slice(name.lastIndexOf("/") + 1);
  const colon = name.indexOf(":");
  if (colon > 0) name = name.slice(0, colon);
  for (const [match, n] of compiled) if (match(name)) return n;
  return undefined;
}
