// One health record and the arithmetic on it. Records exist at three scopes, all the same shape:
//   provider          (fp "" , model "")  consecutive failures, circuit cooldown, ramp-up, last probe
//   provider + key    (fp    , model "")  quota cooldown, 401/403 disable, ramp-up
//   provider+key+model                     EWMA success / latency / TTFT, 429 cooldown, ramp-up
// Success and rate-limit memories fade toward "healthy" with time, so a target that failed an hour
// ago is not still punished for it when nobody has measured it since.

export type CooldownKind = "rate_limited" | "quota" | "failing";

export interface HealthEntry {
  provider: string;
  /** Key fingerprint, "-" for a keyless provider, "" at provider scope. */
  fp: string;
  /** Upstream model, "" at provider and key scope. */
  model: string;
  /** EWMA of outcomes: 1 = every recent attempt succeeded. */
  success: number;
  /** EWMA share of recent attempts answered 429. */
  limited: number;
  /** Wall-clock ms when `success`/`limited` were last updated (their decay starts there). */
  updatedAt: number;
  latencyMs?: number;
  ttftMs?: number;
  samples: number;
  consecutiveFailures: number;
  cooldownUntil?: number;
  cooldownKind?: CooldownKind;
  cooldownReason?: string;
  /** Consecutive 429s without a stated wait: the exponential backoff step. A 429 whose wait the
   *  provider stated resets it to 0, so a rate-limit cooldown at level 0 is a stated one
   *  (`statedWait`), which also survives a restart through the store. */
  backoffLevel: number;
  /** Traffic comes back gradually from this instant (ms) after a cooldown ended. */
  rampFrom?: number;
  /** Smallest remaining share of the upstream's rate limits, from its last answer's headers. */
  remainingShare?: number;
  lastStatus?: number;
  lastError?: string;
  lastAt?: number;
  /** Key scope: disabled by a 401/403 until the next config load (never persisted). */
  disabled?: string;
}

export const SUCCESS_ALPHA = 0.2;
export const LATENCY_ALPHA = 0.3;
/** Failures and 429s are half forgotten after this long without news. */
export const HALF_LIFE_MS = 120_000;

export function newEntry(provider: string, fp: string, model: string, now: number): HealthEntry {
  return { provider, fp, model, success: 1, limited: 0, updatedAt: now, samples: 0, consecutiveFailures: 0, backoffLevel: 0 };
}

function fade(now: number, since: number): number {
  return now <= since ? 1 : 0.5 ** ((now - since) / HALF_LIFE_MS);
}

/** Success EWMA as of `now`: faded toward 1. */
export function successNow(e: HealthEntry, now: number): number {
  return 1 - (1 - e.success) * fade(now, e.updatedAt);
}

export function limitedNow(e: HealthEntry, now: number): number {
  return e.limited * fade(now, e.updatedAt);
}

/** Folds one outcome into the EWMAs (1 = success, 0 = failure; `limited` marks a 429). */
export function observe(e: HealthEntry, ok: number, limited: boolean, now: number): void {
  const s = successNow(e, now);
  const l = limitedNow(e, now);
  e.success = s + SUCCESS_ALPHA * (ok - s);
  e.limited = l + SUCCESS_ALPHA * ((limited ? 1 : 0) - l);
  e.updatedAt = now;
  e.samples++;
}

export function observeLatency(e: HealthEntry, latencyMs: number, ttftMs: number | undefined): void {
  e.latencyMs = e.latencyMs === undefined ? latencyMs : e.latencyMs + LATENCY_ALPHA * (latencyMs - e.latencyMs);
  if (ttftMs !== undefined) e.ttftMs = e.ttftMs === undefined ? ttftMs : e.ttftMs + LATENCY_ALPHA * (ttftMs - e.ttftMs);
}

/**
 * The composite score, 0..1: recent success rate, discounted for recent 429s, for a nearly spent
 * rate limit, and (gently, at most 20%) for a slow first token.
 */
export function entryScore(e: HealthEntry, now: number): number {
  let score = successNow(e, now) * (1 - 0.5 * limitedNow(e, now));
  if (e.remainingShare !== undefined && e.remainingShare < 0.1) score *= 0.5 + 5 * e.remainingShare;
  const ttft = e.ttftMs ?? e.latencyMs;
  if (ttft !== undefined) score *= 1 - 0.2 * Math.min(1, ttft / 20_000);
  return score;
}

/** Share of traffic a recovering target gets back: 10% right after its cooldown, 100% after `rampMs`. */
export function rampShare(e: HealthEntry, now: number, rampMs: number): number {
  if (e.rampFrom === undefined) return 1;
  const elapsed = now - e.rampFrom;
  if (elapsed >= rampMs || rampMs <= 0) {
    e.rampFrom = undefined;
    return 1;
  }
  return 0.1 + (0.9 * Math.max(0, elapsed)) / rampMs;
}

/** A rate-limit cooldown whose length the provider stated (`Retry-After`, its reset headers, a
 *  retry delay in the body), rather than a backoff lmrelay chose. */
export function statedWait(e: HealthEntry): boolean {
  return e.cooldownKind === "rate_limited" && e.backoffLevel === 0;
}

/** Ends an expired cooldown; returns whether one is still running. A target back from a wait the
 *  provider stated takes its full share at once: the provider said when it would serve again. Back
 *  from a failure (an open circuit, a backoff, a spent quota) it ramps up (`rampShare`). */
export function coolingDown(e: HealthEntry, now: number): boolean {
  if (e.cooldownUntil === undefined) return false;
  if (e.cooldownUntil > now) return true;
  e.rampFrom = statedWait(e) ? undefined : e.cooldownUntil;
  e.cooldownUntil = undefined;
  e.cooldownKind = undefined;
  e.cooldownReason = undefined;
  return false;
}
