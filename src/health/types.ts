import type { CooldownKind } from "./entry";

// What the health tracker tells the router, and what the router tells it.

/** What an attempt's outcome does to health (the error-class policy in router/failover.ts picks it). */
export type HealthEffect =
  /** 429: cool (provider, key, model) for the upstream's reset time or a backoff. */
  | "rate_limited"
  /** Out of quota/credit: cool the key for hours, or until the config reloads. */
  | "quota"
  /** 401/403: disable the key until the config reloads. */
  | "auth"
  /** The upstream is failing: counts toward the provider's circuit breaker. */
  | "failure"
  /** Nothing to learn: a slow start (a local model loading), a bug in lmrelay, a client abort. */
  | "none"
  /** The upstream answered (a client error): it is reachable, nothing else is learned. */
  | "reachable";

/** The skip reason of a key disabled by a 401/403 (the router recognises it in its records). */
export const KEY_DISABLED_REASON = "key disabled until reload";

export interface Block {
  kind: "disabled" | CooldownKind;
  reason: string;
  /** When the block ends (ms); absent = until the config reloads. */
  until?: number;
}

export interface CandidateHealth {
  score: number;
  latencyMs?: number;
  ttftMs?: number;
  errorRate: number;
  coolingDown: boolean;
  /** Attempts measured so far (0 = nothing known yet). */
  samples: number;
  /** Last time an attempt was measured (ms), for exploration. */
  lastAt?: number;
}
