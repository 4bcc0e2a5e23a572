import type { ChatRequest, EmbedRequest, EmbedResponse, StreamEvent } from "../core/types";
import type { ResolvedKey, ResolvedProvider } from "../config/resolve";

/** One attempt's destination: a provider, one of its keys (none for keyless providers), a model. */
export interface Target {
  provider: ResolvedProvider;
  key?: ResolvedKey;
  /** Model name as the upstream knows it. */
  model: string;
  /** W3C trace context of this attempt, sent upstream as `traceparent` (telemetry on). */
  traceparent?: string;
}

export interface UpstreamCall {
  target: Target;
  /** Fires on client disconnect, on the attempt's first-byte timeout and on the request deadline. */
  signal: AbortSignal;
  /** Told of every read of the upstream body (`bodyChunks`): the router's stream idle watch. */
  reads?: ReadWatch;
}

/** Hears that bytes arrived from the upstream, whatever they were (SSE comments and keep-alives
 *  included): an upstream that is still sending must not be cut as stalled. */
export interface ReadWatch {
  touch(): void;
}

export interface ChatReply {
  /** The answer's events. For a stream they are pulled lazily from the upstream body; an upstream
   *  failure after the answer began is thrown from the iterator (or yielded as an `error` event). */
  events: AsyncIterable<StreamEvent>;
  /** Upstream response headers (rate-limit state), when there was an HTTP response. */
  headers?: Headers;
  /** The events include `raw` ones: the upstream's own bytes in the client's wire format
   *  (`forward`), relayed as they are; the canonical events beside them are for bookkeeping. */
  raw?: boolean;
  /** What the translation changed for the target model, one short ASCII note each
   *  (`max_tokens 32000->16384`); sent as `x-lmrelay-adjusted` and kept in the audit row. */
  adjusted?: string[];
}

/** What a model can take beyond plain text chat; the router filters candidates on it. */
export type Capability = "tools" | "images" | "embeddings" | "thinking";

/** Per capability: true = known to work, false = known not to, absent = unknown. */
export type ModelCapabilities = Partial<Record<Capability, boolean>>;

/** A model-list entry, with what the list says the model can do when it says it. */
export interface ListedModel {
  id: string;
  capabilities?: ModelCapabilities;
}

/**
 * An upstream wire format. Small on purpose: build the HTTP request, decode the answer, classify
 * errors. It throws `GatewayError` (with `provider` set) for every failure before the answer began;
 * the router decides from its kind whether to fail over.
 */
export interface UpstreamAdapter {
  readonly type: string;
  chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply>;
  /** Same-format passthrough: sends the client's original request (`req.original`) as it is, with
   *  only the edits this target needs, and answers with `raw` events. Undefined when this request
   *  cannot go as it is (another wire format, a quirk, a parameter the target refuses): the router
   *  then calls `chat`. Both answers follow the same commit and timeout rules. */
  forward?(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> | undefined;
  /** The upstream's own token count for this request's input (Anthropic `count_tokens`, Gemini
   *  `countTokens`); absent when the wire format has none. */
  countTokens?(req: ChatRequest, call: UpstreamCall): Promise<number>;
  embed?(req: EmbedRequest, call: UpstreamCall): Promise<EmbedResponse>;
  /** Model ids the provider offers, from its model-list endpoint. */
  listModels?(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]>;
  /** The same list with each model's declared capabilities, for wire formats whose list carries
   *  them (Ollama `capabilities`, Gemini `supportedGenerationMethods`); the catalog prefers it. */
  listModelDetails?(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<ListedModel[]>;
}
