import type { GatewayError } from "../../core/errors";
import { classifyError, type ErrorClassifier, extractErrorInfo, type UpstreamEndpoint, upstreamError } from "../http";
import type { GeminiErrorBody } from "./wire";

// Gemini's own error spellings: `{"error":{"code","message","status","details":[…]}}`. A bad key
// is a 400 whose ErrorInfo reason is API_KEY_INVALID; a quota error may say when to retry in a
// RetryInfo detail ("13s").

type Details = NonNullable<NonNullable<GeminiErrorBody["error"]>["details"]>;

function detailsOf(body: unknown): Details {
  const details = (body as GeminiErrorBody | undefined)?.error?.details;
  return Array.isArray(details) ? details : [];
}

/** `"13s"`, `"0.5s"`, `"1.250s"` (protobuf Duration JSON) → milliseconds. */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

export const classifyGeminiError: ErrorClassifier = (status, info, body) => {
  const details = detailsOf(body);
  const reason = details.map((d) => d?.reason).find((r) => r === "API_KEY_INVALID" || r === "API_KEY_EXPIRED");
  if (reason || /API_KEY_INVALID|API key not valid/i.test(info.message ?? "")) {
    // A bad key: the client sees what it is, an authentication failure, and the key gets disabled.
    return { kind: "authentication", code: reason ?? "API_KEY_INVALID", status: 401 };
  }
  if (status === 400 && /exceeds the maximum number of tokens/i.test(info.message ?? "")) return { kind: "context_length" };
  if (status === 429 || info.type === "RESOURCE_EXHAUSTED") {
    const retry = details.find((d) => typeof d?.["@type"] === "string" && d["@type"].endsWith("google.rpc.RetryInfo"));
    return { kind: "rate_limited", retryAfterMs: parseDuration(retry?.retryDelay) };
  }
  return undefined;
};

/** An error object that arrived inside a 200 stream (`data: {"error":{…}}`). */
export function geminiStreamError(ep: Pick<UpstreamEndpoint, "providerId" | "secret">, body: unknown): GatewayError {
  const info = extractErrorInfo(body);
  const status = info.status ?? 500;
  const refined = classifyError(status, info, body, classifyGeminiError);
  return upstreamError(ep, refined.kind, info.message ?? "the stream reported an error", {
    status: refined.status ?? status,
    retryAfterMs: refined.retryAfterMs,
    code: refined.code,
  });
}
