import type { SharedLimits } from "../cluster/types";
import type { ResolvedConfig, ResolvedKey, ResolvedProvider } from "../config/resolve";
import { type GatewayError, lmrelayError, toGatewayError } from "../core/errors";
import type { HealthTracker } from "../health/tracker";
import type { Logger } from "../log/logger";
import type { Target } from "../upstream/types";
import { type CapabilityBook, capabilitySkipReason } from "./capabilities";
import type { AttemptRecord } from "./explain";
import { exhaustedError, policyFor } from "./failover";
import type { KeyLease, KeyPool } from "./keypool";
import { IdleWatch } from "./idle";
import { admitSharedKey } from "./sharedkeys";
import type { PlannedCandidate } from "./plan";
import type { RequestTrace } from "../core/trace";

// Step five, the attempt loop: walk the ordered candidates and, for each, its usable keys in pool
// order, until one answers, the error is the client's own, `maxAttempts` is spent or the deadline
// passes (SPEC §5). What each failure does next is the policy table in failover.ts. Each attempt
// has one AbortController and one watch (idle.ts: its first-byte limit until the answer is
// committed, its idle limit after); the request as a whole has `routing.timeoutMs` until its
// answer begins.

export interface AttemptEnv {
  config: ResolvedConfig;
  health: HealthTracker;
  pool: KeyPool;
  log: Logger;
  /** Fires when the client disconnects. */
  clientSignal: AbortSignal;
  /** Estimated prompt tokens (context-window decisions, key `tpm` admission). */
  promptTokens: number;
  /** The attempt's first-byte timeout on this provider; undefined = only the request deadline. */
  firstByteMs(provider: ResolvedProvider): number | undefined;
  /** Skips found while planning; attempts and further skips are appended. */
  records: AttemptRecord[];
  /** Learns which capabilities a model lacks from the upstream's refusals. */
  capabilities?: CapabilityBook;
  /** Several nodes (`cluster`): upstream keys' rpm/tpm counted across all of them. */
  shared?: SharedLimits;
  /** The request's trace: a span per attempt (telemetry on). */
  trace?: RequestTrace;
}

export interface AttemptSuccess<T> {
  value: T;
  target: Target;
  records: AttemptRecord[];
  /** Aborts the winning attempt's upstream request (client gone, idle stream). */
  abort: AbortController;
  /** The winning attempt's watch: it heard the upstream's reads; the relay starts its idle count. */
  watch: IdleWatch;
  /** The key's in-flight hold; end it with the real token count when the answer is over. */
  lease: KeyLease;
  /** `performance.now()` when the winning attempt started. */
  startedAt: number;
  /** ms from the winning attempt's start to its first byte. */
  firstByteMs: number;
}

export class AttemptsFailed extends Error {
  constructor(
    readonly error: GatewayError,
    readonly records: AttemptRecord[],
  ) {
    super(error.message);
  }
}

interface Slot {
  candidate: PlannedCandidate;
  /** Keys still to try, computed when the slot is first reached (so rotation advances only then). */
  keys?: (ResolvedKey | undefined)[];
  retried: boolean;
}

export function clientClosed(): GatewayError {
  return lmrelayError("invalid_request", "client closed the request", { status: 499, code: "client_closed" });
}

export async function runAttempts<T>(
  env: AttemptEnv,
  candidates: PlannedCandidate[],
  tryTarget: (target: Target, signal: AbortSignal, watch: IdleWatch) => Promise<T>,
): Promise<AttemptSuccess<T>> {
  const { config, health, records } = env;
  // One AbortController per attempt and nothing else: the client's disconnect and the request
  // deadline abort whichever attempt is current (cheaper than a deadline controller plus an
  // `AbortSignal.any` per attempt). After success the winner stays current, so a client that
  // leaves mid-answer still aborts the upstream request.
  let current: AbortController | undefined;
  let deadlinePassed = false;
  const deadlineTimer = setTimeout(() => {
    deadlinePassed = true;
    current?.abort(new DOMException("request deadline", "TimeoutError"));
  }, config.routing.timeoutMs);
  const clientSignal = env.clientSignal;
  clientSignal.addEventListener("abort", () => current?.abort(clientSignal.reason), { once: true });
  const queue: Slot[] = candidates.map((candidate) => ({ candidate, retried: false }));
  let attempts = 0;
  let lastError: GatewayError | undefined;
  try {
    while (queue.length > 0 && attempts < config.routing.maxAttempts && !deadlinePassed) {
      const slot = queue[0]!;
      slot.keys ??= usableKeys(env, slot.candidate);
      if (slot.keys.length === 0) {
        queue.shift();
        continue;
      }
      // `undefined` is the one "key" of a keyless provider.
      const key = slot.keys.shift();
      const { provider, model } = slot.candidate;
      let lease = env.pool.begin(provider.id, key, env.promptTokens);
      if (env.shared && key && (key.rpm !== undefined || key.tpm !== undefined)) {
        const admitted = await admitSharedKey(env.shared, provider.id, key, env.promptTokens, lease);
        if ("refused" in admitted) {
          records.push({ ...skipRecord(slot.candidate, admitted.refused.reason, admitted.refused.until), key: key.name, fingerprint: key.fingerprint });
          continue;
        }
        lease = admitted.lease;
      }
      attempts++;
      const span = env.trace?.attempt(provider.id, provider.type, model, key?.fingerprint);
      const target: Target = span ? { provider, key, model, traceparent: span.traceparent } : { provider, key, model };
      const attempt = new AbortController();
      current = attempt;
      if (clientSignal.aborted) attempt.abort(clientSignal.reason);
      const signal = attempt.signal;
      const limit = env.firstByteMs(provider);
      const watch = new IdleWatch();
      if (limit !== undefined) watch.expectFirstByte(limit, attempt);
      const startedAt = performance.now();
      try {
        const value = await tryTarget(target, signal, watch);
        watch.committed();
        const firstByteMs = performance.now() - startedAt;
        records.push({ outcome: "served", provider: provider.id, model, key: key?.name, fingerprint: key?.fingerprint, status: 200, latencyMs: Math.round(firstByteMs) });
        noteUntried(records, queue.slice(1), "");
        return { value, target, records, abort: attempt, watch, lease, startedAt, firstByteMs };
      } catch (e) {
        watch.committed();
        const firstByteMissed = watch.firstByteMissed;
        attempt.abort();
        lease.end(0);
        if (env.clientSignal.aborted) throw new AttemptsFailed(clientClosed(), records);
        let err = toGatewayError(e);
        if (firstByteMissed) err = lmrelayError("timeout", `${provider.id}: no first byte within ${limit} ms`, { provider: provider.id, code: "first_byte_timeout" });
        else if (deadlinePassed)
          err = lmrelayError("timeout", `${provider.id}: no answer within the request deadline (${config.routing.timeoutMs} ms)`, { provider: provider.id, code: "deadline" });
        const policy = policyFor(err, config.routing.contentPolicyFailover);
        // A local model that is still loading is slow, not dead; a request whose own deadline ran
        // out (earlier attempts used it up) says little about this upstream: no health penalty.
        const effect = (firstByteMissed && provider.type === "ollama") || err.code === "deadline" ? "none" : policy.health;
        health.recordFailure(provider.id, key, model, effect, err);
        if (policy.capability) env.capabilities?.learn(provider.id, model, policy.capability, false);
        records.push({
          outcome: "failed",
          provider: provider.id,
          model,
          key: key?.name,
          fingerprint: key?.fingerprint,
          status: err.status,
          latencyMs: Math.round(performance.now() - startedAt),
          error: err.message,
          reason: err.code === "first_byte_timeout" ? "first_byte_timeout" : policy.capability ? capabilitySkipReason(policy.capability) : policy.cls,
        });
        span?.end(records[records.length - 1]!);
        lastError = err;
        switch (policy.action) {
          case "fail":
            throw new AttemptsFailed(err, records);
          case "rotate":
            break;
          case "retry":
            if (!slot.retried) {
              slot.retried = true;
              slot.keys.unshift(key);
              break;
            }
            deferSlot(queue, slot, false);
            break;
          case "failover":
            deferSlot(queue, slot, policy.cls === "connection");
            break;
          case "next":
            queue.shift();
            break;
          case "larger": {
            // Only a candidate known to hold more than this one (and than the prompt) may help.
            const need = Math.max(slot.candidate.contextWindow ?? 0, env.promptTokens);
            queue.shift();
            const larger = queue.filter((s) => (s.candidate.contextWindow ?? 0) > need);
            for (const s of queue) if (!larger.includes(s)) records.push(skipRecord(s.candidate, "context window not larger"));
            queue.splice(0, queue.length, ...larger);
            if (queue.length === 0) throw new AttemptsFailed(err, records);
            break;
          }
        }
      }
    }
    const timedOut = deadlinePassed;
    noteUntried(records, queue, timedOut ? "request deadline passed" : attempts >= config.routing.maxAttempts ? "maxAttempts reached" : "");
    throw new AttemptsFailed(exhaustedError(records, lastError, timedOut), records);
  } finally {
    clearTimeout(deadlineTimer);
  }
}

/** The candidate's keys that may be sent this request now, in pool order; skips are recorded. */
function usableKeys(env: AttemptEnv, candidate: PlannedCandidate): (ResolvedKey | undefined)[] {
  const { provider, model } = candidate;
  if (provider.keys.length === 0) return [undefined];
  const usable: ResolvedKey[] = [];
  for (const k of provider.keys) {
    if (!k.allowsModel(model)) continue;
    const block = env.health.keyBlock(provider.id, k, model) ?? env.pool.admit(provider.id, k, env.promptTokens);
    if (block) {
      env.records.push({ ...skipRecord(candidate, block.reason, block.until), key: k.name, fingerprint: k.fingerprint });
      continue;
    }
    usable.push(k);
  }
  const ordered = env.pool.order(provider.id, usable, env.config.routing.keyRotation);
  if (ordered.length <= 1) return ordered;
  // A key back from a cooldown takes its share of first places while it ramps up.
  const first: ResolvedKey[] = [];
  const later: ResolvedKey[] = [];
  for (const k of ordered) {
    const share = env.health.keyRamp(provider.id, k, model);
    (share >= 1 || Math.random() < share ? first : later).push(k);
  }
  return [...first, ...later];
}

/** Moves the slot's remaining keys behind every other candidate; after a connection failure, the
 *  provider's other candidates too (they would meet the same wall). */
function deferSlot(queue: Slot[], slot: Slot, wholeProvider: boolean): void {
  queue.shift();
  if (slot.keys?.length) queue.push(slot);
  if (!wholeProvider) return;
  const provider = slot.candidate.provider;
  const others = queue.filter((s) => s.candidate.provider !== provider);
  const same = queue.filter((s) => s.candidate.provider === provider);
  queue.splice(0, queue.length, ...others, ...same);
}

function skipRecord(c: PlannedCandidate, reason: string, until?: number): AttemptRecord {
  return { outcome: "skipped", provider: c.provider.id, model: c.model, status: 0, reason, until };
}

/** Candidates never reached: why (limit or deadline), and open circuits that were spared. */
function noteUntried(records: AttemptRecord[], rest: Slot[], why: string): void {
  for (const s of rest) {
    if (s.keys !== undefined && s.keys.length === 0) continue;
    if (records.some((r) => r.outcome !== "skipped" && r.provider === s.candidate.provider.id && r.model === s.candidate.model)) continue;
    const lr = s.candidate.lastResort;
    if (lr) records.push(skipRecord(s.candidate, `circuit open: ${lr.reason}`, lr.until));
    else if (why) records.push(skipRecord(s.candidate, why));
  }
}
