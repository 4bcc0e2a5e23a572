import type { ModelPrice } from "../config/define";

// Built-in list prices, USD per million tokens, as the providers published them for standard
// (non-batch, ≤200k-token prompt) use, for the names the model catalog (src/catalog, models.dev)
// does not price: dated snapshots, Cohere variants, OpenRouter's names of first-party models.
// The catalog is asked first (pricing.ts). Prices change: a provider's `pricing` in the config
// overrides both (model names or globs), and `lmrelay stats` flags models priced nowhere.
// `cachedInput` is the prompt-cache read price; `cacheWrite` the cache write price (Anthropic).
// Patterns are globs checked in order, so a specific entry must come before a broader one.

export const PRICES_AS_OF = "2025-11-01";

export type PriceList = readonly (readonly [pattern: string, price: ModelPrice])[];

const p = (input: number, output: number, cachedInput?: number, cacheWrite?: number): ModelPrice =>
  cachedInput === undefined ? { input, output } : cacheWrite === undefined ? { input, output, cachedInput } : { input, output, cachedInput, cacheWrite };

/** OpenAI, also Azure OpenAI (same model names, global standard deployments). */
export const OPENAI: PriceList = [
  ["gpt-5-nano*", p(0.05, 0.4, 0.005)],
  ["gpt-5-mini*", p(0.25, 2, 0.025)],
  ["gpt-5-pro*", p(15, 120)],
  ["gpt-5*", p(1.25, 10, 0.125)],
  ["gpt-4.1-nano*", p(0.1, 0.4, 0.025)],
  ["gpt-4.1-mini*", p(0.4, 1.6, 0.1)],
  ["gpt-4.1*", p(2, 8, 0.5)],
  ["gpt-4o-mini*", p(0.15, 0.6, 0.075)],
  ["gpt-4o-2024-05-13", p(5, 15)],
  ["chatgpt-4o-latest", p(5, 15)],
  ["gpt-4o*", p(2.5, 10, 1.25)],
  ["gpt-4-turbo*", p(10, 30)],
  ["gpt-4-*-preview", p(10, 30)],
  ["gpt-4-32k*", p(60, 120)],
  ["gpt-4", p(30, 60)],
  ["gpt-4-0613", p(30, 60)],
  ["gpt-3.5-turbo-instruct*", p(1.5, 2)],
  ["gpt-3.5-turbo*", p(0.5, 1.5)],
  ["o1-mini*", p(1.1, 4.4, 0.55)],
  ["o1-pro*", p(150, 600)],
  ["o1*", p(15, 60, 7.5)],
  ["o3-mini*", p(1.1, 4.4, 0.55)],
  ["o3-pro*", p(20, 80)],
  ["o3*", p(2, 8, 0.5)],
  ["o4-mini*", p(1.1, 4.4, 0.275)],
  ["text-embedding-3-small", p(0.02, 0)],
  ["text-embedding-3-large", p(0.13, 0)],
  ["text-embedding-ada-002", p(0.1, 0)],
];

/** Anthropic: cache reads at 0.1×, 5-minute cache writes at 1.25× the input price. */
export const ANTHROPIC: PriceList = [
  ["claude-opus-4-5*", p(5, 25, 0.5, 6.25)],
  ["claude-opus-4*", p(15, 75, 1.5, 18.75)],
  ["claude-3-opus*", p(15, 75, 1.5, 18.75)],
  ["claude-sonnet-4*", p(3, 15, 0.3, 3.75)],
  ["claude-3-7-sonnet*", p(3, 15, 0.3, 3.75)],
  ["claude-3-5-sonnet*", p(3, 15, 0.3, 3.75)],
  ["claude-haiku-4-5*", p(1, 5, 0.1, 1.25)],
  ["claude-3-5-haiku*", p(0.8, 4, 0.08, 1)],
  ["claude-3-haiku*", p(0.25, 1.25, 0.03, 0.3)],
];

/** Google Gemini API (paid tier). */
export const GEMINI: PriceList = [
  ["gemini-2.5-pro*", p(1.25, 10, 0.125)],
  ["gemini-2.5-flash-lite*", p(0.1, 0.4, 0.01)],
  ["gemini-2.5-flash*", p(0.3, 2.5, 0.03)],
  ["gemini-2.0-flash-lite*", p(0.075, 0.3)],
  ["gemini-2.0-flash*", p(0.1, 0.4, 0.025)],
  ["gemini-1.5-pro*", p(1.25, 5)],
  ["gemini-1.5-flash-8b*", p(0.0375, 0.15)],
  ["gemini-1.5-flash*", p(0.075, 0.3)],
  ["gemini-embedding-001", p(0.15, 0)],
  ["text-embedding-004", p(0, 0)],
];

export const COHERE: PriceList = [
  ["command-a-vision*", p(2.5, 10)],
  ["command-a*", p(2.5, 10)],
  ["command-r-plus*", p(2.5, 10)],
  ["command-r7b*", p(0.0375, 0.15)],
  ["command-r*", p(0.15, 0.6)],
  ["embed-v4.0", p(0.12, 0)],
  ["embed-*-v3.0", p(0.1, 0)],
  ["embed-*-light-v3.0", p(0.1, 0)],
];

export const MISTRAL: PriceList = [
  ["mistral-large*", p(2, 6)],
  ["pixtral-large*", p(2, 6)],
  ["mistral-medium*", p(0.4, 2)],
  ["magistral-medium*", p(2, 5)],
  ["magistral-small*", p(0.5, 1.5)],
  ["mistral-small*", p(0.1, 0.3)],
  ["codestral*", p(0.3, 0.9)],
  ["devstral-small*", p(0.1, 0.3)],
  ["ministral-8b*", p(0.1, 0.1)],
  ["ministral-3b*", p(0.04, 0.04)],
  ["open-mistral-nemo*", p(0.15, 0.15)],
  ["pixtral-12b*", p(0.15, 0.15)],
  ["mistral-embed", p(0.1, 0)],
];

export const GROQ: PriceList = [
  ["llama-3.3-70b-versatile", p(0.59, 0.79)],
  ["llama-3.1-8b-instant", p(0.05, 0.08)],
  ["meta-llama/llama-4-scout-17b-16e-instruct", p(0.11, 0.34)],
  ["meta-llama/llama-4-maverick-17b-128e-instruct", p(0.2, 0.6)],
  ["openai/gpt-oss-120b", p(0.15, 0.75)],
  ["openai/gpt-oss-20b", p(0.1, 0.5)],
  ["qwen/qwen3-32b", p(0.29, 0.59)],
  ["moonshotai/kimi-k2-instruct*", p(1, 3)],
  ["deepseek-r1-distill-llama-70b", p(0.75, 0.99)],
  ["gemma2-9b-it", p(0.2, 0.2)],
];

export const CEREBRAS: PriceList = [
  ["llama3.1-8b", p(0.1, 0.1)],
  ["llama-3.3-70b", p(0.85, 1.2)],
  ["llama-4-scout-17b-16e-instruct", p(0.65, 0.85)],
  ["qwen-3-32b", p(0.4, 0.8)],
  ["qwen-3-235b-a22b-instruct-2507", p(0.6, 1.2)],
  ["gpt-oss-120b", p(0.25, 0.69)],
];

export const DEEPINFRA: PriceList = [
  ["meta-llama/Meta-Llama-3.1-8B-Instruct", p(0.03, 0.05)],
  ["meta-llama/Llama-3.3-70B-Instruct-Turbo", p(0.13, 0.4)],
  ["meta-llama/Llama-3.3-70B-Instruct", p(0.23, 0.4)],
  ["meta-llama/Meta-Llama-3.1-70B-Instruct", p(0.23, 0.4)],
  ["meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", p(0.15, 0.6)],
  ["meta-llama/Llama-4-Scout-17B-16E-Instruct", p(0.08, 0.3)],
  ["deepseek-ai/DeepSeek-V3", p(0.38, 0.89)],
  ["deepseek-ai/DeepSeek-R1", p(0.7, 2.4)],
  ["Qwen/Qwen2.5-72B-Instruct", p(0.12, 0.39)],
  ["Qwen/Qwen3-235B-A22B", p(0.13, 0.6)],
  ["Qwen/Qwen3-32B", p(0.1, 0.3)],
  ["google/gemma-3-27b-it", p(0.1, 0.19)],
];

/** Workers AI, per-token equivalents of its neuron pricing. */
export const CLOUDFLARE: PriceList = [
  ["@cf/meta/llama-3.3-70b-instruct-fp8-fast", p(0.293, 2.253)],
  ["@cf/meta/llama-3.1-8b-instruct-fp8-fast", p(0.045, 0.384)],
  ["@cf/meta/llama-3.1-8b-instruct", p(0.282, 0.827)],
  ["@cf/meta/llama-3.2-3b-instruct", p(0.051, 0.335)],
  ["@cf/meta/llama-3.2-1b-instruct", p(0.027, 0.201)],
  ["@cf/mistral/mistral-7b-instruct-v0.1", p(0.11, 0.19)],
  ["@cf/baai/bge-base-en-v1.5", p(0.067, 0)],
];

/** NVIDIA's hosted API catalog is free for development (credits, no per-token price). */
export const NVIDIA: PriceList = [["*", p(0, 0)]];

/** OpenRouter ids are `vendor/model`; it bills the vendor's list price, so the vendor's table is
 *  used with OpenRouter's spelling normalised (`claude-3.5-sonnet` → `claude-3-5-sonnet`). */
export const OPENROUTER_VENDORS: Record<string, PriceList> = {
  openai: OPENAI,
  anthropic: ANTHROPIC,
  google: GEMINI,
  cohere: COHERE,
  mistralai: MISTRAL,
};
