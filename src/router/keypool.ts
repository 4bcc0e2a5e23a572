import type { ResolvedConfig, ResolvedKey } from "../config/resolve";

// Key pools: which of a provider's keys to try first (`routing.keyRotation`), and per-key `rpm` /
// `tpm` counted locally so lmrelay stops sending before the upstream starts refusing. In-flight
// counts and a one-minute window of requests and tokens per key are kept here; health (cooldowns,
// disabled keys) lives in src/health.

export type KeyRotation = "round-robin" | "least-used" | "weighted" | "random";

const WINDOW_SECONDS = 60;

/** Requests and tokens of the last minute, in one-second buckets with running totals. */
class RateWindow {
  private readonly second = new Array<number>(WINDOW_SECONDS).fill(-1);
  private readonly reqs = new Array<number>(WINDOW_SECONDS).fill(0);
  private readonly toks = new Array<number>(WINDOW_SECONDS).fill(0);
  private requests = 0;
  private tokens = 0;

  private bucket(now: number): number {
    const sec = Math.floor(now / 1000);
    const i = sec % WINDOW_SECONDS;
    if (this.second[i] !== sec) {
      this.requests -= this.reqs[i]!;
      this.tokens -= this.toks[i]!;
      this.reqs[i] = this.toks[i] = 0;
      this.second[i] = sec;
    }
    return i;
  }

  /** Drops buckets older than the window. */
  private expire(now: number): void {
    const oldest = Math.floor(now / 1000) - WINDOW_SECONDS + 1;
    for (let i = 0; i < WINDOW_SECONDS; i++)
      if (this.second[i]! >= 0 && this.second[i]! < oldest) {
        this.requests -= this.reqs[i]!;
        this.tokens -= this.toks[i]!;
        this.reqs[i] = this.toks[i] = 0;
        this.second[i] = -1;
      }
  }

  add(requests: number, tokens: number, now: number): void {
    const i = this.bucket(now);
    this.reqs[i]! += requests;
    this.toks[i]! += tokens;
    this.requests += requests;
    this.tokens += tokens;
  }

  totals(now: number): { requests: number; tokens: number } {
    this.expire(now);
    return { requests: this.requests, tokens: Math.max(0, this.tokens) };
  }

  /** When the oldest counted second leaves the window (ms). */
  nextRelease(now: number): number {
    this.expire(now);
    let oldest = Infinity;
    for (let i = 0; i < WINDOW_SECONDS; i++) if (this.second[i]! >= 0 && (this.reqs[i]! > 0 || this.toks[i]! > 0)) oldest = Math.min(oldest, this.second[i]!);
    return oldest === Infinity ? now : (oldest + WINDOW_SECONDS) * 1000;
  }
}

interface KeyUsage {
  inFlight: number;
  window: RateWindow;
}

/** One attempt's hold on a key: ends its in-flight count and settles its token estimate. */
export interface KeyLease {
  end(actualTokens?: number): void;
}

const NO_LEASE: KeyLease = { end() {} };

export interface PoolOptions {
  now?: () => number;
  random?: () => number;
}

export class KeyPool {
  private usage = new Map<string, KeyUsage>();
  private cursors = new Map<string, number>();
  /** Smooth weighted round-robin state per provider: fingerprint → current weight. */
  private swrr = new Map<string, Map<string, number>>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(opts: PoolOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  private use(providerId: string, key: ResolvedKey): KeyUsage {
    const id = `${providerId}\u0000${key.fingerprint}`;
    let u = this.usage.get(id);
    if (!u) {
      u = { inFlight: 0, window: new RateWindow() };
      this.usage.set(id, u);
    }
    return u;
  }

  /** Why the key must not be sent `tokens` more now (its own `rpm`/`tpm`), if so. */
  admit(providerId: string, key: ResolvedKey | undefined, tokens: number): { reason: string; until: number } | undefined {
    if (!key || (key.rpm === undefined && key.tpm === undefined)) return undefined;
    const u = this.use(providerId, key);
    const now = this.now();
    const { requests, tokens: used } = u.window.totals(now);
    if (key.rpm !== undefined && requests + 1 > key.rpm) return { reason: `key rpm ${key.rpm} reached`, until: u.window.nextRelease(now) };
    // A request larger than the whole budget still gets its chance when the window is empty.
    if (key.tpm !== undefined && used > 0 && used + tokens > key.tpm) return { reason: `key tpm ${key.tpm} reached`, until: u.window.nextRelease(now) };
    return undefined;
  }

  /** The usable keys in the order to try them, per the rotation; advances the rotation. */
  order(providerId: string, keys: ResolvedKey[], rotation: KeyRotation): ResolvedKey[] {
    if (keys.length <= 1) return keys.slice();
    const start = this.cursors.get(providerId) ?? 0;
    this.cursors.set(providerId, start + 1);
    const offset = start % keys.length;
    const rotated = [...keys.slice(offset), ...keys.slice(0, offset)];
    switch (rotation) {
      case "round-robin":
        return rotated;
      case "least-used": {
        const now = this.now();
        const load = new Map(rotated.map((k) => {
          const u = this.use(providerId, k);
          return [k, { inFlight: u.inFlight, tokens: u.window.totals(now).tokens }];
        }));
        // Stable sort over the rotated list: ties take turns.
        return rotated.sort((a, b) => load.get(a)!.inFlight - load.get(b)!.inFlight || load.get(a)!.tokens - load.get(b)!.tokens);
      }
      case "weighted":
        return this.weighted(providerId, keys);
      case "random": {
        const pick = Math.floor(this.random() * keys.length) % keys.length;
        return [...keys.slice(pick), ...keys.slice(0, pick)];
      }
    }
  }

  /** Smooth weighted round-robin (as nginx): exact shares, evenly interleaved. */
  private weighted(providerId: string, keys: ResolvedKey[]): ResolvedKey[] {
    let state = this.swrr.get(providerId);
    if (!state) {
      state = new Map();
      this.swrr.set(providerId, state);
    }
    let total = 0;
    for (const k of keys) {
      total += k.weight;
      state.set(k.fingerprint, (state.get(k.fingerprint) ?? 0) + k.weight);
    }
    const byCurrent = [...keys].sort((a, b) => state.get(b.fingerprint)! - state.get(a.fingerprint)!);
    const chosen = byCurrent[0]!;
    state.set(chosen.fingerprint, state.get(chosen.fingerprint)! - total);
    return byCurrent;
  }

  /** Counts an attempt on a key: one request and an estimate of its tokens, in flight until `end`. */
  begin(providerId: string, key: ResolvedKey | undefined, estimatedTokens: number): KeyLease {
    if (!key) return NO_LEASE;
    const u = this.use(providerId, key);
    u.inFlight++;
    u.window.add(1, estimatedTokens, this.now());
    let open = true;
    return {
      end: (actualTokens) => {
        if (!open) return;
        open = false;
        u.inFlight--;
        if (actualTokens !== undefined && actualTokens !== estimatedTokens) u.window.add(0, actualTokens - estimatedTokens, this.now());
      },
    };
  }

  /** In-flight attempts and last-minute requests/tokens of a key, for views. */
  load(providerId: string, key: ResolvedKey): { inFlight: number; requests: number; tokens: number } {
    const u = this.usage.get(`${providerId}\u0000${key.fingerprint}`);
    if (!u) return { inFlight: 0, requests: 0, tokens: 0 };
    return { inFlight: u.inFlight, ...u.window.totals(this.now()) };
  }

  /** Forgets keys the new config no longer has (in-flight leases of old keys still end cleanly). */
  prune(config: ResolvedConfig): void {
    const live = new Set<string>();
    for (const p of config.providers.values()) for (const k of p.keys) live.add(`${p.id}\u0000${k.fingerprint}`);
    for (const id of this.usage.keys()) if (!live.has(id)) this.usage.delete(id);
    for (const id of this.cursors.keys()) if (!config.providers.has(id)) this.cursors.delete(id);
    for (const id of this.swrr.keys()) if (!config.providers.has(id)) this.swrr.delete(id);
  }
}
