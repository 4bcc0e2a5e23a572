import type { ResolvedConfig, ResolvedKey } from "../config/resolve";
import { toGatewayError } from "../core/errors";
import { estimatePromptTokens } from "../core/tokens";
import type { ChatRequest } from "../core/types";
import { allowedCandidates } from "../governance/allowlist";
import type { HealthTracker } from "../health/tracker";
import type { Logger } from "../log/logger";
import { adapterFor } from "../upstream/registry";
import { clientClosed } from "./attempts";
import type { Candidate } from "./candidates";
import { policyFor } from "./failover";
import { ESTIMATED_HEADER, type TokenCount } from "../core/gateway";
import type { ClientContext } from "../governance/auth";

// Token counting (Anthropic `count_tokens`, Gemini `countTokens`): the model resolves as for a chat
// (alias chain, `provider/model`, catalogs) and the client's allow-list applies; then the first
// candidates, in the resolved order, whose wire format has a counter are asked, moving to the next
// key or candidate when one fails. Only when no upstream can count does lmrelay answer its own
// estimate, flagged `x-lmrelay-estimated: true` — never a guess passed off as a count.
//
// A count is not a chat: it generates nothing, the upstream counters are free and rate-limited
// apart from generation, so it is not charged to the client's rpm/tpm/budget nor to the keys'
// rpm/tpm, writes no audit row, and teaches health only that a key was rejected (401/403).

export interface CountEnv {
  config: ResolvedConfig;
  health: HealthTracker;
  log: Logger;
}

export async function countInputTokens(env: CountEnv, req: ChatRequest, ctx: ClientContext, resolved: Candidate[]): Promise<TokenCount> {
  const { config, health, log } = env;
  const candidates = allowedCandidates(ctx.client, req.model, resolved);
  let attempts = 0;
  for (const { provider, model } of candidates) {
    const adapter = adapterFor(provider.type);
    if (!adapter?.countTokens || health.providerBlock(provider.id)) continue;
    const keys: (ResolvedKey | undefined)[] = provider.keys.length ? provider.keys.filter((k) => k.allowsModel(model) && countable(health, provider.id, k, model)) : [undefined];
    for (const key of keys) {
      if (attempts++ >= config.routing.maxAttempts) return estimate(req);
      const timeout = AbortSignal.timeout(provider.timeoutMs ?? config.health.firstByteTimeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      try {
        const tokens = await adapter.countTokens({ ...req, model }, { target: { provider, key, model }, signal });
        return { tokens, estimated: false, provider: provider.id, model, headers: { "x-lmrelay-provider": provider.id, "x-lmrelay-model": model } };
      } catch (e) {
        if (ctx.signal.aborted) throw clientClosed();
        const err = toGatewayError(e);
        const policy = policyFor(err, config.routing.contentPolicyFailover);
        if (policy.cls === "auth") health.recordFailure(provider.id, key, model, "auth", err);
        log.debug("token count failed; trying the next counter", { requestId: ctx.requestId, provider: provider.id, key: key?.name, status: err.status, error: err.message });
        // The request itself is at fault: every counter would say the same.
        if (policy.action === "fail") return estimate(req);
        // A rejected or rate-limited key: its sibling may count; anything else: the next candidate.
        if (policy.action !== "rotate") break;
      }
    }
  }
  return estimate(req);
}

/** Keys that may count: not disabled by a 401/403 nor out of quota. A chat rate-limit cooldown does
 *  not stop a count (the counters have their own limits). */
function countable(health: HealthTracker, providerId: string, key: ResolvedKey, model: string): boolean {
  const block = health.keyBlock(providerId, key, model);
  return !block || block.kind === "rate_limited";
}

function estimate(req: ChatRequest): TokenCount {
  return { tokens: estimatePromptTokens(req), estimated: true, headers: { [ESTIMATED_HEADER]: "true" } };
}
