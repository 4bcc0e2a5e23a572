import type { Capability } from "./types";

// What upstreams answer when the model cannot take part of a request (tools, images, thinking,
// embeddings) — a property of the model, not of the request: another candidate may serve it. The
// phrasings are the real ones, collected from the servers' answers; each pattern is anchored on
// the capability word so that look-alikes stay client errors (OpenAI's "'messages[0].role' does
// not support 'system'", Gemini's "Function calling mode `ANY` is not enabled", Anthropic's
// "\"thinking.type.enabled\" is not supported for this model" — another thinking form works there).

const PHRASES: [RegExp, Capability][] = [
  // Ollama (`"llama3.2" does not support tools`, also via /v1; embeddings, vision and thinking
  // alike), Anthropic (`'claude-3-5-haiku-…' does not support thinking.`), DeepSeek (`deepseek-reasoner
  // does not support Function Calling`), xAI (`The model does not support tool use or function
  // calling…`), LM Studio (`Model does not support images.`), Z.ai (`Model do not support image input.`).
  [/\bdo(?:es)?(?: not|n't) support (?:tools?\b|tool (?:use|calling)|function(?:s| calling)|'tools')/i, "tools"],
  [/\bdo(?:es)?(?: not|n't) support (?:images?|image input|vision|multimodal)/i, "images"],
  [/\bdo(?:es)?(?: not|n't) support (?:thinking|reasoning)\b/i, "thinking"],
  [/\bdo(?:es)?(?: not|n't) support embeddings?\b/i, "embeddings"],
  // Groq `tool calling is not supported with this model`, DeepInfra `Tool calling is not supported for model: …`.
  [/\btool (?:calling|use) is not supported\b/i, "tools"],
  // OpenAI reasoning models before tools: `Unsupported parameter: 'tools' is not supported with this model.`
  [/unsupported parameter: '(?:tools|functions)'/i, "tools"],
  [/unsupported parameter: '(?:reasoning_effort|reasoning)'/i, "thinking"],
  // Gemini `Function calling is not enabled for models/gemma-3-12b-it`.
  [/function calling is not enabled for models\//i, "tools"],
  // OpenRouter (404): `No endpoints found that support tool use` / `… the provided 'tool_choice' value`.
  [/no endpoints found that support (?:tool use|the provided 'tool_choice')/i, "tools"],
  [/no endpoints found that support image input/i, "images"],
  // vLLM without a tool parser: `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set`.
  [/tool choice requires --enable-auto-tool-choice/i, "tools"],
  // llama.cpp server (500): `Unsupported param: tools`, `image input is not supported by this server`.
  [/unsupported param: tools\b/i, "tools"],
  [/\bimage input is not supported\b/i, "images"],
  // OpenAI / Azure: `Invalid content type. image_url is only supported by certain models.`
  [/image_url is only supported by certain models/i, "images"],
  // Gemini `Image input modality is not enabled for models/…`, vLLM `… is not a multimodal model`.
  [/image input modality is not enabled/i, "images"],
  [/\bis not a multimodal model\b/i, "images"],
];

/** The capability an upstream's error message says the model lacks, if it says one. */
export function unsupportedCapability(message: string): Capability | undefined {
  for (const [pattern, capability] of PHRASES) if (pattern.test(message)) return capability;
  return undefined;
}
