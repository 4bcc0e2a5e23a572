import type { ResolvedConfig, ResolvedKey, ResolvedProvider } from "../config/resolve";
import { GatewayError, lmrelayError, toGatewayError } from "../core/errors";
import type { Target } from "../upstream/types";
import type { Candidate } from "./candidates";
import { type AttemptRecord, exhaustedError, failoverAction } from "./failover";

// The attempt loop: walk the candidates, and for each its usable keys, until one answers, the
// error is the client's own, `maxAttempts` is spent or the deadline passes (SPEC §5).

export interface KeyState {
  /** Keys disabled by a 401/403 until the next config load: `${providerId}\0${fingerprint}`. */
  disabled: Set<string>;
  /** Round-robin position per provider. */
  cursor: Map<string, number>;
}

export function newKeyState(): KeyState {
  return { disabled: new Set(), cursor: new Map() };
}

/** Keys of a provider allowed for `model`, rotated so successive requests start at different keys. */
export function orderKeys(state: KeyState, provider: ResolvedProvider, model: string): (ResolvedKey | undefined)[] {
  if (provider.keys.length === 0) return [undefined];
  const usable = provider.keys.filter((k) => k.allowsModel(model) && !state.disabled.has(`${provider.id}\0${k.fingerprint}`));
  if (usable.length <= 1) return usable;
  const start = state.cursor.get(provider.id) ?? 0;
  state.cursor.set(provider.id, start + 1);
  const offset = start % usable.length;
  return [...usable.slice(offset), ...usable.slice(0, offset)];
}

export interface AttemptSuccess<T> {
  value: T;
  target: Target;
  attempts: AttemptRecord[];
  /** Aborts the winning attempt's upstream request (used when the client stops reading). */
  abort: AbortController;
}

export class AttemptsFailed extends Error {
  constructor(
    readonly error: GatewayError,
    readonly attempts: AttemptRecord[],
  ) {
    super(error.message);
  }
}

export interface AttemptHooks {
  onKeyRejected?(provider: ResolvedProvider, key: ResolvedKey, err: GatewayError): void;
}

export async function runAttempts<T>(
  config: ResolvedConfig,
  keys: KeyState,
  candidates: Candidate[],
  clientSignal: AbortSignal,
  tryTarget: (target: Target, signal: AbortSignal) => Promise<T>,
  hooks: AttemptHooks = {},
): Promise<AttemptSuccess<T>> {
  const attempts: AttemptRecord[] = [];
  const deadline = AbortSignal.timeout(config.routing.timeoutMs);
  let lastError: GatewayError | undefined;
  for (const candidate of candidates) {
    for (const key of orderKeys(keys, candidate.provider, candidate.model)) {
      if (attempts.length >= config.routing.maxAttempts || deadline.aborted) break;
      const target: Target = { provider: candidate.provider, key, model: candidate.model };
      const abort = new AbortController();
      const signal = AbortSignal.any([clientSignal, deadline, abort.signal]);
      const started = performance.now();
      try {
        const value = await tryTarget(target, signal);
        return { value, target, attempts, abort };
      } catch (e) {
        abort.abort();
        if (clientSignal.aborted) throw new AttemptsFailed(lmrelayError("invalid_request", "client closed the request", { status: 499 }), attempts);
        let err = toGatewayError(e);
        if (deadline.aborted && !(e instanceof GatewayError && e.kind !== "timeout"))
          err = lmrelayError("timeout", `${candidate.provider.id}: no answer within the request deadline`, { provider: candidate.provider.id });
        attempts.push({
          provider: candidate.provider.id,
          model: candidate.model,
          key: key?.name,
          status: err.status,
          latencyMs: performance.now() - started,
          error: err.message,
        });
        lastError = err;
        const action = failoverAction(err);
        if (action === "fail") throw new AttemptsFailed(err, attempts);
        if (action === "rotate" && key) {
          keys.disabled.add(`${candidate.provider.id}\0${key.fingerprint}`);
          hooks.onKeyRejected?.(candidate.provider, key, err);
        }
      }
    }
  }
  throw new AttemptsFailed(exhaustedError(attempts, lastError, deadline.aborted), attempts);
}
