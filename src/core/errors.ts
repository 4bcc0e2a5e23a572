// Errors are values with a kind. Each inbound codec maps a kind to its own wire shape in one
// place (its `encodeError`); the router decides failover from the kind, never from wire details.

export type ErrorKind =
  | "invalid_request" // 400: the client's request is wrong
  | "authentication" // 401
  | "permission" // 403
  | "not_found" // 404
  | "request_too_large" // 413
  | "rate_limited" // 429
  | "context_length" // 400: prompt too long for the model
  | "content_filter" // 400: refused by a safety system
  | "upstream_error" // 5xx from an upstream, or a broken answer
  | "overloaded" // 503 / 529
  | "unavailable" // 503: nothing could be tried
  | "timeout" // 504
  | "internal"; // 500: a bug in lmrelay

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  request_too_large: 413,
  rate_limited: 429,
  context_length: 400,
  content_filter: 400,
  upstream_error: 502,
  overloaded: 503,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

export interface GatewayErrorOptions {
  status?: number;
  /** Milliseconds the client should wait (becomes `Retry-After`). */
  retryAfterMs?: number;
  /** Provider id when the error came from an upstream. */
  provider?: string;
  /** Name of the offending request field, when known (OpenAI `param`). */
  param?: string;
  /** Provider's own error code (`insufficient_quota`, `API_KEY_INVALID`…). */
  code?: string;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly retryAfterMs?: number;
  readonly provider?: string;
  readonly param?: string;
  readonly code?: string;
  readonly headers?: Record<string, string>;

  constructor(kind: ErrorKind, message: string, opts: GatewayErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "GatewayError";
    this.kind = kind;
    this.status = opts.status ?? STATUS_BY_KIND[kind];
    this.retryAfterMs = opts.retryAfterMs;
    this.provider = opts.provider;
    this.param = opts.param;
    this.code = opts.code;
    this.headers = opts.headers;
  }
}

/** An error lmrelay itself produces: SPEC §6 wants its message to start with `lmrelay: `. */
export function lmrelayError(kind: ErrorKind, message: string, opts?: GatewayErrorOptions): GatewayError {
  return new GatewayError(kind, `lmrelay: ${message}`, opts);
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return lmrelayError("internal", message, { cause: err });
}

/** Default kind for an upstream HTTP status. Adapters refine it from the body (quota, context length…). */
export function kindForStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return "invalid_request";
  if (status === 401) return "authentication";
  if (status === 403) return "permission";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 529) return "overloaded";
  if (status === 504) return "timeout";
  if (status >= 500) return "upstream_error";
  return "invalid_request";
}

/**
 * What a client is told of an error. An upstream's 401/403 (or a spelling of it such as Gemini's
 * `API_KEY_INVALID`) is about lmrelay's key for that upstream, never the client's own: relayed as
 * it is, a client such as Claude Code reads `authentication_error` as its own bad login. The
 * router turns such failures before an answer into `rejected its key` errors; this covers one an
 * upstream reports inside an answer.
 */
export function clientFacing(err: GatewayError): GatewayError {
  if (!err.provider || (err.kind !== "authentication" && err.kind !== "permission")) return err;
  return lmrelayError("upstream_error", `upstream ${err.provider} rejected its key: ${err.message}`, {
    status: 502,
    code: "upstream_key_rejected",
    provider: err.provider,
    headers: { ...err.headers, "x-should-retry": "false" },
    cause: err,
  });
}
