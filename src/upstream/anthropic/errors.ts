import type { ErrorKind } from "../../core/errors";
import type { ErrorClassifier } from "../http";

// Anthropic's error types (`{"type":"error","error":{"type","message"}}`) → kinds and codes. The
// HTTP status decides the kind first (core/errors kindForStatus, upstream/http classifyError); the
// type refines it and always becomes the error's `code`.

const KIND_BY_TYPE: Record<string, ErrorKind> = {
  invalid_request_error: "invalid_request",
  authentication_error: "authentication",
  permission_error: "permission",
  not_found_error: "not_found",
  request_too_large: "request_too_large",
  rate_limit_error: "rate_limited",
  billing_error: "rate_limited",
  api_error: "upstream_error",
  overloaded_error: "overloaded",
  timeout_error: "timeout",
};

/** Kind of an Anthropic error type, for errors that arrive without a meaningful status (mid-stream). */
export function anthropicErrorKind(type: string): ErrorKind | undefined {
  return KIND_BY_TYPE[type];
}

/** Out of credit is a property of the key: another key or provider may still answer. */
function isOutOfCredit(type: string | undefined, message: string | undefined, body: any): boolean {
  if (type === "billing_error") return true;
  if (type === "rate_limit_error" && body?.error?.details?.error_code === "enforced_spend_limit_reached") return true;
  // Anthropic reports an exhausted prepaid balance as a plain 400.
  return type === "invalid_request_error" && /credit balance is too low/i.test(message ?? "");
}

export const classifyAnthropicError: ErrorClassifier = (_status, info, body) => {
  const type = info.type;
  if (isOutOfCredit(type, info.message, body)) return { kind: "rate_limited", code: "insufficient_quota" };
  if (type === "overloaded_error") return { kind: "overloaded", code: type };
  return type ? { code: type } : undefined;
};
