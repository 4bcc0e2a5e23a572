import type { ResolvedConfig } from "../config/resolve";
import type { HealthTracker } from "../health/tracker";
import type { Catalog } from "./catalog";
import { disabledFor, leafTargets, resolveCandidates, resolveTarget } from "./candidates";
import type { AttemptRecord } from "./explain";
import { planCandidates } from "./plan";
import { orderCandidates, StrategyState } from "./strategy";

// The routing table `lmrelay check` prints: for each alias and each model name, the candidate
// chain the router would try right now (health and cooldowns as stored), and what it would skip.
// `route()` is not run: it needs a real request.

export interface ChainLine {
  name: string;
  alias: boolean;
  strategy: string;
  /** `provider/model` in try order, with a short health note. */
  chain: string[];
  skipped: string[];
  error?: string;
}

function describeSkip(r: AttemptRecord): string {
  return `${r.provider}/${r.model}${r.key ? `[${r.key}]` : ""}: ${r.reason ?? "skipped"}${r.until ? ` until ${new Date(r.until).toISOString()}` : ""}`;
}

export function routingTable(config: ResolvedConfig, catalog: Catalog, health: HealthTracker): ChainLine[] {
  const names: { name: string; alias: boolean }[] = [...config.aliases.keys()].map((name) => ({ name, alias: true }));
  const models = new Set<string>();
  for (const p of config.providers.values()) for (const m of catalog.models(p.id)) models.add(m);
  for (const m of [...models].sort()) names.push({ name: m, alias: false });
  const strategies = new StrategyState(() => 1);
  return names.map(({ name, alias }) => {
    let resolution;
    try {
      resolution = resolveCandidates(config, catalog, name);
    } catch (e) {
      return { name, alias, strategy: "", chain: [], skipped: [], error: (e as Error).message };
    }
    const strategy = resolution.alias ? (resolution.strategy ?? "written") : config.routing.strategy;
    const plan = planCandidates({ config, health, candidates: resolution.candidates, need: "chat", promptTokens: 0 });
    const ordered = orderCandidates(strategy, plan.candidates, strategies, name);
    const chain = ordered.map((c) => {
      const notes: string[] = [`score ${c.health.score.toFixed(2)}`];
      if (c.health.ttftMs !== undefined) notes.push(`ttft ${Math.round(c.health.ttftMs)} ms`);
      if (c.free) notes.push("free");
      else if (c.cost.known) notes.push(`$${c.cost.input}/$${c.cost.output} per Mtok`);
      if (c.ramp < 1) notes.push(`ramping up ${Math.round(c.ramp * 100)}%`);
      if (c.lastResort) notes.push(`circuit open: ${c.lastResort.reason}, last resort`);
      return `${c.provider.id}/${c.model} (${notes.join(", ")})`;
    });
    return { name, alias, strategy, chain, skipped: plan.skipped.map(describeSkip) };
  });
}

export interface TargetStatus {
  /** As written in the alias (nested aliases expanded). */
  target: string;
  usable: boolean;
  /** Why not (`provider disabled (OPENAI_API_KEY not set)`, `cooling down …`), or what it stands for. */
  note: string;
}

export interface AliasVerdict {
  alias: string;
  targets: TargetStatus[];
  usable: number;
}

/** For `lmrelay check`: each alias target marked usable or skipped (and why), and the count. */
export function aliasVerdicts(config: ResolvedConfig, catalog: Catalog, health: HealthTracker): AliasVerdict[] {
  return [...config.aliases.values()].map((alias) => {
    const targets = leafTargets(config, alias.targets).map((target): TargetStatus => {
      const off = disabledFor(config, target);
      if (off) return { target, usable: false, note: `skipped: provider disabled (${off.reason})` };
      const candidates = resolveTarget(config, catalog, target);
      if (candidates.length === 0) {
        const slash = target.indexOf("/");
        const provider = slash > 0 ? config.providers.get(target.slice(0, slash)) : undefined;
        if (provider) {
          const err = catalog.discoveryError(provider.id);
          return { target, usable: false, note: `skipped: not in ${provider.id}'s models${err ? ` (discovery: ${err})` : ""}` };
        }
        return { target, usable: false, note: "skipped: no provider offers this model" };
      }
      const plan = planCandidates({ config, health, candidates, need: "chat", promptTokens: 0 });
      if (plan.candidates.length === 0)
        return { target, usable: false, note: `skipped: ${[...new Set(plan.skipped.map((r) => r.reason ?? "unavailable"))].join("; ")}` };
      // A provider whose model list cannot be read now is most likely down: it is still tried.
      const down = [...new Set(plan.candidates.map((c) => c.provider.id))].filter((id) => catalog.discoveryError(id) && catalog.models(id).length === 0);
      if (down.length && plan.candidates.every((c) => down.includes(c.provider.id)))
        return { target, usable: false, note: `unreachable now (${down.map((id) => catalog.discoveryError(id)).join("; ")}); still tried in turn` };
      const names = plan.candidates.map((c) => `${c.provider.id}/${c.model}`);
      return { target, usable: true, note: names.length === 1 && names[0] === target ? "usable" : `usable: ${names.join(", ")}` };
    });
    return { alias: alias.name, targets, usable: targets.filter((t) => t.usable).length };
  });
}
