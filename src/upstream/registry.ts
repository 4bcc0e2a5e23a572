import type { ProviderType } from "../config/define";
import { anthropicAdapter } from "./anthropic";
import { azureAdapter } from "./azure";
import { cohereAdapter } from "./cohere/adapter";
import { echoAdapter } from "./echo";
import { geminiAdapter } from "./gemini/adapter";
import { ollamaAdapter } from "./ollama";
import { openaiAdapter } from "./openai";
import { presetFor, type Wire } from "./presets";
import type { UpstreamAdapter } from "./types";

// Wire format → adapter. A provider type reaches its adapter through its preset's `wire`; every
// wire has one (the type says so), so every provider type the config schema accepts is served.
const ADAPTERS: Record<Wire, UpstreamAdapter> = {
  echo: echoAdapter,
  openai: openaiAdapter,
  azure: azureAdapter,
  ollama: ollamaAdapter,
  anthropic: anthropicAdapter,
  cohere: cohereAdapter,
  gemini: geminiAdapter,
};

export function adapterFor(type: ProviderType): UpstreamAdapter | undefined {
  const preset = presetFor(type);
  return preset ? ADAPTERS[preset.wire] : undefined;
}
