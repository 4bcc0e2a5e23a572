import type { SharedBlock, SharedBlocks } from "../cluster/types";
import type { ResolvedConfig, ResolvedKey, ResolvedProvider } from "../config/resolve";
import type { GatewayError } from "../core/errors";
import { type Logger, silentLogger } from "../log/logger";
import {
  type CooldownKind,
  coolingDown,
  entryScore,
  type HealthEntry,
  newEntry,
  observe,
  observeLatency,
  rampShare,
  successNow,
} from "./entry";
import { backoffMs, readLimits, remainingShare } from "../core/ratelimit";
import { HealthScopes } from "./scopes";
import { type Block, type CandidateHealth, type HealthEffect, KEY_DISABLED_REASON } from "./types";

export { type Block, type CandidateHealth, type HealthEffect, KEY_DISABLED_REASON } from "./types";

// Health of every (provider, key, model) lmrelay talks to, learned from each attempt and probe:
// what the router asks before trying a target (blocked? how healthy? ramping up?) and what it
// tells after (success, failure of some class, rate-limit headers). Time is wall-clock ms so
// cooldowns survive a restart through the store.

export interface HealthOptions {
  now?: () => number;
  log?: Logger;
  /** Several nodes (`cluster`): cooldowns, disabled keys and circuits learned here are told to
   *  every node, and theirs arrive through `applyShared`. */
  share?: SharedBlocks;
}

/** An out-of-quota key is retried after this long even without a reload. */
export const QUOTA_COOLDOWN_MS = 3_600_000;
const BACKOFF_BASE_MS = 1000;
const RAMP_MAX_MS = 60_000;

export class HealthTracker {
  private entries = new HealthScopes();
  private dirty = new Set<HealthEntry>();
  private removed: HealthEntry[] = [];
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly share?: SharedBlocks;

  constructor(
    private config: ResolvedConfig,
    opts: HealthOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? silentLogger;
    this.share = opts.share;
  }

  private get rampMs(): number {
    return Math.min(this.config.health.cooldownMs, RAMP_MAX_MS);
  }

  private entry(provider: string, fp = "", model = ""): HealthEntry {
    return this.entries.get(provider, fp, model) ?? this.entries.set(newEntry(provider, fp, model, this.now()));
  }

  private peek(provider: string, fp = "", model = ""): HealthEntry | undefined {
    return this.entries.get(provider, fp, model);
  }

  /**
   * Adopts a (re)loaded config: health of providers and keys that still exist carries over; keys
   * disabled by a 401/403 and keys cooled for quota get their chance again (the user may have
   * fixed them); state of removed providers and keys is dropped.
   */
  adopt(config: ResolvedConfig): void {
    this.config = config;
    this.share?.forgetDisabled();
    for (const e of this.entries.values()) {
      if (!this.stillConfigured(e)) {
        this.entries.delete(e);
        this.dirty.delete(e);
        this.removed.push(e);
        continue;
      }
      e.disabled = undefined;
      if (e.cooldownKind === "quota") {
        e.cooldownUntil = e.cooldownKind = e.cooldownReason = undefined;
        this.dirty.add(e);
      }
    }
  }

  private stillConfigured(e: Pick<HealthEntry, "provider" | "fp">): boolean {
    const p = this.config.providers.get(e.provider);
    if (!p) return false;
    if (e.fp === "") return true;
    if (e.fp === "-") return p.keys.length === 0;
    return p.keys.some((k) => k.fingerprint === e.fp);
  }

  /** Restores persisted entries (at start); entries of providers or keys no longer configured are ignored. */
  restore(rows: HealthEntry[]): number {
    let n = 0;
    for (const row of rows) {
      if (!this.stillConfigured(row)) continue;
      this.entries.set({ ...row, disabled: undefined });
      n++;
    }
    return n;
  }

  /** Entries changed since the last call (for the batched store). */
  takeDirty(): { changed: HealthEntry[]; removed: HealthEntry[] } {
    const changed = [...this.dirty];
    const removed = this.removed;
    this.dirty.clear();
    this.removed = [];
    return { changed, removed };
  }

  /** Gives back records a failed write could not store. */
  requeue(changed: HealthEntry[], removed: HealthEntry[]): void {
    for (const e of changed) if (this.peek(e.provider, e.fp, e.model) === e) this.dirty.add(e);
    this.removed.push(...removed);
  }

  // ---- questions the router asks ----

  /** Why the provider's circuit is open, if it is (too many consecutive failures). */
  providerBlock(providerId: string): Block | undefined {
    const e = this.peek(providerId);
    if (!e || e.cooldownUntil === undefined) return undefined;
    if (coolingDown(e, this.now())) return { kind: "failing", reason: e.cooldownReason ?? "failing", until: e.cooldownUntil };
    // Half-open: the next failure opens the circuit again at once.
    e.consecutiveFailures = Math.max(0, this.config.health.failureThreshold - 1);
    return undefined;
  }

  /** Why this key cannot serve this model now, if it cannot: disabled, out of quota, rate-limited. */
  keyBlock(providerId: string, key: ResolvedKey | undefined, model: string): Block | undefined {
    const fp = key?.fingerprint ?? "-";
    const now = this.now();
    const k = this.peek(providerId, fp);
    if (k?.disabled) return { kind: "disabled", reason: `${KEY_DISABLED_REASON} (${k.disabled})` };
    if (k && coolingDown(k, now)) return { kind: k.cooldownKind ?? "quota", reason: k.cooldownReason ?? "cooling down", until: k.cooldownUntil };
    const t = this.peek(providerId, fp, model);
    if (t && coolingDown(t, now)) return { kind: t.cooldownKind ?? "rate_limited", reason: t.cooldownReason ?? "cooling down", until: t.cooldownUntil };
    return undefined;
  }

  /** Share of traffic (0.1..1) a provider recovering from an open circuit gets; 1 when it is not ramping up. */
  providerRamp(providerId: string): number {
    const p = this.peek(providerId);
    return p ? rampShare(p, this.now(), this.rampMs) : 1;
  }

  /** The same for a key (after a quota cooldown) and its model (after a 429 cooldown). */
  keyRamp(providerId: string, key: ResolvedKey | undefined, model: string): number {
    const now = this.now();
    const fp = key?.fingerprint ?? "-";
    const k = this.peek(providerId, fp);
    const t = this.peek(providerId, fp, model);
    return Math.min(k ? rampShare(k, now, this.rampMs) : 1, t ? rampShare(t, now, this.rampMs) : 1);
  }

  /** Health of a (provider, model) candidate: its usable keys' records combined. */
  candidateHealth(provider: ResolvedProvider, model: string): CandidateHealth {
    const now = this.now();
    const keys = provider.keys;
    // A keyless provider has one target, as if it had one key (fingerprint "-").
    const n = keys.length || 1;
    let usable = 0;
    let score = 0;
    let success = 0;
    let samples = 0;
    let latency = 0;
    let latencyN = 0;
    let ttft = 0;
    let ttftN = 0;
    let lastAt: number | undefined;
    for (let i = 0; i < n; i++) {
      const key: ResolvedKey | undefined = keys[i];
      if (key && !key.allowsModel(model)) continue;
      const t = this.peek(provider.id, key?.fingerprint ?? "-", model);
      if (t) {
        samples += t.samples;
        if (t.latencyMs !== undefined) {
          latency += t.latencyMs;
          latencyN++;
        }
        if (t.ttftMs !== undefined) {
          ttft += t.ttftMs;
          ttftN++;
        }
        if (t.lastAt !== undefined && (lastAt === undefined || t.lastAt > lastAt)) lastAt = t.lastAt;
      }
      if (this.keyBlock(provider.id, key, model)) continue;
      usable++;
      score += t ? entryScore(t, now) : 1;
      success += t ? successNow(t, now) : 1;
    }
    const circuitOpen = this.providerBlock(provider.id) !== undefined;
    const coolingDown = circuitOpen || usable === 0;
    return {
      score: coolingDown ? 0 : score / usable,
      latencyMs: latencyN ? latency / latencyN : undefined,
      ttftMs: ttftN ? ttft / ttftN : undefined,
      errorRate: usable ? 1 - success / usable : 1,
      coolingDown,
      samples,
      lastAt,
    };
  }

  /** Whether an active probe should check this provider: circuit open, failing, or demoted. */
  needsProbe(providerId: string): boolean {
    const p = this.peek(providerId);
    if (p && (p.cooldownUntil !== undefined || p.consecutiveFailures > 0)) return true;
    const now = this.now();
    for (const e of this.entries.values())
      if (e.provider === providerId && e.model !== "" && e.samples > 0 && successNow(e, now) < 0.9) return true;
    return false;
  }

  // ---- what the router tells ----

  recordSuccess(providerId: string, key: ResolvedKey | undefined, model: string, latencyMs: number, ttftMs?: number): void {
    const now = this.now();
    const t = this.entry(providerId, key?.fingerprint ?? "-", model);
    observe(t, 1, false, now);
    observeLatency(t, latencyMs, ttftMs);
    t.consecutiveFailures = 0;
    t.backoffLevel = 0;
    t.lastStatus = 200;
    t.lastError = undefined;
    t.lastAt = now;
    this.dirty.add(t);
    this.providerAnswered(providerId, now);
  }

  recordFailure(providerId: string, key: ResolvedKey | undefined, model: string, effect: HealthEffect, err: GatewayError): void {
    const now = this.now();
    const fp = key?.fingerprint ?? "-";
    const t = this.entry(providerId, fp, model);
    t.lastStatus = err.status;
    t.lastError = err.message.slice(0, 300);
    t.lastAt = now;
    this.dirty.add(t);
    switch (effect) {
      case "rate_limited": {
        observe(t, 1, true, now);
        const cap = Math.max(this.config.health.cooldownMs, BACKOFF_BASE_MS);
        // A stated wait restarts the backoff (and marks the cooldown as stated: entry.ts `statedWait`).
        const ms = err.retryAfterMs ?? backoffMs(t.backoffLevel++, BACKOFF_BASE_MS, cap);
        if (err.retryAfterMs !== undefined) t.backoffLevel = 0;
        this.coolDown(t, now + ms, "rate_limited", `rate-limited (${err.status})`);
        this.providerAnswered(providerId, now);
        return;
      }
      case "quota": {
        const k = this.entry(providerId, fp);
        this.coolDown(k, now + Math.max(QUOTA_COOLDOWN_MS, err.retryAfterMs ?? 0), "quota", "quota exhausted");
        this.providerAnswered(providerId, now);
        return;
      }
      case "auth": {
        const k = this.entry(providerId, fp);
        k.disabled = String(err.status);
        this.share?.publish({ type: "disabled", provider: providerId, fp, status: k.disabled });
        this.log.error("upstream rejected a key; it is disabled until the config reloads", {
          provider: providerId,
          key: key?.name,
          fingerprint: key?.fingerprint,
          status: err.status,
          error: err.message,
        });
        return;
      }
      case "failure": {
        observe(t, 0, false, now);
        t.consecutiveFailures++;
        this.providerFailed(providerId, err, now);
        return;
      }
      case "none":
        return;
      case "reachable":
        this.providerAnswered(providerId, now);
        return;
    }
  }

  /** Rate-limit headers of an answer: remember how much is left; a limit at zero cools the target until it resets. */
  noteHeaders(providerId: string, key: ResolvedKey | undefined, model: string, headers: Headers | undefined): void {
    if (!headers) return;
    const now = this.now();
    const limits = readLimits(headers, now);
    if (limits.length === 0) return;
    const t = this.entry(providerId, key?.fingerprint ?? "-", model);
    t.remainingShare = remainingShare(limits);
    const spent = limits.filter((l) => l.remaining === 0 && l.resetMs);
    if (spent.length) {
      // The headers state when the limit resets: a stated wait (no ramp-up after it).
      t.backoffLevel = 0;
      this.coolDown(t, now + Math.max(...spent.map((l) => l.resetMs!)), "rate_limited", `rate limit spent (${spent.map((l) => l.name).join(", ")})`);
    }
    this.dirty.add(t);
  }

  /** An active probe's outcome: success closes an open circuit (ramping traffic back), failure keeps it open. */
  recordProbe(providerId: string, ok: boolean, error?: string): void {
    const now = this.now();
    const p = this.entry(providerId);
    p.lastAt = now;
    p.lastError = ok ? undefined : error?.slice(0, 300);
    this.dirty.add(p);
    if (ok) {
      const wasOpen = p.cooldownKind === "failing" && p.cooldownUntil !== undefined;
      p.consecutiveFailures = 0;
      if (wasOpen) {
        p.cooldownUntil = p.cooldownKind = p.cooldownReason = undefined;
        p.rampFrom = now;
        this.share?.publish({ type: "clear", provider: providerId, fp: "", model: "" });
        this.log.warn("provider recovered (probe succeeded); traffic ramps back up", { provider: providerId });
      }
      // Probes are evidence too: demoted targets of this provider earn some trust back.
      for (const e of this.entries.values())
        if (e.provider === providerId && e.model !== "" && successNow(e, now) < 1) {
          observe(e, 1, false, now);
          this.dirty.add(e);
        }
      return;
    }
    if (p.cooldownKind === "failing" && p.cooldownUntil !== undefined) {
      p.cooldownUntil = now + this.config.health.cooldownMs;
      return;
    }
    p.consecutiveFailures++;
    this.maybeOpenCircuit(p, `probe failed (${error ?? "error"})`, now);
  }

  private providerAnswered(providerId: string, now: number): void {
    const p = this.peek(providerId);
    if (!p) return;
    if (p.consecutiveFailures !== 0) this.dirty.add(p);
    p.consecutiveFailures = 0;
    if (p.cooldownKind === "failing" && p.cooldownUntil !== undefined) {
      // A last-resort attempt got through: close the circuit.
      p.cooldownUntil = p.cooldownKind = p.cooldownReason = undefined;
      p.rampFrom = now;
      this.share?.publish({ type: "clear", provider: providerId, fp: "", model: "" });
    }
  }

  private providerFailed(providerId: string, err: GatewayError, now: number): void {
    const p = this.entry(providerId);
    p.consecutiveFailures++;
    p.lastStatus = err.status;
    p.lastError = err.message.slice(0, 300);
    this.dirty.add(p);
    if (p.cooldownKind === "failing" && p.cooldownUntil !== undefined && p.cooldownUntil > now) {
      p.cooldownUntil = now + this.config.health.cooldownMs;
      return;
    }
    this.maybeOpenCircuit(p, `${p.consecutiveFailures} consecutive failures (last ${err.status || err.code || err.kind})`, now);
  }

  private maybeOpenCircuit(p: HealthEntry, reason: string, now: number): void {
    const { failureThreshold, cooldownMs } = this.config.health;
    if (p.consecutiveFailures < failureThreshold || cooldownMs <= 0) return;
    this.coolDown(p, now + cooldownMs, "failing", reason);
    this.log.warn("provider circuit open: not routed to until it recovers", { provider: p.provider, reason, until: new Date(p.cooldownUntil!).toISOString() });
  }

  private coolDown(e: HealthEntry, until: number, kind: CooldownKind, reason: string): void {
    if (e.cooldownUntil !== undefined && e.cooldownUntil > until && e.cooldownKind === kind) return;
    e.cooldownUntil = until;
    e.cooldownKind = kind;
    e.cooldownReason = reason;
    e.rampFrom = undefined;
    this.dirty.add(e);
    this.share?.publish({ type: "cooldown", provider: e.provider, fp: e.fp, model: e.model, until, kind, reason });
  }

  /** A block another node learned (cluster): applied as if learned here, not told again. A
   *  cooldown ending earlier than one known here does not shorten it. */
  applyShared(b: SharedBlock): void {
    if (!this.stillConfigured(b)) return;
    const model = b.type === "disabled" ? "" : b.model;
    if (b.type === "clear") {
      const e = this.peek(b.provider, b.fp, model);
      if (!e || e.cooldownUntil === undefined) return;
      e.cooldownUntil = e.cooldownKind = e.cooldownReason = undefined;
      e.consecutiveFailures = 0;
      e.rampFrom = this.now();
      this.dirty.add(e);
      return;
    }
    const e = this.entry(b.provider, b.fp, model);
    if (b.type === "disabled") {
      e.disabled = b.status;
      return;
    }
    if (e.cooldownUntil !== undefined && e.cooldownUntil >= b.until) return;
    e.cooldownUntil = b.until;
    e.cooldownKind = b.kind as CooldownKind;
    e.cooldownReason = b.reason;
    e.rampFrom = undefined;
    this.dirty.add(e);
  }

  // ---- views for the admin API, dashboard, metrics and `lmrelay check` ----

  /** Every record, for views. Read-only by convention. */
  all(): Iterable<HealthEntry> {
    return this.entries.values();
  }

  /** The record at one scope, if any. */
  get(providerId: string, fp = "", model = ""): HealthEntry | undefined {
    return this.peek(providerId, fp, model);
  }

  score(e: HealthEntry): number {
    return entryScore(e, this.now());
  }

  successRate(e: HealthEntry): number {
    return successNow(e, this.now());
  }
}
