import type { GatewayError } from "../../core/errors";
import { safeHeaders } from "../http";

// The one place where error kinds become Google's error shape `{error: {code, message, status}}`,
// both as an HTTP answer and as the in-stream error chunk. `code` is the HTTP status, `status`
// Google's name for it (SPEC §2; google.rpc.Code).

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  408: "DEADLINE_EXCEEDED",
  409: "ABORTED",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

export function googleStatusName(status: number): string {
  return STATUS_NAMES[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT");
}

export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: Record<string, string>[] };
}

/** When to retry travels as a `google.rpc.RetryInfo` detail, which Google's clients (Gemini CLI
 *  among them) read to pace their retries; `Retry-After` is set too. */
export function geminiErrorBody(err: GatewayError): GeminiErrorBody {
  const body: GeminiErrorBody = { error: { code: err.status, message: err.message, status: googleStatusName(err.status) } };
  if (err.retryAfterMs !== undefined && err.retryAfterMs >= 0)
    body.error.details = [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${Math.ceil(err.retryAfterMs / 1000)}s` }];
  return body;
}

export function geminiErrorResponse(err: GatewayError, requestId: string): Response {
  const headers: Record<string, string> = { ...safeHeaders(err.headers), "content-type": "application/json; charset=UTF-8", "x-request-id": requestId };
  if (err.retryAfterMs !== undefined && err.retryAfterMs >= 0) headers["retry-after"] = String(Math.ceil(err.retryAfterMs / 1000));
  return new Response(JSON.stringify(geminiErrorBody(err)), { status: err.status, headers });
}
