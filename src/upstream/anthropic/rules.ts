import { modelFacts, type ProviderFacts } from "../../catalog";
import type { ChatRequest } from "../../core/types";
import { BUDGET_FOR_EFFORT, type Effort, effortFromBudget, nearestEffort } from "../reasoning";

// What an Anthropic Messages model takes, as one table: the catalog (models.dev) says the output
// limit, whether the model thinks, its effort values and budget floor, and whether it refuses
// sampling; the family table says what the catalog does not. `anthropicControls` turns a request's
// output limit, reasoning and sampling into the body fields the model accepts and names each change.

export interface AnthropicRules {
  model: string;
  maxOutputTokens?: number;
  /** Known not to think (claude-3-5-haiku): thinking and effort are left out. */
  noThinking: boolean;
  /** `thinking.type: "adaptive"` is taken (Claude 4.6 and later). */
  adaptive: boolean;
  /** `thinking.type: "enabled"` with a budget is taken (absent on adaptive-only models: Opus 4.7). */
  budgets: boolean;
  /** `output_config.effort` values taken; undefined = none. */
  efforts?: readonly string[];
  /** Smallest `budget_tokens` ("Must be ≥1024", Anthropic extended-thinking docs). */
  minBudget: number;
  /** false: temperature, top_p and top_k are refused (Opus 4.7: "sampling parameters removed"). */
  sampling: boolean;
  /** temperature and top_p may not both be set (Claude 4.5 migration guide: "use only
   *  temperature OR top_p, not both"; the API answers 400). */
  oneSamplingParameter: boolean;
}

/** Families where the catalog says too little. Sources: Anthropic docs "Adaptive thinking"
 *  (Opus 4.6 / Sonnet 4.6 onwards) and "Migrating to Claude 4.5" (sampling). */
const ADAPTIVE = /^claude-((opus|sonnet)-4-[6-9]|[a-z]+-[5-9])/;
const ONE_SAMPLING_PARAMETER = /^claude-((opus|sonnet|haiku)-4-[5-9]|opus-4-1|[a-z]+-[5-9])/;

export const DEFAULT_MAX_TOKENS = 4096;
const MIN_THINKING_BUDGET = 1024;

export function anthropicRulesFor(provider: ProviderFacts, model: string): AnthropicRules {
  const { facts } = modelFacts(provider, model);
  const name = model.toLowerCase();
  const efforts = facts.efforts;
  const known = facts.reasoning !== undefined;
  return {
    model,
    maxOutputTokens: facts.maxOutputTokens,
    noThinking: facts.reasoning === false,
    adaptive: ADAPTIVE.test(name) || (!!efforts && !facts.budget),
    // Unknown models keep the budget form every thinking Claude has taken since 3.7.
    budgets: !known || !!facts.budget || !efforts,
    efforts,
    minBudget: Math.max(MIN_THINKING_BUDGET, facts.budget?.min ?? 0),
    sampling: facts.sampling ?? true,
    oneSamplingParameter: ONE_SAMPLING_PARAMETER.test(name),
  };
}

export interface AnthropicControls {
  max_tokens: number;
  thinking?: { type: "enabled"; budget_tokens: number } | { type: "adaptive" } | { type: "disabled" };
  /** `output_config.effort`. */
  effort?: string;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  /** Thinking is on (forced tool choice is then refused). */
  thinkingOn: boolean;
}

/**
 * The output limit, thinking and sampling fields for `req` on a model with `rules`, and the
 * changes made. `unsignedToolTurn`: the request continues a tool turn whose assistant message has
 * no signed thinking (history from another provider), which Anthropic refuses with thinking on.
 */
export function anthropicControls(req: ChatRequest, rules: AnthropicRules, unsignedToolTurn: boolean): { controls: AnthropicControls; adjusted: string[] } {
  const adjusted: string[] = [];
  const limit = rules.maxOutputTokens;
  let maxTokens = req.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS, limit ?? DEFAULT_MAX_TOKENS);
  if (limit !== undefined && maxTokens > limit) {
    adjusted.push(`max_tokens ${maxTokens}->${limit}`);
    maxTokens = limit;
  }
  const controls: AnthropicControls = { max_tokens: maxTokens, thinkingOn: false };
  const r = req.reasoning;
  if (r && !r.enabled && !rules.noThinking) controls.thinking = { type: "disabled" };
  if (r?.enabled) {
    if (rules.noThinking) adjusted.push(`thinking dropped (${rules.model} has none)`);
    else thinkingControls(r, rules, controls, adjusted, unsignedToolTurn);
  }
  samplingControls(req, rules, controls, adjusted);
  return { controls, adjusted };
}

function thinkingControls(r: NonNullable<ChatRequest["reasoning"]>, rules: AnthropicRules, c: AnthropicControls, adjusted: string[], unsignedToolTurn: boolean): void {
  const budgetAsked = r.budgetTokens !== undefined;
  const useBudget = rules.budgets && (budgetAsked || !rules.adaptive);
  // Budget thinking wants the tool turn being continued to open with its signed thinking; history
  // from another provider has none. Adaptive thinking may skip thinking, so it takes such turns.
  if (useBudget && unsignedToolTurn) {
    adjusted.push("thinking dropped (the tool turn continued has no signed thinking)");
    return;
  }
  c.thinkingOn = true;
  if (!useBudget) {
    c.thinking = { type: "adaptive" };
    if (budgetAsked) adjusted.push(`thinking budget ${r.budgetTokens}->adaptive (${rules.model} takes no budget)`);
  }
  // The effort travels as `output_config.effort` where the model takes one.
  const wanted: Effort | undefined = r.effort ?? (budgetAsked && !useBudget ? effortFromBudget(r.budgetTokens!) : undefined);
  if (wanted && rules.efforts) {
    const fit = nearestEffort(wanted, rules.efforts);
    if (fit) {
      c.effort = fit;
      if (fit !== wanted) adjusted.push(r.effort ? `effort ${wanted}->${fit}` : `effort ${fit} (from the budget)`);
    }
  } else if (r.effort && !useBudget) adjusted.push(`effort ${r.effort} dropped (${rules.model} takes none)`);
  if (!useBudget) return;

  let budget = r.budgetTokens ?? BUDGET_FOR_EFFORT[r.effort ?? "medium"];
  if (!budgetAsked && r.effort && !rules.efforts) adjusted.push(`effort ${r.effort}->thinking budget ${budget}`);
  else if (!budgetAsked && !r.effort) adjusted.push(`adaptive thinking->budget ${budget} (${rules.model} takes a budget)`);
  if (budget < rules.minBudget) {
    if (budgetAsked) adjusted.push(`thinking budget ${budget}->${rules.minBudget}`);
    budget = rules.minBudget;
  }
  // budget_tokens must stay below max_tokens: make room above the budget within the model's limit,
  // else lower the budget.
  if (budget >= c.max_tokens) {
    const room = Math.min(budget + c.max_tokens, rules.maxOutputTokens ?? Infinity);
    if (room > c.max_tokens) {
      adjusted.push(`max_tokens ${c.max_tokens}->${room} (room above the thinking budget)`);
      c.max_tokens = room;
    }
    if (budget >= c.max_tokens) {
      const lowered = Math.max(rules.minBudget, Math.floor(c.max_tokens / 2));
      adjusted.push(`thinking budget ${budget}->${lowered}`);
      budget = lowered;
    }
  }
  c.thinking = { type: "enabled", budget_tokens: budget };
}

function samplingControls(req: ChatRequest, rules: AnthropicRules, c: AnthropicControls, adjusted: string[]): void {
  const { temperature, topP, topK } = req;
  if (!rules.sampling) {
    for (const [field, v] of [["temperature", temperature], ["top_p", topP], ["top_k", topK]] as const)
      if (v !== undefined) adjusted.push(`${field} dropped (${rules.model} refuses it)`);
    return;
  }
  if (temperature !== undefined) {
    if (c.thinkingOn && temperature !== 1) adjusted.push(`temperature ${temperature} dropped (thinking takes only 1)`);
    else if (temperature > 1) {
      c.temperature = 1;
      adjusted.push(`temperature ${temperature}->1`);
    } else c.temperature = Math.max(0, temperature);
  }
  if (topP !== undefined) {
    // Thinking takes top_p only between 0.95 and 1 (extended-thinking docs).
    c.top_p = c.thinkingOn && topP < 0.95 ? 0.95 : topP;
    if (c.top_p !== topP) adjusted.push(`top_p ${topP}->${c.top_p}`);
  }
  if (topK !== undefined) {
    if (c.thinkingOn) adjusted.push("top_k dropped (thinking refuses it)");
    else c.top_k = topK;
  }
  if (rules.oneSamplingParameter && c.temperature !== undefined && c.top_p !== undefined) {
    adjusted.push(`top_p dropped (${rules.model} takes temperature or top_p, not both)`);
    delete c.top_p;
  }
}
