// What an upstream's own headers say about its rate limits: when a limit resets (the cooldown TTL
// after a 429 that carries no Retry-After) and how much of it is left (a score input on every
// answer). Two spellings besides Retry-After:
//   x-ratelimit-{limit,remaining,reset}-{requests,tokens}      OpenAI and most compatibles;
//                                        resets are Go durations ("6m0s", "1.5s", "20ms")
//   anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}
//                                        resets are RFC 3339 instants

import { parseDurationMs } from "../core/duration";

export { parseDurationMs };

export interface LimitState {
  /** Which limit: `requests`, `tokens`, `input-tokens`, `output-tokens`. */
  name: string;
  limit?: number;
  remaining?: number;
  /** ms from now until the limit resets. */
  resetMs?: number;
}

interface LimitHeaders {
  name: string;
  limit: string;
  remaining: string;
  reset: string;
  /** Anthropic resets are RFC 3339 instants; OpenAI's are Go durations. */
  instant: boolean;
}

// Header names built once: every answer is checked, and most carry none of them.
const LIMIT_HEADERS: readonly LimitHeaders[] = [
  ...["requests", "tokens"].map((name) => ({
    name,
    limit: `x-ratelimit-limit-${name}`,
    remaining: `x-ratelimit-remaining-${name}`,
    reset: `x-ratelimit-reset-${name}`,
    instant: false,
  })),
  ...["requests", "tokens", "input-tokens", "output-tokens"].map((name) => ({
    name,
    limit: `anthropic-ratelimit-${name}-limit`,
    remaining: `anthropic-ratelimit-${name}-remaining`,
    reset: `anthropic-ratelimit-${name}-reset`,
    instant: true,
  })),
];

function num(v: string | null): number | undefined {
  if (v === null || v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function resetOf(reset: string, instant: boolean, now: number): number | undefined {
  if (!instant) return parseDurationMs(reset);
  const at = Date.parse(reset);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Every rate limit the headers describe (empty when the upstream sends none). */
export function readLimits(headers: Headers, now = Date.now()): LimitState[] {
  const out: LimitState[] = [];
  for (let i = 0; i < LIMIT_HEADERS.length; i++) {
    const h = LIMIT_HEADERS[i]!;
    const rawRemaining = headers.get(h.remaining);
    const reset = headers.get(h.reset);
    if (reset === null && rawRemaining === null) continue;
    const remaining = num(rawRemaining);
    if (remaining === undefined && reset === null) continue;
    out.push({ name: h.name, limit: num(headers.get(h.limit)), remaining, resetMs: reset === null ? undefined : resetOf(reset, h.instant, now) });
  }
  return out;
}

/**
 * When the limit that ran out resets, in ms from now: the reset of every exhausted limit (the
 * latest), or of every limit when the headers do not say which ran out. `Retry-After`, when sent,
 * wins over this (upstream/http.ts reads it first).
 */
export function limitResetMs(headers: Headers, now = Date.now()): number | undefined {
  const limits = readLimits(headers, now).filter((l) => l.resetMs !== undefined);
  if (limits.length === 0) return undefined;
  const exhausted = limits.filter((l) => l.remaining === 0);
  const pick = exhausted.length ? exhausted : limits;
  return Math.max(...pick.map((l) => l.resetMs!));
}

/** The smallest remaining share of any limit (0 = exhausted, 1 = untouched), when the headers say. */
export function remainingShare(limits: LimitState[]): number | undefined {
  let share: number | undefined;
  for (const l of limits) {
    if (l.remaining === undefined || !l.limit) continue;
    const s = Math.max(0, Math.min(1, l.remaining / l.limit));
    share = share === undefined ? s : Math.min(share, s);
  }
  return share;
}

/** Exponential backoff with equal jitter: half the step fixed, half random, capped. */
export function backoffMs(level: number, baseMs: number, capMs: number, random = Math.random): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, level));
  return Math.round(step / 2 + (random() * step) / 2);
}
