// The canonical model every inbound codec decodes into and every upstream adapter encodes from.
// Shaped after Anthropic Messages (the richest of the wire formats): system prompt apart from
// the turns, tool results as parts of user turns, tool-call arguments as JSON text.

export type Protocol = "openai" | "anthropic" | "ollama" | "responses" | "gemini";

/** Passthrough field carrying an Anthropic client's `anthropic-beta` header to Anthropic upstreams. */
export const ANTHROPIC_BETA_FIELD = "anthropic-beta";

export interface TextPart {
  type: "text";
  text: string;
  /** Anthropic prompt-cache marker, passed through only to Anthropic upstreams. */
  cacheControl?: unknown;
}

export type ImageSource =
  | { kind: "base64"; mediaType: string; data: string }
  | { kind: "url"; url: string };

export interface ImagePart {
  type: "image";
  source: ImageSource;
  /** OpenAI `detail` hint. */
  detail?: string;
  cacheControl?: unknown;
}

export interface DocumentPart {
  type: "document";
  mediaType: string;
  /** base64 payload */
  data: string;
  cacheControl?: unknown;
}

export interface ThinkingPart {
  type: "thinking";
  text: string;
  /** Anthropic signature; must be echoed back verbatim to Anthropic. */
  signature?: string;
  /** Anthropic `redacted_thinking` payload (text is empty then). */
  redacted?: string;
  /** Provider id that produced it, when the client's history says so (a Responses reasoning item's
   *  envelope): only that provider gets it back (core/reasoning.ts). */
  origin?: string;
}

export interface ToolCallPart {
  type: "tool_call";
  id: string;
  name: string;
  /** JSON text of the arguments object ("{}" when empty). */
  arguments: string;
  /** Gemini thought signature to echo back. */
  signature?: string;
  /** Provider id that produced `signature`, when known: no other provider gets the signature. */
  signatureOrigin?: string;
}

export interface ToolResultPart {
  type: "tool_result";
  toolCallId: string;
  /** Function name when the wire format carried it (Ollama, Gemini); else looked up from history. */
  name?: string;
  content: (TextPart | ImagePart)[];
  isError?: boolean;
  cacheControl?: unknown;
}

export type ContentPart = TextPart | ImagePart | DocumentPart | ThinkingPart | ToolCallPart | ToolResultPart;

export interface Message {
  role: "user" | "assistant";
  content: ContentPart[];
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
  cacheControl?: unknown;
}

export type ToolChoice =
  | { type: "auto" }
  | { type: "none" }
  | { type: "required" }
  | { type: "tool"; name: string };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json"; schema?: Record<string, unknown>; name?: string; strict?: boolean };

export interface Reasoning {
  /** Effort level as the client expressed it (OpenAI `reasoning_effort`, Ollama `think: "high"`). */
  effort?: "minimal" | "low" | "medium" | "high" | "xhigh" | "max";
  /** Anthropic `budget_tokens`. */
  budgetTokens?: number;
  /** false = explicitly off. */
  enabled: boolean;
}

export interface ChatRequest {
  /** Model name as the client asked for it (alias, provider/model or plain name). */
  model: string;
  system: TextPart[];
  messages: Message[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  reasoning?: Reasoning;
  /** Opaque end-user id (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
  stream: boolean;
  /** The client asked for usage inside the stream (OpenAI `stream_options.include_usage`). */
  includeUsage?: boolean;
  /** Legacy prompt form (`/v1/completions`, `/api/generate`): answer is plain text. */
  legacyCompletion?: boolean;
  /** Options of the inbound protocol with no canonical field (Ollama `options.num_ctx`, `keep_alive`…),
   *  forwarded only to an upstream of the same wire format. An Anthropic client's `anthropic-beta`
   *  header travels here under `ANTHROPIC_BETA_FIELD`. */
  passthrough?: { protocol: Protocol; fields: Record<string, unknown> };
  /** The client's request as received (its text and parsed body), for an upstream adapter that can
   *  take this wire format as it is (`UpstreamAdapter.forward`). Set by the inbound codec. */
  original?: OriginalRequest;
  /** What the inbound codec left out because the request is translated (a Responses request's
   *  hosted tools, say): joined into `x-lmrelay-adjusted` and the audit row unless the answer is
   *  forwarded as it is. */
  adjusted?: string[];
}

/** A client's request body as it arrived, in its own wire format. */
export interface OriginalRequest {
  protocol: Protocol;
  /** The body's text, exactly as received. */
  text: string;
  /** The same body, parsed. */
  body: Record<string, unknown>;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "stop_sequence";

export interface Usage {
  /** Every input token, cached ones included (OpenAI `prompt_tokens` semantics). */
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens: read from the prompt cache. */
  cacheReadTokens?: number;
  /** Of inputTokens: written to the prompt cache. */
  cacheWriteTokens?: number;
  /** Of outputTokens: spent on reasoning. */
  reasoningTokens?: number;
  /** True when lmrelay estimated the numbers because the upstream did not report them. */
  estimated?: boolean;
}

/** One event of an answer. A non-stream answer is the fold of the same events (core/fold.ts). */
export type StreamEvent =
  | { type: "start"; id?: string; model?: string; usage?: Partial<Usage> }
  | { type: "text"; text: string }
  | { type: "thinking"; text: string }
  | { type: "thinking_signature"; signature: string }
  | { type: "redacted_thinking"; data: string }
  /** `index` counts tool calls within the answer, from 0. */
  | { type: "tool_call_start"; index: number; id: string; name: string; signature?: string }
  | { type: "tool_call_delta"; index: number; arguments: string }
  | { type: "usage"; usage: Usage }
  | { type: "finish"; reason: FinishReason; stopSequence?: string }
  /** An upstream error after the answer began (the HTTP status is already 200). */
  | { type: "error"; error: import("./errors").GatewayError }
  /** Same-format passthrough only (an adapter's `forward`): answer bytes already in the client's
   *  wire format; `content` = they carry output (time to first token), `chars` = how much. */
  | { type: "raw"; data: string | Uint8Array; content: boolean; chars: number };

export interface ChatResponse {
  id: string;
  model: string;
  content: (TextPart | ThinkingPart | ToolCallPart)[];
  finishReason: FinishReason;
  stopSequence?: string;
  usage: Usage;
}

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
  /** Ollama `truncate`. */
  truncate?: boolean;
}

export interface EmbedResponse {
  model: string;
  vectors: number[][];
  usage: { inputTokens: number };
}

export interface ModelInfo {
  id: string;
  /** Provider id it belongs to, absent for aliases. */
  provider?: string;
  ownedBy: string;
  created: number;
  free?: boolean;
}
