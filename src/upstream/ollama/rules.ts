import { modelFacts, type ProviderFacts } from "../../catalog";
import type { Reasoning } from "../../core/types";
import { nearestEffort, wantedEffort } from "../reasoning";

// What an Ollama model takes, as one table. Ollama's `think` is a boolean for most thinking models
// and a level ("low" / "medium" / "high") for gpt-oss (Ollama API docs, `think`); a model that does
// not think refuses `think: true` ("does not support thinking"). The catalog (models.dev's Ollama
// Cloud list, which uses Ollama's own names) says which is which where it knows the model; an
// unknown local model keeps the request's own form.

export interface OllamaRules {
  model: string;
  maxOutputTokens?: number;
  noThinking: boolean;
  /** Levels `think` takes; undefined = a boolean (or unknown). */
  levels?: readonly string[];
  known: boolean;
}

export function ollamaRulesFor(provider: ProviderFacts, model: string): OllamaRules {
  const { facts } = modelFacts(provider, model);
  return {
    model,
    maxOutputTokens: facts.maxOutputTokens,
    noThinking: facts.reasoning === false,
    levels: facts.efforts?.filter((e) => e === "low" || e === "medium" || e === "high"),
    known: facts.reasoning !== undefined,
  };
}

/** Fits an encoded /api/chat body to `rules`, in place; returns the changes made. */
export function fitOllamaBody(body: Record<string, unknown>, reasoning: Reasoning | undefined, rules: OllamaRules): string[] {
  const adjusted: string[] = [];
  const options = body.options as Record<string, unknown> | undefined;
  const predict = options?.num_predict;
  if (typeof predict === "number" && rules.maxOutputTokens !== undefined && predict > rules.maxOutputTokens) {
    options!.num_predict = rules.maxOutputTokens;
    adjusted.push(`num_predict ${predict}->${rules.maxOutputTokens}`);
  }
  if (!rules.known || body.think === undefined || body.think === false) return adjusted;
  if (rules.noThinking) {
    delete body.think;
    adjusted.push(`think dropped (${rules.model} has none)`);
    return adjusted;
  }
  if (rules.levels?.length) {
    // The level the client asked for (its effort, or its budget read as one), fitted to the model.
    const wanted = reasoning ? wantedEffort(reasoning) : undefined;
    const level = nearestEffort(wanted ?? "medium", rules.levels) ?? "medium";
    if (wanted && wanted !== level) adjusted.push(`${reasoning?.effort ? `effort ${wanted}` : `thinking budget ${reasoning?.budgetTokens}`}->think ${level}`);
    else if (!wanted && body.think !== level) adjusted.push(`think ${String(body.think)}->${level}`);
    body.think = level;
  } else if (body.think !== true) {
    adjusted.push(`think ${String(body.think)}->true (${rules.model} takes no level)`);
    body.think = true;
  }
  return adjusted;
}
