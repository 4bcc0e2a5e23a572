import type { GatewayError } from "./errors";
import type { RequestTrace } from "./trace";
import type { ChatRequest, EmbedRequest, EmbedResponse, ModelInfo, Protocol, StreamEvent } from "./types";

// The contract between the inbound routes and the router: what a route knows of its request, and
// what it may ask of the gateway. Here, below both, so neither imports the other (the server
// hands the router's gateway to the routes).

/** The authenticated client, as far as the routes need to know it (governance reads the rest). */
export interface RequestClient {
  readonly id: string;
}

/** What the server knows about one inbound request, shared by codec, router and audit. */
export interface RequestContext {
  /** Sent back as `x-request-id`. */
  requestId: string;
  protocol: Protocol;
  /** Inbound endpoint, e.g. "/v1/chat/completions". */
  endpoint: string;
  headers: Headers;
  /** Fires when the client disconnects. */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
  /** Wall clock (ms since epoch) when the request arrived. */
  receivedAtMs: number;
  /** The authenticated client, when clients are configured (the server sets it from `authenticate`). */
  client?: RequestClient;
  /** Set once the request's audit row is queued, so it is written exactly once. */
  audited?: boolean;
  /** The request's trace when telemetry is on and the request is sampled. */
  trace?: RequestTrace;
  /** The inbound protocol's own check of a whole answer it is about to encode (a tool input its
   *  format cannot carry): an error here is the answer's, in the audit row as in the response. */
  checkAnswer?: (events: readonly StreamEvent[]) => GatewayError | undefined;
}

export interface ChatOutcome {
  /** Provider id and upstream model that answered. */
  provider: string;
  model: string;
  /** The whole answer as events. Iterate it to the end (or stop early: that aborts the upstream). */
  events: AsyncIterable<StreamEvent>;
  /** `x-lmrelay-*` headers to add to the response. */
  headers: Record<string, string>;
  /** The events carry the upstream's own bytes (`raw` events): relay those, encode nothing. */
  raw?: boolean;
  /** lmrelay's estimate of the request's input tokens (for answers whose upstream reports none). */
  promptTokens: number;
}

/** Response header saying a token count is lmrelay's estimate, not an upstream's count. */
export const ESTIMATED_HEADER = "x-lmrelay-estimated";

export interface TokenCount {
  /** Input tokens of the request. */
  tokens: number;
  /** True when lmrelay estimated it (no upstream counter was asked or could answer). */
  estimated: boolean;
  /** Provider id and upstream model that counted, when an upstream did. */
  provider?: string;
  model?: string;
  /** `x-lmrelay-*` headers to add to the response. */
  headers: Record<string, string>;
}

export interface EmbedOutcome {
  provider: string;
  model: string;
  response: EmbedResponse;
  headers: Record<string, string>;
}

/** What inbound routes call. Knows nothing of wire formats. */
export interface Gateway {
  chat(req: ChatRequest, ctx: RequestContext): Promise<ChatOutcome>;
  embed(req: EmbedRequest, ctx: RequestContext): Promise<EmbedOutcome>;
  /** The request's input tokens: the resolved upstream's own counter when it has one, else
   *  lmrelay's estimate (flagged `estimated`). */
  countTokens(req: ChatRequest, ctx: RequestContext): Promise<TokenCount>;
  /** Models and aliases the request's client may use. */
  models(ctx: RequestContext): ModelInfo[];
  /** Records a request that ended before reaching the router (bad input, auth failure…). */
  recordRejected(ctx: RequestContext, status: number, error: string, model?: string): void;
}
