import { GatewayError, lmrelayError } from "../core/errors";

// The error-class policy in one place: what the attempt loop does with each kind of failure.
//   rotate   — this key is bad (401/403): disable it, try the next key or candidate
//   failover — transient (connection, timeout, 408/409/429/5xx/529): try the next key or candidate
//   fail     — the request itself is at fault (other 4xx, content policy): answer the client now

export type FailoverAction = "rotate" | "failover" | "fail";

export function failoverAction(err: GatewayError): FailoverAction {
  switch (err.kind) {
    case "authentication":
    case "permission":
      return "rotate";
    case "rate_limited":
    case "overloaded":
    case "upstream_error":
    case "timeout":
    case "unavailable":
    case "internal":
      return "failover";
    default:
      return err.status === 408 || err.status === 409 ? "failover" : "fail";
  }
}

export interface AttemptRecord {
  provider: string;
  model: string;
  /** Key name or fingerprint — never the key. */
  key?: string;
  status: number;
  latencyMs: number;
  error?: string;
}

/** The error a client gets when every attempt failed (SPEC §5: 502, 503 when nothing was tryable, 504 on timeout). */
export function exhaustedError(attempts: AttemptRecord[], lastError: GatewayError | undefined, timedOut: boolean): GatewayError {
  if (attempts.length === 0)
    return lmrelayError("unavailable", "no upstream could be tried for this request (all candidates are filtered out or unavailable)");
  const list = attempts.map((a) => `${a.provider}/${a.model}${a.key ? ` [${a.key}]` : ""}: ${a.status || "no response"} ${a.error ?? ""}`.trim()).join("; ");
  const summary = `all ${attempts.length} attempt${attempts.length > 1 ? "s" : ""} failed: ${list}`;
  if (timedOut) return lmrelayError("timeout", `request timed out; ${summary}`);
  const retryAfterMs = lastError?.kind === "rate_limited" ? lastError.retryAfterMs : undefined;
  if (attempts.every((a) => a.status === 429))
    return lmrelayError("rate_limited", summary, { retryAfterMs });
  return lmrelayError("upstream_error", summary, { status: 502 });
}
