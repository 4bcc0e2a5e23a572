// Per-client throttles over a sliding minute (SPEC §6): requests per minute kept exactly (one
// timestamp per admitted request, at most `rpm` of them), tokens per minute in one-second buckets
// (an admission's estimate is replaced by the real usage when the request ends).

export const WINDOW_MS = 60_000;

/** Timestamps of the requests admitted in the last minute, oldest first, in a ring of `limit`. */
export class RequestWindow {
  private stamps: Float64Array;
  private head = 0;
  private size = 0;

  constructor(readonly limit: number) {
    this.stamps = new Float64Array(limit);
  }

  private prune(now: number): void {
    while (this.size > 0 && this.stamps[this.head]! <= now - WINDOW_MS) {
      this.head = (this.head + 1) % this.limit;
      this.size--;
    }
  }

  count(now: number): number {
    this.prune(now);
    return this.size;
  }

  /** Milliseconds until one more request fits (0 when one fits now). */
  waitMs(now: number): number {
    this.prune(now);
    if (this.size < this.limit) return 0;
    return this.stamps[this.head]! + WINDOW_MS - now;
  }

  /** Milliseconds until the window is empty again (the `reset` of rate-limit headers). */
  resetMs(now: number): number {
    this.prune(now);
    if (this.size === 0) return 0;
    return this.stamps[(this.head + this.size - 1) % this.limit]! + WINDOW_MS - now;
  }

  add(now: number): void {
    this.prune(now);
    if (this.size === this.limit) {
      this.head = (this.head + 1) % this.limit;
      this.size--;
    }
    this.stamps[(this.head + this.size) % this.limit] = now;
    this.size++;
  }

  /** A window for a new limit that keeps the most recent requests. */
  resized(limit: number, now: number): RequestWindow {
    const next = new RequestWindow(limit);
    this.prune(now);
    const keep = Math.min(this.size, limit);
    for (let i = this.size - keep; i < this.size; i++) next.add(this.stamps[(this.head + i) % this.limit]!);
    return next;
  }
}

const BUCKETS = 60;
const BUCKET_MS = WINDOW_MS / BUCKETS;

/** Tokens used in the last minute, in one-second buckets. */
export class TokenWindow {
  private amounts = new Float64Array(BUCKETS);
  private seconds = new Float64Array(BUCKETS).fill(-1);

  private slot(second: number): number {
    return second % BUCKETS;
  }

  used(now: number): number {
    const current = Math.floor(now / BUCKET_MS);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (this.seconds[i]! > current - BUCKETS) sum += this.amounts[i]!;
    return Math.max(0, sum);
  }

  /** Adds (or, negative, takes back) tokens in the bucket of time `at`, if it is still in the window. */
  add(at: number, tokens: number, now: number = at): void {
    const second = Math.floor(at / BUCKET_MS);
    if (second <= Math.floor(now / BUCKET_MS) - BUCKETS) return;
    const i = this.slot(second);
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.amounts[i] = 0;
    }
    this.amounts[i]! += tokens;
  }

  /** Milliseconds until `need` more tokens fit under `limit` as old buckets leave the window. */
  waitMs(now: number, need: number, limit: number): number {
    const current = Math.floor(now / BUCKET_MS);
    let used = this.used(now);
    if (used + need <= limit) return 0;
    // Walk the live buckets oldest first; each leaves the window BUCKETS seconds after its own.
    const live: { second: number; amount: number }[] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.seconds[i]! > current - BUCKETS) live.push({ second: this.seconds[i]!, amount: this.amounts[i]! });
    live.sort((a, b) => a.second - b.second);
    for (const b of live) {
      used -= b.amount;
      if (used + need <= limit) return Math.max(0, (b.second + BUCKETS) * BUCKET_MS - now);
    }
    return WINDOW_MS;
  }

  /** Milliseconds until every token now counted has left the window. */
  resetMs(now: number): number {
    const current = Math.floor(now / BUCKET_MS);
    let newest = -1;
    for (let i = 0; i < BUCKETS; i++) if (this.seconds[i]! > current - BUCKETS && this.amounts[i]! > 0) newest = Math.max(newest, this.seconds[i]!);
    return newest < 0 ? 0 : Math.max(0, (newest + BUCKETS) * BUCKET_MS - now);
  }
}
