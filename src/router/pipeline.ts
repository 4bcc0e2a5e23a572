import type { RouteRequest } from "../config/define";
import type { ResolvedConfig } from "../config/resolve";
import type { HealthTracker } from "../health/tracker";
import type { Logger } from "../log/logger";
import type { Capability, CapabilityBook } from "./capabilities";
import type { Candidate, Resolution } from "./candidates";
import type { AttemptRecord } from "./explain";
import { type PlannedCandidate, planCandidates } from "./plan";
import { orderCandidates, type StrategyState } from "./strategy";
import { applyUserRoute } from "./userroute";

// Steps two to four in a row — filter and annotate (plan.ts), order (strategy.ts), the user's
// `route()` (userroute.ts) — giving the attempt loop its list and the explanation its skips.

export interface RouteInput {
  config: ResolvedConfig;
  health: HealthTracker;
  strategies: StrategyState;
  log: Logger;
  requestId: string;
  resolution: Resolution;
  /** The resolution's candidates the client may use (governance's allow-list). */
  allowed: Candidate[];
  requested: string;
  need: "chat" | "embed";
  /** Capabilities the request needs (tools, images…): candidates known to lack one are skipped. */
  needs: readonly Capability[];
  capabilities?: CapabilityBook;
  promptTokens: number;
  maxTokens?: number;
  /** Built only when the config has a `route()`. */
  routeRequest(): RouteRequest;
}

export interface RoutePlan {
  candidates: PlannedCandidate[];
  /** Skips so far (allow-list, capability, cooldowns, route()). */
  records: AttemptRecord[];
  /** Set when `route()` failed and the default order was used. */
  note?: string;
}

export async function routeCandidates(input: RouteInput): Promise<RoutePlan> {
  const { config, resolution } = input;
  const records: AttemptRecord[] = [];
  if (input.allowed.length !== resolution.candidates.length)
    for (const c of resolution.candidates)
      if (!input.allowed.includes(c)) records.push({ outcome: "skipped", provider: c.provider.id, model: c.model, status: 0, reason: "client allow-list" });
  const plan = planCandidates({
    config,
    health: input.health,
    candidates: input.allowed,
    need: input.need,
    needs: input.needs,
    capabilities: input.capabilities,
    promptTokens: input.promptTokens,
    maxTokens: input.maxTokens,
  });
  records.push(...plan.skipped);
  // An alias is tried in its written order unless it sets a strategy of its own (SPEC §4).
  const strategy = resolution.alias ? (resolution.strategy ?? "written") : config.routing.strategy;
  let candidates = orderCandidates(strategy, plan.candidates, input.strategies, resolution.alias ?? input.requested);
  let note: string | undefined;
  const route = config.routing.route;
  if (route && candidates.length > 0) {
    const routed = await applyUserRoute(route, input.routeRequest(), candidates, input.log, input.requestId);
    candidates = routed.candidates;
    if (routed.error) note = `${routed.error}; default order used`;
    for (const c of routed.dropped) records.push({ outcome: "skipped", provider: c.provider.id, model: c.model, status: 0, reason: "route()" });
  }
  return { candidates, records, note };
}
