// Per-model checks of the fake OpenAI Chat Completions API: what the real API refuses for a given
// model, with its own error messages. Kept apart from lmrelay's rules (src/upstream/openai/rules.ts)
// on purpose: a fake that read lmrelay's table could not catch a mistake in it.
//
// Sources, per rule:
//  - output limits: OpenAI model pages (gpt-4o / gpt-4o-mini 16,384; o3 / o4-mini 100,000; gpt-5
//    family 128,000 max output tokens); the API answers "max_tokens is too large: …".
//  - `max_tokens` on reasoning models: openai-node ChatCompletionCreateParams.max_tokens ("not
//    compatible with o-series models"); the API answers "Unsupported parameter: 'max_tokens' …
//    Use 'max_completion_tokens' instead."
//  - reasoning_effort values: openai-node `ReasoningEffort` ("Not all reasoning models support every
//    value"), the reasoning guide's per-model table (o-series: low/medium/high; gpt-5: minimal..high;
//    gpt-5.1: none..high; gpt-5.2: none..xhigh); non-reasoning models refuse the parameter.
//  - sampling on reasoning models: reasoning guide ("temperature, top_p, presence_penalty,
//    frequency_penalty … are not supported"); only the default 1 is taken for temperature/top_p.
//  - stop: openai-node ChatCompletionCreateParams.stop ("Up to 4 sequences"); reasoning models
//    refuse `stop` ("Unsupported parameter: 'stop' is not supported with this model.").

interface ModelRules {
  maxOutput: number;
  /** reasoning_effort values; undefined = the parameter is refused. */
  efforts?: readonly string[];
  /** o-series and gpt-5: only max_completion_tokens, no sampling, no stop. */
  reasoningModel: boolean;
}

/** Checked in order; a name matching none is not checked (other OpenAI-compatible servers). */
const MODELS: readonly [RegExp, ModelRules][] = [
  [/^gpt-4o(-mini)?(-\d{4}-\d{2}-\d{2})?$/, { maxOutput: 16_384, reasoningModel: false }],
  [/^gpt-4\.1(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$/, { maxOutput: 32_768, reasoningModel: false }],
  [/^o(3|4-mini|3-mini|1)(-\d{4}-\d{2}-\d{2})?$/, { maxOutput: 100_000, efforts: ["low", "medium", "high"], reasoningModel: true }],
  [/^gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$/, { maxOutput: 128_000, efforts: ["minimal", "low", "medium", "high"], reasoningModel: true }],
  [/^gpt-5\.1$/, { maxOutput: 128_000, efforts: ["none", "low", "medium", "high"], reasoningModel: true }],
  [/^gpt-5\.2$/, { maxOutput: 128_000, efforts: ["none", "low", "medium", "high", "xhigh"], reasoningModel: true }],
];

const SAMPLING = ["temperature", "top_p", "presence_penalty", "frequency_penalty"] as const;

export interface OpenAIRefusal {
  message: string;
  param: string;
  code: string;
}

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/** What the real API would refuse in `body` for its model, or undefined. */
export function refuseForModel(body: Record<string, any>): OpenAIRefusal | undefined {
  const model = String(body.model);
  const rules = MODELS.find(([re]) => re.test(model))?.[1];
  if (!rules) return undefined;
  if (rules.reasoningModel && body.max_tokens !== undefined)
    return { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", param: "max_tokens", code: "unsupported_parameter" };
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const v = body[field];
    if (typeof v === "number" && v > rules.maxOutput)
      return {
        message: `${field} is too large: ${v}. This model supports at most ${rules.maxOutput} completion tokens, whereas you provided ${v}.`,
        param: field,
        code: "invalid_value",
      };
  }
  if (body.reasoning_effort !== undefined && body.reasoning_effort !== null) {
    if (!rules.efforts) return { message: "Unsupported parameter: 'reasoning_effort' is not supported with this model.", param: "reasoning_effort", code: "unsupported_parameter" };
    if (!rules.efforts.includes(body.reasoning_effort))
      return { message: `Unsupported value: 'reasoning_effort' does not support '${body.reasoning_effort}' with this model. Supported values are: ${list(rules.efforts)}.`, param: "reasoning_effort", code: "unsupported_value" };
  }
  if (rules.reasoningModel) {
    for (const field of SAMPLING) {
      const v = body[field];
      if (v === undefined || ((field === "temperature" || field === "top_p") && v === 1)) continue;
      return { message: `Unsupported value: '${field}' does not support ${v} with this model. Only the default (1) value is supported.`, param: field, code: "unsupported_value" };
    }
    if (body.stop !== undefined && body.stop !== null) return { message: "Unsupported parameter: 'stop' is not supported with this model.", param: "stop", code: "unsupported_parameter" };
  }
  return undefined;
}

/** The stop-sequence count every Chat Completions model takes. */
export function refuseStop(body: Record<string, any>): OpenAIRefusal | undefined {
  if (Array.isArray(body.stop) && body.stop.length > 4)
    return {
      message: `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${body.stop.length} instead.`,
      param: "stop",
      code: "array_above_max_length",
    };
  return undefined;
}
