import { modelFacts, type ProviderFacts } from "../../catalog";

// What a Cohere v2 chat model takes, as one table: the catalog (models.dev) says its output limit
// and whether it thinks (command-a-reasoning, command-a-plus); Cohere's API reference says
// `stop_sequences` takes "up to 5 strings". `fitCohereBody` bends an encoded body to that and
// names each change. Pure.

export interface CohereRules {
  model: string;
  maxOutputTokens?: number;
  /** Known not to think: `thinking` is left out. */
  noThinking: boolean;
  minBudget?: number;
}

/** Cohere v2 chat `stop_sequences`: "A list of up to 5 strings". */
const COHERE_MAX_STOP = 5;

export function cohereRulesFor(provider: ProviderFacts, model: string): CohereRules {
  const { facts } = modelFacts(provider, model);
  return { model, maxOutputTokens: facts.maxOutputTokens, noThinking: facts.reasoning === false, minBudget: facts.budget?.min };
}

export function fitCohereBody(body: Record<string, unknown>, rules: CohereRules): string[] {
  const adjusted: string[] = [];
  const max = body.max_tokens;
  if (typeof max === "number" && rules.maxOutputTokens !== undefined && max > rules.maxOutputTokens) {
    adjusted.push(`max_tokens ${max}->${rules.maxOutputTokens}`);
    body.max_tokens = rules.maxOutputTokens;
  }
  const stops = body.stop_sequences;
  if (Array.isArray(stops) && stops.length > COHERE_MAX_STOP) {
    adjusted.push(`stop_sequences ${stops.length}->${COHERE_MAX_STOP}`);
    body.stop_sequences = stops.slice(0, COHERE_MAX_STOP);
  }
  const thinking = body.thinking as { type?: string; token_budget?: number } | undefined;
  if (thinking && rules.noThinking) {
    // "disabled" to a model that never thinks changes nothing the client would notice.
    if (thinking.type === "enabled") adjusted.push(`thinking dropped (${rules.model} has none)`);
    delete body.thinking;
  } else if (thinking?.token_budget !== undefined && rules.minBudget !== undefined && thinking.token_budget < rules.minBudget) {
    adjusted.push(`thinking budget ${thinking.token_budget}->${rules.minBudget}`);
    thinking.token_budget = rules.minBudget;
  }
  return adjusted;
}
