import { modelFacts, type ProviderFacts } from "../../catalog";
import type { Reasoning } from "../../core/types";
import { BUDGET_FOR_EFFORT, clamp, effortFromBudget, nearestEffort } from "../reasoning";
import type { GeminiGenerationConfig } from "./wire";

// What a Gemini model takes, as one table: the catalog (models.dev) says the output limit and the
// thinking control — none (2.0 Flash), a budget range (2.5: Flash 0–24576, Pro 128–32768) or
// levels (Gemini 3: `thinkingLevel` low/high). `fitGeminiConfig` writes the thinking control the
// model takes from any client's reasoning request and names every change. Pure.

export interface GeminiRules {
  model: string;
  maxOutputTokens?: number;
  /** Known not to think: a thinkingConfig is refused. */
  noThinking: boolean;
  /** `thinkingLevel` values (Gemini 3); when set, levels are sent instead of budgets. */
  levels?: readonly string[];
  budget?: { min?: number; max?: number };
}

/** "Up to 5 character sequences" (Gemini API GenerationConfig.stopSequences). */
const GEMINI_MAX_STOP = 5;

/** `gemini-2.5-flash` from `models/gemini-2.5-flash` or `gemini-2.5-flash-001`. */
export function geminiRulesFor(provider: ProviderFacts, model: string): GeminiRules {
  const { facts } = modelFacts(provider, model);
  return {
    model: model.replace(/^models\//, ""),
    maxOutputTokens: facts.maxOutputTokens,
    noThinking: facts.reasoning === false,
    levels: facts.efforts,
    budget: facts.budget,
  };
}

/** Fits `g` (already holding the request's plain fields) to `rules`, in place; the thinking
 *  control comes from `reasoning`. Returns the changes made. */
export function fitGeminiConfig(g: GeminiGenerationConfig, reasoning: Reasoning | undefined, rules: GeminiRules): string[] {
  const adjusted: string[] = [];
  if (g.maxOutputTokens !== undefined && rules.maxOutputTokens !== undefined && g.maxOutputTokens > rules.maxOutputTokens) {
    adjusted.push(`maxOutputTokens ${g.maxOutputTokens}->${rules.maxOutputTokens}`);
    g.maxOutputTokens = rules.maxOutputTokens;
  }
  if (g.stopSequences && g.stopSequences.length > GEMINI_MAX_STOP) {
    adjusted.push(`stopSequences ${g.stopSequences.length}->${GEMINI_MAX_STOP}`);
    g.stopSequences = g.stopSequences.slice(0, GEMINI_MAX_STOP);
  }
  // Explicitly off sends nothing: not every model can switch thinking off (2.5 Pro, 3), and
  // thoughts are only returned when asked for anyway.
  if (!reasoning?.enabled) return adjusted;
  if (rules.noThinking) {
    adjusted.push(`thinking dropped (${rules.model} has none)`);
    return adjusted;
  }
  const from = reasoning.budgetTokens !== undefined ? `thinking budget ${reasoning.budgetTokens}` : reasoning.effort ? `effort ${reasoning.effort}` : undefined;
  if (rules.levels) {
    const wanted = reasoning.effort ?? (reasoning.budgetTokens !== undefined ? effortFromBudget(reasoning.budgetTokens) : undefined);
    const level = wanted ? nearestEffort(wanted, rules.levels) : undefined;
    g.thinkingConfig = level ? { thinkingLevel: level, includeThoughts: true } : { includeThoughts: true };
    if (level && from && level !== reasoning.effort) adjusted.push(`${from}->thinkingLevel ${level}`);
    return adjusted;
  }
  let budget = reasoning.budgetTokens ?? (reasoning.effort ? BUDGET_FOR_EFFORT[reasoning.effort] : undefined);
  if (budget === undefined) {
    g.thinkingConfig = { includeThoughts: true };
    return adjusted;
  }
  const fitted = clamp(budget, Math.max(1, rules.budget?.min ?? 1), rules.budget?.max);
  if (reasoning.budgetTokens === undefined) adjusted.push(`${from}->thinkingBudget ${fitted}`);
  // Gemini has one control: with both a budget and an effort, the budget is the one sent.
  else if (reasoning.effort) adjusted.push(`effort ${reasoning.effort} dropped (thinkingBudget from the budget)`);
  else if (fitted !== budget) adjusted.push(`thinking budget ${budget}->${fitted}`);
  budget = fitted;
  g.thinkingConfig = { thinkingBudget: budget, includeThoughts: true };
  return adjusted;
}
