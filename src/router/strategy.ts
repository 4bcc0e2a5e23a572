import type { RoutingStrategy } from "../config/define";
import type { PlannedCandidate } from "./plan";

// Step three: order the candidates by `routing.strategy` (or the alias's own). Every strategy
// then applies the same two rules: a provider ramping back up after a cooldown takes only its
// share of first places, and a provider whose circuit is open comes last (a half-open trial
// when nothing else answers).
//
//   health       score band (0.1 wide) desc → priority desc → written order
//   priority     priority desc → written order
//   cost         known estimate asc (free first) → unknown prices → priority → written order
//   latency      unmeasured first (to measure them), then EWMA time to first token asc;
//                now and then the stalest measured candidate goes first (exploration)
//   round-robin  smooth weighted round-robin over candidates by provider `weight`
//   written      the alias's written order (an alias without its own strategy)

/** Share of latency-ordered requests that go to the stalest candidate, so recovered providers are re-measured. */
export const EXPLORATION = 0.05;

export class StrategyState {
  /** Smooth weighted round-robin per requested name: `provider/model` → current weight. */
  private swrr = new Map<string, Map<string, number>>();

  constructor(readonly random: () => number = Math.random) {}

  rotate(name: string, list: PlannedCandidate[]): PlannedCandidate[] {
    if (list.length <= 1) return list;
    let state = this.swrr.get(name);
    if (!state) {
      if (this.swrr.size > 10_000) this.swrr.clear();
      state = new Map();
      this.swrr.set(name, state);
    }
    let total = 0;
    let best = 0;
    let bestCurrent = -Infinity;
    list.forEach((c, i) => {
      const id = `${c.provider.id}/${c.model}`;
      const current = (state.get(id) ?? 0) + c.provider.weight;
      state.set(id, current);
      total += c.provider.weight;
      if (current > bestCurrent) {
        bestCurrent = current;
        best = i;
      }
    });
    const chosen = list[best]!;
    const id = `${chosen.provider.id}/${chosen.model}`;
    state.set(id, state.get(id)! - total);
    return [...list.slice(best), ...list.slice(0, best)];
  }
}

const band = (c: PlannedCandidate) => Math.round(c.health.score * 10);
const byPriority = (a: PlannedCandidate, b: PlannedCandidate) => b.provider.priority - a.provider.priority || a.index - b.index;
const latencyOf = (c: PlannedCandidate) => c.health.ttftMs ?? c.health.latencyMs;

export function orderCandidates(strategy: RoutingStrategy | "written", list: PlannedCandidate[], state: StrategyState, name: string): PlannedCandidate[] {
  const live = list.filter((c) => !c.lastResort);
  const lastResort = list.filter((c) => c.lastResort);
  let ordered: PlannedCandidate[];
  switch (strategy) {
    case "priority":
      ordered = live.sort(byPriority);
      break;
    case "health":
      ordered = live.sort((a, b) => band(b) - band(a) || byPriority(a, b));
      break;
    case "cost":
      ordered = live.sort((a, b) => Number(b.cost.known) - Number(a.cost.known) || a.cost.estimateUsd - b.cost.estimateUsd || byPriority(a, b));
      break;
    case "latency":
      ordered = orderByLatency(live, state.random);
      break;
    case "round-robin":
      ordered = state.rotate(name, live.sort((a, b) => a.index - b.index));
      break;
    case "written":
      ordered = live.sort((a, b) => a.index - b.index);
      break;
  }
  return [...applyRamp(ordered, state.random), ...lastResort.sort(byPriority)];
}

function orderByLatency(list: PlannedCandidate[], random: () => number): PlannedCandidate[] {
  const unmeasured = list.filter((c) => latencyOf(c) === undefined).sort(byPriority);
  const measured = list.filter((c) => latencyOf(c) !== undefined).sort((a, b) => latencyOf(a)! - latencyOf(b)! || byPriority(a, b));
  if (unmeasured.length === 0 && measured.length > 1 && random() < EXPLORATION) {
    let stalest = 1;
    for (let i = 2; i < measured.length; i++) if ((measured[i]!.health.lastAt ?? 0) < (measured[stalest]!.health.lastAt ?? 0)) stalest = i;
    const [pick] = measured.splice(stalest, 1);
    measured.unshift(pick!);
  }
  return [...unmeasured, ...measured];
}

/** A ramping candidate keeps its place only for its share of requests; otherwise it follows the others. */
function applyRamp(list: PlannedCandidate[], random: () => number): PlannedCandidate[] {
  if (list.length <= 1 || list.every((c) => c.ramp >= 1)) return list;
  const kept: PlannedCandidate[] = [];
  const deferred: PlannedCandidate[] = [];
  for (const c of list) (c.ramp >= 1 || random() < c.ramp ? kept : deferred).push(c);
  return [...kept, ...deferred];
}
