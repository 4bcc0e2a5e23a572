import type { ProviderType } from "../config/define";

// Every provider type as data: which wire format (adapter) speaks to it, where it lives, and the
// quirks the adapter must respect. Adding an OpenAI-compatible provider = one entry here.

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
  /** Default base URL (SPEC §3 convention for the type). */
  baseUrl?: string;
  requiresKey: boolean;
  /** Model-list path relative to baseUrl (`../x` climbs out of it); absent = the wire's default. */
  modelsPath?: string;
  free?: boolean;
  openai?: OpenAIQuirks;
}

const PRESETS: Record<ProviderType, ProviderPreset> = {
  openai: { wire: "openai", baseUrl: "https://api.openai.com/v1", requiresKey: true, openai: { maxTokensField: "max_completion_tokens" } },
  "openai-compatible": { wire: "openai", requiresKey: false, openai: { maxTokensField: "max_tokens", noDeveloperRole: true, topK: true } },
  ollama: { wire: "ollama", baseUrl: "http://127.0.0.1:11434", requiresKey: false, free: true },
  echo: { wire: "echo", baseUrl: "echo://local", requiresKey: false, free: true },
  anthropic: { wire: "anthropic", baseUrl: "https://api.anthropic.com", requiresKey: true },
  gemini: { wire: "gemini", baseUrl: "https://generativelanguage.googleapis.com", requiresKey: true },
  cohere: { wire: "cohere", baseUrl: "https://api.cohere.com", requiresKey: true },
  azure: { wire: "azure", requiresKey: true },
  mistral: {
    wire: "openai",
    baseUrl: "https://api.mistral.ai/v1",
    requiresKey: true,
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
  deepinfra: { wire: "openai", baseUrl: "https://api.deepinfra.com/v1/openai", requiresKey: true, openai: { maxTokensField: "max_tokens", noDeveloperRole: true, topK: true } },
  openrouter: { wire: "openai", baseUrl: "https://openrouter.ai/api/v1", requiresKey: true, openai: { maxTokensField: "max_tokens", topK: true } },
  groq: {
    wire: "openai",
    baseUrl: "https://api.groq.com/openai/v1",
    requiresKey: true,
    openai: { maxTokensField: "max_tokens", dropFields: ["logprobs", "logit_bias", "top_logprobs", "n"], noDeveloperRole: true },
  },
  nvidia: { wire: "openai", baseUrl: "https://integrate.api.nvidia.com/v1", requiresKey: true, openai: { maxTokensField: "max_tokens", noDeveloperRole: true } },
  huggingface: { wire: "openai", baseUrl: "https://router.huggingface.co/v1", requiresKey: true, openai: { maxTokensField: "max_tokens", noDeveloperRole: true } },
  cerebras: {
    wire: "openai",
    baseUrl: "https://api.cerebras.ai/v1",
    requiresKey: true,
    openai: {
      maxTokensField: "max_completion_tokens",
      dropFields: ["frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls", "service_tier"],
    },
  },
  // The account id is part of the URL, so a cloudflare provider must set baseUrl itself
  // (`https://api.cloudflare.com/client/v4/accounts/{id}/ai/v1`). `/ai/v1` has no model list: the
  // catalog is the account API's model search beside it.
  cloudflare: {
    wire: "openai",
    requiresKey: true,
    modelsPath: "../models/search?per_page=1000",
    openai: { maxTokensField: "max_tokens", noDeveloperRole: true },
  },
};

export function presetFor(type: ProviderType): ProviderPreset | undefined {
  return PRESETS[type];
}
