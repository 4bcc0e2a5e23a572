import type { GatewayError } from "../../core/errors";
import { safeHeaders } from "../http";

// The one place where an error kind becomes OpenAI's error shape, before and during a stream.

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Anthropic's 529 means "overloaded"; OpenAI clients know 503 for that (both SDKs retry >= 500). */
export function openaiStatus(err: GatewayError): number {
  return err.status === 529 ? 503 : err.status;
}

function typeAndCode(err: GatewayError, status: number): { type: string; code: string | null } {
  const code = err.code ?? null;
  if (status === 401) return { type: "invalid_request_error", code: code ?? "invalid_api_key" };
  if (status === 403) return { type: "permission_error", code };
  if (status === 404) {
    const aboutModel = err.param === "model" || /\bmodel\b/i.test(err.message);
    return { type: "invalid_request_error", code: code ?? (aboutModel ? "model_not_found" : null) };
  }
  if (status === 429) {
    if (code === "insufficient_quota") return { type: "insufficient_quota", code };
    return { type: "requests", code: code ?? "rate_limit_exceeded" };
  }
  if (status >= 500) return { type: "server_error", code };
  if (err.kind === "context_length") return { type: "invalid_request_error", code: code ?? "context_length_exceeded" };
  if (err.kind === "content_filter") return { type: "invalid_request_error", code: code ?? "content_filter" };
  if (err.kind === "request_too_large") return { type: "invalid_request_error", code: code ?? "request_too_large" };
  return { type: "invalid_request_error", code };
}

export function openaiErrorBody(err: GatewayError, status: number = openaiStatus(err)): OpenAIErrorBody {
  const { type, code } = typeAndCode(err, status);
  return { error: { message: err.message, type, param: err.param ?? null, code } };
}

/** An error before any answer byte: OpenAI body, status, `retry-after` and `x-request-id`. */
export function openaiErrorResponse(err: GatewayError, requestId: string): Response {
  const status = openaiStatus(err);
  const headers: Record<string, string> = { ...safeHeaders(err.headers), "content-type": "application/json", "x-request-id": requestId };
  if (err.retryAfterMs !== undefined && err.retryAfterMs >= 0) {
    headers["retry-after"] = String(Math.ceil(err.retryAfterMs / 1000));
    // The OpenAI SDK prefers the millisecond form when present.
    headers["retry-after-ms"] = String(Math.ceil(err.retryAfterMs));
  }
  return new Response(JSON.stringify(openaiErrorBody(err, status)), { status, headers });
}
