// What several nodes share (SPEC §8), as the small interfaces governance, health and the router
// are handed. This folder sits below them (like store/): they import these types, the runtime
// passes the Redis implementation in. Without `cluster` none is passed and each part keeps its
// in-memory state, exactly as one node always did.

/** The logger this folder is handed (structurally the app's Logger; not imported, so this folder
 *  depends on nothing above it). */
export interface ClusterLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** One admission against limits that hold across nodes: a client's, or an upstream key's. */
export interface SharedAdmission {
  /** `client:<id>` or `key:<provider>:<fingerprint>`: whose limits. */
  subject: string;
  /** Unique per request (its request id): the concurrency lease and the budget reservation. */
  lease: string;
  rpm?: number;
  tpm?: number;
  concurrency?: number;
  /** Estimated tokens counted against `tpm` now, replaced by the real count at settlement. */
  tokens: number;
  budget?: {
    usd: number;
    /** The budget period's spend key (`day:2026-12-07`, `month:2026-12`, `total`). */
    period: string;
    /** The least this request adds (reserved until it settles). */
    leastUsd: number;
    /** A free candidate is usable: the budget filters the priced ones but never refuses. */
    free: boolean;
  };
}

export type SharedRefusal = "concurrency" | "rpm" | "tpm_request" | "tpm" | "budget";

export interface SharedAnswer {
  /** Why it was refused; absent when admitted. `seed` = the period's spend is not in Redis yet. */
  refused?: SharedRefusal | "seed";
  /** How long until it would fit (refusals). */
  waitMs: number;
  /** Counts across every node, including this admission when admitted. */
  inFlight: number;
  requests: number;
  tokens: number;
  /** Spend settled in the period plus every running request's reservation, before this one. */
  committedUsd: number;
  /** Redis clock second of the admission: settlement moves the token estimate out of it. */
  second: number;
}

export interface SharedSettlement {
  subject: string;
  lease: string;
  /** Set when the subject has a tpm: the estimate leaves `second`, the real count is added now. */
  tpm?: { second: number; estimate: number; tokens: number };
  /** Cost added to every spend period already known to Redis (`day:…`, `month:…`, `total`). */
  costUsd: number;
  periods: string[];
}

/** Limits and budgets across nodes. `undefined` from a call = no answer in time (Redis down or
 *  slow): the caller decides on its own state, or refuses under `onRedisDown: "reject"`. */
export interface SharedLimits {
  readonly up: boolean;
  admit(a: SharedAdmission): Promise<SharedAnswer | undefined>;
  /** Fire and forget: releases the lease and reservation, corrects tokens, adds spend. */
  settle(s: SharedSettlement): void;
  /** Puts a period's spend (read from the audit store) into Redis unless another node already did. */
  seedSpend(subject: string, period: string, usd: number): Promise<boolean>;
}

/** What one node learned about an upstream that every node must honour (within a second). */
export type SharedBlock =
  | { type: "cooldown"; provider: string; fp: string; model: string; until: number; kind: string; reason: string }
  | { type: "disabled"; provider: string; fp: string; status: string }
  | { type: "clear"; provider: string; fp: string; model: string };

export interface SharedBlocks {
  publish(block: SharedBlock): void;
  /** The config reloaded: keys disabled by a 401/403 get their chance again on every node. */
  forgetDisabled(): void;
}
