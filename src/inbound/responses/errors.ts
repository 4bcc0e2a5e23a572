import { GatewayError } from "../../core/errors";
import { openaiErrorResponse } from "../openai/errors";

// Errors before the answer: OpenAI's shape and status (the same as Chat Completions). After the
// stream began: `response.failed` carries `error.code`, which Codex reads to decide what to do
// (`rate_limit_exceeded` → wait "try again in Ns", `context_length_exceeded` → stop, the rest → retry).

/** OpenAI's error shape, with the codes OpenAI's Responses API itself uses for a rate limit and an
 *  overlong prompt (an upstream's own spelling, like Anthropic's `rate_limit_error`, would not be
 *  recognised by Codex). */
export function responsesErrorResponse(err: GatewayError, requestId: string): Response {
  const code = err.kind === "rate_limited" || err.kind === "context_length" ? failedCode(err) : err.code;
  if (code === err.code) return openaiErrorResponse(err, requestId);
  const opts = { status: err.status, retryAfterMs: err.retryAfterMs, provider: err.provider, param: err.param, code, headers: err.headers, cause: err.cause };
  return openaiErrorResponse(new GatewayError(err.kind, err.message, opts), requestId);
}

export function failedCode(err: GatewayError): string {
  if (err.kind === "rate_limited") return err.code === "insufficient_quota" ? "insufficient_quota" : "rate_limit_exceeded";
  if (err.kind === "context_length") return "context_length_exceeded";
  if (err.kind === "content_filter") return "content_filter";
  if (err.kind === "invalid_request") return err.code ?? "invalid_request";
  if (err.kind === "overloaded" || err.kind === "unavailable") return "server_is_overloaded";
  if (err.kind === "timeout") return "timeout";
  return "server_error";
}

/** The message of a failed response; a rate limit says when to come back in the words Codex parses. */
export function failedMessage(err: GatewayError): string {
  if (err.kind === "rate_limited" && err.retryAfterMs !== undefined && !/try again in/i.test(err.message))
    return `${err.message} Please try again in ${Math.max(1, Math.ceil(err.retryAfterMs / 1000))}s.`;
  return err.message;
}
