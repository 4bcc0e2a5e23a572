import type { GatewayError } from "../../core/errors";
import { safeHeaders } from "../http";

// The one place where error kinds become Anthropic's error shape, both as an HTTP answer and as
// the in-stream `event: error` frame.

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  503: "overloaded_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const TYPE_BY_KIND: Record<GatewayError["kind"], string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  request_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  context_length: "invalid_request_error",
  content_filter: "invalid_request_error",
  upstream_error: "api_error",
  overloaded: "overloaded_error",
  unavailable: "overloaded_error",
  timeout: "timeout_error",
  internal: "api_error",
};

export function anthropicErrorType(err: GatewayError): string {
  return TYPE_BY_STATUS[err.status] ?? TYPE_BY_KIND[err.kind];
}

/** Anthropic answers "overloaded" with its own 529, which its SDK retries. */
export function anthropicErrorStatus(err: GatewayError): number {
  return err.kind === "overloaded" ? 529 : err.status;
}

export function anthropicErrorBody(err: GatewayError, requestId?: string): Record<string, unknown> {
  const body: Record<string, unknown> = { type: "error", error: { type: anthropicErrorType(err), message: err.message } };
  if (requestId) body.request_id = requestId;
  return body;
}

export function anthropicErrorResponse(err: GatewayError, requestId: string): Response {
  const headers: Record<string, string> = {
    ...safeHeaders(err.headers),
    "content-type": "application/json",
    "x-request-id": requestId,
    "request-id": requestId,
  };
  if (err.retryAfterMs !== undefined && err.retryAfterMs >= 0) {
    headers["retry-after"] = String(Math.ceil(err.retryAfterMs / 1000));
    headers["retry-after-ms"] = String(Math.ceil(err.retryAfterMs));
  }
  const status = anthropicErrorStatus(err);
  // Anthropic's SDKs obey this before their own status rules, and Claude Code, left to itself,
  // retries even a 401 ten times with backoff (about a minute) before giving up. An error that says
  // it itself (a rejected upstream key, a spent budget) keeps its word.
  headers["x-should-retry"] ??= String(status === 408 || status === 409 || status === 429 || status >= 500);
  return new Response(JSON.stringify(anthropicErrorBody(err, requestId)), { status, headers });
}
