import type { ProviderType } from "../config/define";

// Every provider type as data: which wire format (adapter) speaks to it and the quirks the adapter
// must respect. Adding an OpenAI-compatible provider = one entry here, its name in the config
// schema, and where it lives (default base URL, key needed) in config/provider-types.ts.

export type Wire = "openai" | "ollama" | "echo" | "anthropic" | "gemini" | "cohere" | "azure";

export interface OpenAIQuirks {
  /** Send `max_tokens` instead of `max_completion_tokens`. */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** Request fields the server rejects; dropped before sending. */
  dropFields?: string[];
  /** Server ignores or rejects `stream_options`. */
  noStreamOptions?: boolean;
  /** Map `tool_choice: "required"` to this value. */
  requiredToolChoice?: string;
  /** Tool-call ids must be exactly 9 alphanumerics (Mistral). */
  nineCharToolIds?: boolean;
  /** Rename `seed` (Mistral: `random_seed`). */
  seedField?: string;
  /** `developer` role unknown: send `system`. */
  noDeveloperRole?: boolean;
  /** Server reads a top-level `top_k` (vLLM, llama.cpp, OpenRouter…); OpenAI itself rejects it. */
  topK?: boolean;
}

export interface ProviderPreset {
  wire: Wire;
  /** Model-list path relative to baseUrl (`../x` climbs out of it); absent = the wire's default. */
  modelsPath?: string;
  openai?: OpenAIQuirks;
}

const PRESETS: Record<ProviderType, ProviderPreset> = {
  openai: { wire: "openai", openai: { maxTokensField: "max_completion_tokens" } },
  "openai-compatible": { wire: "openai", openai: { maxTokensField: "max_tokens", noDeveloperRole: true, topK: true } },
  ollama: { wire: "ollama" },
  echo: { wire: "echo" },
  anthropic: { wire: "anthropic" },
  gemini: { wire: "gemini" },
  cohere: { wire: "cohere" },
  azure: { wire: "azure" },
  mistral: {
    wire: "openai",
    // Mistral answers 422 "extra_forbidden" to fields it does not know; it sends stream usage unasked.
    openai: {
      maxTokensField: "max_tokens",
      nineCharToolIds: true,
      seedField: "random_seed",
      requiredToolChoice: "any",
      noDeveloperRole: true,
      noStreamOptions: true,
      dropFields: ["user"],
    },
  },
  deepinfra: { wire: "openai", openai: { maxTokensField: "max_tokens", noDeveloperRole: true, topK: true } },
  openrouter: { wire: "openai", openai: { maxTokensField: "max_tokens", topK: true } },
  groq: {
    wire: "openai",
    openai: { maxTokensField: "max_tokens", dropFields: ["logprobs", "logit_bias", "top_logprobs", "n"], noDeveloperRole: true },
  },
  nvidia: { wire: "openai", openai: { maxTokensField: "max_tokens", noDeveloperRole: true } },
  huggingface: { wire: "openai", openai: { maxTokensField: "max_tokens", noDeveloperRole: true } },
  cerebras: {
    wire: "openai",
    openai: {
      maxTokensField: "max_completion_tokens",
      dropFields: ["frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls", "service_tier"],
    },
  },
  // `/ai/v1` has no model list: the catalog is the account API's model search beside it.
  cloudflare: {
    wire: "openai",
    modelsPath: "../models/search?per_page=1000",
    openai: { maxTokensField: "max_tokens", noDeveloperRole: true },
  },
};

export function presetFor(type: ProviderType): ProviderPreset | undefined {
  return PRESETS[type];
}
