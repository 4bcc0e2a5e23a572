import type { Reasoning } from "../core/types";

// One scale for every wire format's reasoning control, so each adapter's rules table maps a
// client's effort, thinking budget or level to what its target takes: OpenAI `reasoning_effort`,
// Anthropic `output_config.effort` / `thinking.budget_tokens`, Gemini `thinkingBudget` /
// `thinkingLevel`, Ollama `think`. Pure.

export type Effort = NonNullable<Reasoning["effort"]>;

/** From least to most thinking. "none" is OpenAI's "do not reason" (gpt-5.1 and later). */
export const EFFORT_SCALE = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;

function rank(effort: string): number {
  return EFFORT_SCALE.indexOf(effort as (typeof EFFORT_SCALE)[number]);
}

/** The value of `allowed` nearest to `wanted` (the lower one on a tie; never "none" for a request
 *  that asked to think), or undefined when nothing is allowed. */
export function nearestEffort(wanted: string, allowed: readonly string[]): string | undefined {
  if (allowed.includes(wanted)) return wanted;
  const want = rank(wanted);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const a of allowed) {
    if (a === "none" && wanted !== "none") continue;
    const r = rank(a);
    if (r < 0) continue;
    const d = Math.abs(r - want);
    if (d < bestDistance || (d === bestDistance && best !== undefined && r < rank(best))) {
      best = a;
      bestDistance = d;
    }
  }
  return best;
}

/** A thinking budget read as an effort: Claude Code's "think" (4k), "think hard" (10k) and
 *  "ultrathink" (32k) become low, medium and high. */
export function effortFromBudget(budget: number): Effort {
  if (budget < 4096) return "low";
  if (budget < 16_384) return "medium";
  return "high";
}

/** An effort read as a thinking budget (tokens), for targets that take budgets. */
export const BUDGET_FOR_EFFORT: Record<Effort, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16_384,
  xhigh: 24_576,
  max: 32_000,
};

/** The effort a request asks for, from its effort or else its budget; undefined when it asks for
 *  thinking with neither (Anthropic adaptive thinking). */
export function wantedEffort(reasoning: Reasoning): Effort | undefined {
  if (reasoning.effort) return reasoning.effort;
  if (reasoning.budgetTokens !== undefined) return effortFromBudget(reasoning.budgetTokens);
  return undefined;
}

export function clamp(n: number, min: number | undefined, max: number | undefined): number {
  let v = n;
  if (max !== undefined && v > max) v = max;
  if (min !== undefined && v < min) v = min;
  return v;
}
