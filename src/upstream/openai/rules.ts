import { modelFacts, type ProviderFacts } from "../../catalog";
import type { Reasoning } from "../../core/types";
import { nearestEffort, wantedEffort } from "../reasoning";

// What an OpenAI Chat Completions model takes, as one table: the catalog (models.dev) says the
// output limit, the effort values and whether sampling is refused; the family table below says
// what the catalog does not (which field carries the output limit, whether `stop` is taken).
// `fitOpenAIBody` bends an encoded body to those rules and names every change. Pure; the
// same-format passthrough calls it too, to learn whether a client's bytes may go as they are.

export interface OpenAIRules {
  /** Model as the rules call it in adjustment notes. */
  model: string;
  /** The model's output limit, when known. */
  maxOutputTokens?: number;
  /** `reasoning_effort` values it takes; [] = it takes none; undefined = unknown (standard set). */
  efforts?: readonly string[];
  /** false: temperature, top_p and the penalties are refused (reasoning models). */
  sampling: boolean;
  /** Most stop sequences taken; 0 = `stop` refused; undefined = no known limit. */
  maxStop?: number;
  /** The model refuses `max_tokens` (only `max_completion_tokens`). */
  completionTokensOnly: boolean;
}

interface Family {
  family: string;
  match: RegExp;
  /** Reasoning models: no sampling parameters, no `stop`, only `max_completion_tokens`.
   *  Sources: OpenAI reasoning guide ("Unsupported parameters: temperature, top_p, presence_penalty,
   *  frequency_penalty, logprobs, max_tokens"), and the API's 400 "Unsupported parameter: 'stop' is
   *  not supported with this model" for o3 / o4-mini / gpt-5. */
  reasoning: boolean;
}

/** OpenAI's own model families, newest first. A name matching none is an unknown model. */
const FAMILIES: readonly Family[] = [
  { family: "gpt-5 chat", match: /^gpt-5(\.\d+)?-chat/, reasoning: false },
  { family: "gpt-5", match: /^gpt-5/, reasoning: true },
  { family: "o-series", match: /^o[1-9]/, reasoning: true },
  { family: "gpt-4 / gpt-3.5", match: /^(gpt-4|gpt-3\.5|chatgpt-4o)/, reasoning: false },
];

/** Every value `reasoning_effort` has taken (openai-node `ReasoningEffort`); used for unknown models. */
const OPENAI_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
/** What OpenAI-compatible servers (vLLM, Groq, OpenRouter…) take for models lmrelay does not know. */
const COMMON_EFFORTS = ["minimal", "low", "medium", "high"] as const;
/** OpenAI: "Up to 4 sequences where the API will stop generating" (openai-node ChatCompletionCreateParams.stop). */
const OPENAI_MAX_STOP = 4;

const bare = (model: string) => model.slice(model.lastIndexOf("/") + 1).toLowerCase();

/** The rules for `model` on `provider` (OpenAI, Azure, or an OpenAI-compatible server). */
export function openaiRulesFor(provider: ProviderFacts, model: string): OpenAIRules {
  const { facts } = modelFacts(provider, model);
  // The family table is OpenAI's own API; another server (OpenRouter, Groq, vLLM…) serving an
  // OpenAI model by name has its own parameter handling, so only the catalog's facts apply there.
  const firstParty = provider.type === "openai" || provider.type === "azure";
  const family = firstParty ? FAMILIES.find((f) => f.match.test(bare(model))) : undefined;
  const reasoningFamily = family?.reasoning === true;
  let efforts: readonly string[] | undefined;
  if (facts.efforts) efforts = facts.efforts;
  else if (facts.reasoning === false || (family && !reasoningFamily)) efforts = [];
  else if (firstParty) efforts = OPENAI_EFFORTS;
  return {
    model,
    maxOutputTokens: facts.maxOutputTokens,
    efforts,
    sampling: facts.sampling ?? !reasoningFamily,
    maxStop: !firstParty ? undefined : reasoningFamily ? 0 : OPENAI_MAX_STOP,
    completionTokensOnly: reasoningFamily,
  };
}

/** Whether a client's Chat Completions body already fits `model` on `provider`, once its
 *  output-limit field is renamed to `maxField`: the same-format passthrough (`forward`) may send
 *  it as it is only then; otherwise the translation fits it and names the changes. */
export function openaiBodyFits(body: Record<string, unknown>, provider: ProviderFacts, model: string, maxField = "max_completion_tokens"): boolean {
  const copy: Record<string, unknown> = { ...body };
  for (const field of ["max_tokens", "max_completion_tokens"])
    if (field in copy && field !== maxField) {
      copy[maxField] = copy[field];
      delete copy[field];
    }
  return fitOpenAIBody(copy, openaiRulesFor(provider, model)).length === 0;
}

const SAMPLING_FIELDS = ["temperature", "top_p", "presence_penalty", "frequency_penalty"] as const;

/**
 * Bends an encoded Chat Completions body to `rules`, in place, and names each change
 * (`max_completion_tokens 32000->16384`). `reasoning` is the canonical request's, for a thinking
 * budget with no effort (an Anthropic client's); passthrough bodies give none.
 */
export function fitOpenAIBody(body: Record<string, unknown>, rules: OpenAIRules, reasoning?: Reasoning): string[] {
  const adjusted: string[] = [];
  const name = rules.model;

  for (const field of ["max_completion_tokens", "max_tokens"] as const) {
    const v = body[field];
    if (typeof v !== "number") continue;
    if (rules.maxOutputTokens !== undefined && v > rules.maxOutputTokens) {
      body[field] = rules.maxOutputTokens;
      adjusted.push(`${field} ${v}->${rules.maxOutputTokens}`);
    }
    if (field === "max_tokens" && rules.completionTokensOnly) {
      body.max_completion_tokens = body.max_tokens;
      delete body.max_tokens;
      adjusted.push(`max_tokens sent as max_completion_tokens (${name} refuses max_tokens)`);
    }
  }

  if (!rules.sampling) {
    for (const field of SAMPLING_FIELDS) {
      if (body[field] === undefined) continue;
      // The default value is accepted by every model; anything else is refused.
      if ((field === "temperature" || field === "top_p") && body[field] === 1) continue;
      adjusted.push(`${field} dropped (${name} refuses it)`);
      delete body[field];
    }
  }

  const stop = body.stop;
  if (stop !== undefined && rules.maxStop !== undefined) {
    const list = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
    if (rules.maxStop === 0) {
      delete body.stop;
      adjusted.push(`stop dropped (${name} takes none)`);
    } else if (list.length > rules.maxStop) {
      body.stop = list.slice(0, rules.maxStop);
      adjusted.push(`stop ${list.length}->${rules.maxStop} sequences`);
    }
  }

  fitEffort(body, rules, reasoning, adjusted);
  return adjusted;
}

function fitEffort(body: Record<string, unknown>, rules: OpenAIRules, reasoning: Reasoning | undefined, adjusted: string[]): void {
  const given = body.reasoning_effort;
  const allowed = rules.efforts;
  if (typeof given === "string") {
    if (!allowed) {
      // An unknown model on an OpenAI-compatible server: keep to the values every such server knows.
      const fit = nearestEffort(given, COMMON_EFFORTS);
      if (fit && fit !== given) {
        body.reasoning_effort = fit;
        adjusted.push(`reasoning_effort ${given}->${fit}`);
      }
      return;
    }
    if (allowed.length === 0) {
      delete body.reasoning_effort;
      adjusted.push(`reasoning_effort dropped (${rules.model} has none)`);
      return;
    }
    const fit = nearestEffort(given, allowed);
    if (fit === given) return;
    if (fit === undefined) {
      delete body.reasoning_effort;
      adjusted.push(`reasoning_effort dropped (${rules.model} takes ${allowed.join("/")})`);
    } else {
      body.reasoning_effort = fit;
      adjusted.push(`reasoning_effort ${given}->${fit}`);
    }
    return;
  }
  // A thinking request with no effort (an Anthropic budget or adaptive thinking): a reasoning model
  // gets the nearest effort; a model without reasoning answers without, and says so.
  if (!reasoning?.enabled) return;
  const wanted = wantedEffort(reasoning);
  const from = reasoning.budgetTokens !== undefined ? `thinking budget ${reasoning.budgetTokens}` : "thinking";
  if (allowed && allowed.length === 0) {
    adjusted.push(`${from} dropped (${rules.model} has no reasoning_effort)`);
    return;
  }
  if (!allowed || !wanted) return;
  const fit = nearestEffort(wanted, allowed);
  if (!fit) return;
  body.reasoning_effort = fit;
  adjusted.push(`${from}->reasoning_effort ${fit}`);
}
