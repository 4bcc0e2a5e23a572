import { type GatewayError, lmrelayError } from "../core/errors";
import { type HealthEffect, KEY_DISABLED_REASON } from "../health/tracker";
import { unsupportedCapability } from "../upstream/unsupported";
import type { Capability } from "../upstream/types";
import { capabilityError } from "./capabilities";
import { type AttemptRecord, describeAttempts } from "./explain";

// The error-class policy, in one place: for each class of upstream failure, what the attempt loop
// does next and what health learns from it. The README's failover table mirrors this one.
//
//   retry     — the same key once more, then as `failover`
//   rotate    — this key cannot serve now: its next sibling key, then the next candidate
//   failover  — the provider is in trouble: the next candidate (its other keys wait until last)
//   larger    — the prompt is too long: only candidates with a larger known context window
//   next      — this model cannot take the request: the next candidate (its other keys would
//               meet the same wall)
//   fail      — the request itself is at fault: the client gets the error now

export type FailoverAction = "retry" | "rotate" | "failover" | "larger" | "next" | "fail";

export type ErrorClass =
  | "rate_limited"
  | "quota_exhausted"
  | "auth"
  | "overloaded"
  | "server_error"
  | "timeout"
  | "connection"
  | "conflict"
  | "context_length"
  | "capability"
  | "content_policy"
  | "lmrelay_bug"
  | "client_error";

export interface ErrorPolicy {
  action: FailoverAction;
  health: HealthEffect;
}

export const ERROR_POLICY: Record<ErrorClass, ErrorPolicy> = {
  /** 429: cool (provider, key, model) for Retry-After / the reset headers, else exponential backoff. */
  rate_limited: { action: "rotate", health: "rate_limited" },
  /** 429/402 insufficient_quota, billing: cool the key for an hour or until the config reloads. */
  quota_exhausted: { action: "rotate", health: "quota" },
  /** 401/403 (and spellings like Gemini's 400 API_KEY_INVALID): disable the key until reload. */
  auth: { action: "rotate", health: "auth" },
  /** 529, 503: the provider is overloaded. */
  overloaded: { action: "failover", health: "failure" },
  /** Other 5xx, a broken answer, a stream cut before its first token. */
  server_error: { action: "failover", health: "failure" },
  /** No first byte in time, 504, the upstream's own timeout. */
  timeout: { action: "failover", health: "failure" },
  /** Refused, reset, DNS: every key of the provider would meet the same wall. */
  connection: { action: "failover", health: "failure" },
  /** 408, 409: transient on the upstream's side; the same key usually works at once. */
  conflict: { action: "retry", health: "none" },
  /** The prompt exceeds the model's context window. */
  context_length: { action: "larger", health: "reachable" },
  /** The model does not support something the request uses (tools, images, thinking, embeddings):
   *  remembered for (provider, model), so later such requests skip it (router/capabilities.ts). */
  capability: { action: "next", health: "reachable" },
  /** A safety system refused: another provider must not be used to get around it (unless
   *  `routing.contentPolicyFailover` says so). */
  content_policy: { action: "fail", health: "reachable" },
  /** An exception inside lmrelay while talking to this provider: another provider may work. */
  lmrelay_bug: { action: "failover", health: "none" },
  /** Other 4xx: the request is wrong and would be wrong anywhere. */
  client_error: { action: "fail", health: "reachable" },
};

export function errorClass(err: GatewayError): ErrorClass {
  return classify(err).cls;
}

function classify(err: GatewayError): { cls: ErrorClass; capability?: Capability } {
  const cls = classByKind(err);
  // A model lacking a capability answers 400 (OpenRouter 404, llama.cpp 500); only its words tell.
  if (cls === "client_error" || cls === "server_error") {
    const capability = err.code === "connection_error" ? undefined : unsupportedCapability(err.message);
    if (capability) return { cls: "capability", capability };
  }
  return { cls };
}

function classByKind(err: GatewayError): ErrorClass {
  if (err.status === 408 || err.status === 409) return "conflict";
  switch (err.kind) {
    case "rate_limited":
      return err.code === "insufficient_quota" ? "quota_exhausted" : "rate_limited";
    case "authentication":
    case "permission":
      return "auth";
    case "overloaded":
      return "overloaded";
    case "timeout":
      return "timeout";
    case "upstream_error":
    case "unavailable":
      return err.code === "connection_error" ? "connection" : "server_error";
    case "context_length":
      return "context_length";
    case "content_filter":
      return "content_policy";
    case "internal":
      return "lmrelay_bug";
    default:
      return err.status >= 500 ? "server_error" : "client_error";
  }
}

/** The policy for an error; `contentPolicyFailover` (config) lets a refusal move on after all. */
export function policyFor(err: GatewayError, contentPolicyFailover = false): ErrorPolicy & { cls: ErrorClass; capability?: Capability } {
  const { cls, capability } = classify(err);
  if (cls === "content_policy" && contentPolicyFailover) return { cls, action: "failover", health: "reachable" };
  if (capability) return { cls, ...ERROR_POLICY[cls], capability };
  return { cls, ...ERROR_POLICY[cls] };
}

/** Every candidate was skipped for its context window (client allow-list skips aside): the
 *  prompt must shrink, so 400 naming the largest window there was. */
export function contextWindowError(records: AttemptRecord[]): GatewayError | undefined {
  let largest: AttemptRecord | undefined;
  for (const r of records) {
    if (r.outcome === "skipped" && (r.reason === "client allow-list" || r.reason === "route()")) continue;
    if (r.outcome !== "skipped" || r.reason !== "context window" || r.window === undefined) return undefined;
    if (!largest || r.window > largest.window!) largest = r;
  }
  if (!largest) return undefined;
  return lmrelayError(
    "invalid_request",
    `the prompt is larger than the context window of every model for this request (largest: ${largest.window} tokens, ${largest.provider}/${largest.model})`,
    { status: 400, code: "context_length_exceeded", param: "messages" },
  );
}

/**
 * The error a client gets when no attempt succeeded (SPEC §5): 503 when nothing could be tried
 * (with Retry-After when everything is only cooling down), 504 when the deadline passed, 429 when
 * every attempt was rate-limited, 400 when no candidate supports what the request needs (tools,
 * images…), else 502. The message lists each attempt and skip, never a key.
 */
export function exhaustedError(records: AttemptRecord[], lastError: GatewayError | undefined, timedOut: boolean, now = Date.now()): GatewayError {
  if (!timedOut) {
    const unsupported = capabilityError(records) ?? contextWindowError(records);
    if (unsupported) return unsupported;
  }
  const tried = records.filter((r) => r.outcome === "failed");
  const skipped = records.filter((r) => r.outcome === "skipped");
  if (tried.length === 0) {
    const untils = skipped.map((s) => s.until).filter((u): u is number => u !== undefined);
    const retryAfterMs = untils.length === skipped.length && untils.length ? Math.max(0, Math.min(...untils) - now) : undefined;
    const why = skipped.length ? `: ${describeAttempts(skipped)}` : " (all candidates are filtered out or unavailable)";
    const disabled = skipped.length > 0 && skipped.every((s) => s.reason?.startsWith(KEY_DISABLED_REASON));
    if (disabled) return lmrelayError("unavailable", `${rejectedKeys(skipped)}${why}`, { code: "upstream_key_rejected", headers: NO_RETRY });
    return lmrelayError("unavailable", `no upstream could be tried for this request${why}`, { retryAfterMs });
  }
  // An upstream's 401/403 is about lmrelay's key, never the client's: passed on as it is, a client
  // such as Claude Code would take it for its own bad login. So it is never the "single upstream
  // tried" answer below, and when key rejections are all that happened the message says so.
  if (!timedOut && tried.every((r) => r.reason === "auth"))
    return lmrelayError("upstream_error", `${rejectedKeys(tried)}: ${describeAttempts(records)}`, { status: 502, code: "upstream_key_rejected", headers: NO_RETRY });
  // With a single upstream tried, its own answer is the most faithful one: status, message
  // (prefixed by the provider id), Retry-After. The audit row (and x-lmrelay-route, where it is
  // shown) still tells the whole story.
  if (tried.length === 1 && !timedOut && lastError?.provider) return lastError;
  const summary = `all ${tried.length} attempt${tried.length > 1 ? "s" : ""} failed: ${describeAttempts(records)}`;
  if (timedOut) return lmrelayError("timeout", `request timed out; ${summary}`);
  if (tried.every((a) => a.status === 429)) return lmrelayError("rate_limited", summary, { retryAfterMs: lastError?.retryAfterMs });
  if (tried.every((a) => a.status === 503 || a.status === 529)) return lmrelayError("overloaded", summary, { retryAfterMs: lastError?.retryAfterMs });
  return lmrelayError("upstream_error", summary, { status: 502 });
}

/** A rejected key stays disabled until the config reloads: a client retrying at once (SDKs retry
 *  5xx; they obey this header first) would only be refused again. */
const NO_RETRY = { "x-should-retry": "false" };

/** `upstream a rejected its key`, `upstream a rejected its keys`, `upstreams a, b rejected their keys`. */
function rejectedKeys(records: AttemptRecord[]): string {
  const providers = [...new Set(records.map((r) => r.provider))];
  if (providers.length > 1) return `upstreams ${providers.join(", ")} rejected their keys`;
  return `upstream ${providers[0]} rejected its key${records.length > 1 ? "s" : ""}`;
}
