// The shape of src/catalog/models.json (written by scripts/catalog.ts from the models.dev data).
// Short on purpose: the file is embedded in the binary.

/** models.dev provider ids the catalog keeps: the providers lmrelay has an adapter or preset for. */
export const CATALOG_PROVIDERS = [
  "openai",
  "anthropic",
  "google",
  "cohere",
  "mistral",
  "deepinfra",
  "groq",
  "cerebras",
  "nvidia",
  "huggingface",
  "openrouter",
  "cloudflare-workers-ai",
  "ollama-cloud",
] as const;

export interface CatalogModel {
  /** Context window, tokens. */
  context?: number;
  /** Maximum output tokens. */
  output?: number;
  reasoning?: boolean;
  /** Reasoning-effort values the model takes (OpenAI `reasoning_effort`, Anthropic `output_config.effort`). */
  efforts?: string[];
  /** Thinking budget range in tokens, [min, max] (null = no bound stated). */
  budget?: [number | null, number | null];
  /** Thinking can be switched on and off, nothing finer. */
  toggle?: boolean;
  tools?: boolean;
  /** false: the model refuses sampling parameters (temperature, top_p). */
  temperature?: boolean;
  /** Input modalities: text, image, pdf, audio, video. */
  input?: string[];
  /** USD per million tokens: input, output, cache read, cache write. */
  price?: [number, number, number | null, number | null];
}

export interface CatalogFile {
  source: string;
  commit: string;
  /** Date of the source commit the snapshot was built from. */
  date: string;
  license: string;
  providers: Record<string, Record<string, CatalogModel>>;
}
