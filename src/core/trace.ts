// What the router tells a tracer (SPEC §9). This small interface lives below the router; the
// telemetry folder implements it with OpenTelemetry and the server passes it in. Off (no `telemetry` in the
// config, or a request not sampled) means `undefined`: the router then does nothing at all.

export type TracedOperation = "chat" | "text_completion" | "embeddings";

export interface TraceStart {
  operation: TracedOperation;
  /** The model name as the client sent it (an alias as written). */
  model: string;
  /** True when `model` is an alias of the config. */
  alias: boolean;
  protocol: string;
  endpoint: string;
  requestId: string;
  client?: string;
  stream: boolean;
  /** Incoming request headers (`traceparent`, `tracestate` are continued). */
  headers: Headers;
  /** Wall clock (ms since epoch) when the request arrived. */
  startMs: number;
  /** Message content, only read when content capture is on. */
  content?: () => unknown;
}

/** What a span needs of one candidate the router considered (the router's attempt record). */
export interface AttemptSummary {
  outcome: "served" | "failed" | "skipped";
  provider: string;
  model: string;
  /** Key fingerprint. */
  fingerprint?: string;
  status: number;
  error?: string;
  reason?: string;
}

export interface TraceEnd {
  status: number;
  provider?: string;
  providerType?: string;
  /** The upstream model that answered. */
  responseModel?: string;
  inputTokens?: number;
  outputTokens?: number;
  finishReason?: string;
  costUsd?: number;
  error?: string;
  /** Every candidate considered: failed and served attempts already have spans; skips get theirs here. */
  attempts: readonly AttemptSummary[];
}

/** One upstream attempt's span, begun before the request is sent. */
export interface AttemptTrace {
  /** W3C `traceparent` for the upstream request, naming this attempt's span. */
  readonly traceparent: string;
  /** Ends the span with what the attempt's record says (status, latency, why it failed). */
  end(record: AttemptSummary, ttftMs?: number): void;
}

export interface RequestTrace {
  attempt(providerId: string, providerType: string, model: string, keyFingerprint?: string): AttemptTrace;
  /** Ends the request span (and a served attempt's span still open); called once. */
  end(summary: TraceEnd): void;
}

export interface RequestTracer {
  /** False while nothing is traced (no `telemetry`): the router then builds no trace at all. */
  readonly enabled: boolean;
  /** The request's trace, or undefined when it is not sampled. */
  begin(start: TraceStart): RequestTrace | undefined;
}
