import type { ProviderType } from "./define";

// What resolving a config needs to know of each provider type: where it lives by default (SPEC §3
// convention for the type), whether it needs a key, whether its models cost nothing. How lmrelay
// speaks to the type (its wire format, model-list path, quirks) lives with the adapters, in
// upstream/presets.ts; config never imports them.

export interface ProviderTypeDefaults {
  /** Default base URL; absent = the provider must set `baseUrl` (it holds an account or host). */
  baseUrl?: string;
  requiresKey: boolean;
  /** Local or free models: routing prefers them and pricing counts them at 0. */
  free?: boolean;
}

const DEFAULTS: Record<ProviderType, ProviderTypeDefaults> = {
  openai: { baseUrl: "https://api.openai.com/v1", requiresKey: true },
  "openai-compatible": { requiresKey: false },
  anthropic: { baseUrl: "https://api.anthropic.com", requiresKey: true },
  gemini: { baseUrl: "https://generativelanguage.googleapis.com", requiresKey: true },
  cohere: { baseUrl: "https://api.cohere.com", requiresKey: true },
  // The resource name is part of the URL.
  azure: { requiresKey: true },
  mistral: { baseUrl: "https://api.mistral.ai/v1", requiresKey: true },
  deepinfra: { baseUrl: "https://api.deepinfra.com/v1/openai", requiresKey: true },
  ollama: { baseUrl: "http://127.0.0.1:11434", requiresKey: false, free: true },
  openrouter: { baseUrl: "https://openrouter.ai/api/v1", requiresKey: true },
  groq: { baseUrl: "https://api.groq.com/openai/v1", requiresKey: true },
  nvidia: { baseUrl: "https://integrate.api.nvidia.com/v1", requiresKey: true },
  huggingface: { baseUrl: "https://router.huggingface.co/v1", requiresKey: true },
  cerebras: { baseUrl: "https://api.cerebras.ai/v1", requiresKey: true },
  // The account id is part of the URL (`https://api.cloudflare.com/client/v4/accounts/{id}/ai/v1`).
  cloudflare: { requiresKey: true },
  echo: { baseUrl: "echo://local", requiresKey: false, free: true },
};

export function providerTypeDefaults(type: ProviderType): ProviderTypeDefaults | undefined {
  return DEFAULTS[type];
}
