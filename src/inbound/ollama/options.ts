import type { ChatRequest, Reasoning, ResponseFormat } from "../../core/types";
import { expectObject, invalid, type JsonObject, optInteger, optNumber, stringArray } from "./fields";

// The sampling knobs of an Ollama request: `options`, `format`, `think`, `keep_alive`. Those with a
// canonical field map onto it; the rest (num_ctx, repeat_penalty, keep_alive…) travel as
// `passthrough` so an Ollama upstream still receives them and other upstreams never see them.

export type SamplingFields = Pick<
  ChatRequest,
  "temperature" | "topP" | "topK" | "maxTokens" | "stop" | "seed" | "presencePenalty" | "frequencyPenalty" | "responseFormat" | "reasoning" | "passthrough"
>;

/** Options with a canonical field; every other option is passed through untouched. */
const CANONICAL_OPTIONS = new Set(["temperature", "top_p", "top_k", "num_predict", "stop", "seed", "presence_penalty", "frequency_penalty"]);

const THINK_LEVELS = new Set<NonNullable<Reasoning["effort"]>>(["minimal", "low", "medium", "high", "xhigh", "max"]);

/** Top-level request fields with no canonical meaning that an Ollama upstream understands. */
const PASSTHROUGH_TOP_LEVEL = ["keep_alive", "truncate", "shift", "logprobs", "top_logprobs"] as const;

export function decodeSampling(body: JsonObject): SamplingFields {
  const out: SamplingFields = {};
  const fields: Record<string, unknown> = {};
  if (body.options !== undefined && body.options !== null) {
    const options = expectObject(body.options, "options");
    decodeOptions(options, out);
    const rest: Record<string, unknown> = {};
    for (const key in options) {
      if (!CANONICAL_OPTIONS.has(key) && options[key] !== null) rest[key] = options[key];
    }
    if (Object.keys(rest).length > 0) fields.options = rest;
  }
  for (const key of PASSTHROUGH_TOP_LEVEL) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (key === "keep_alive" && typeof v !== "string" && typeof v !== "number") throw invalid(key, "expected a duration string or a number of seconds");
    fields[key] = v;
  }
  if (Object.keys(fields).length > 0) out.passthrough = { protocol: "ollama", fields };
  const format = decodeFormat(body.format);
  if (format) out.responseFormat = format;
  const reasoning = decodeThink(body.think);
  if (reasoning) out.reasoning = reasoning;
  return out;
}

function decodeOptions(o: JsonObject, out: SamplingFields): void {
  const temperature = optNumber(o, "temperature", "options.temperature");
  if (temperature !== undefined) out.temperature = temperature;
  const topP = optNumber(o, "top_p", "options.top_p");
  if (topP !== undefined) out.topP = topP;
  const topK = optInteger(o, "top_k", "options.top_k");
  if (topK !== undefined) out.topK = topK;
  // num_predict -1 (unlimited) and -2 (fill the context) mean "no cap" to every other upstream.
  const numPredict = optInteger(o, "num_predict", "options.num_predict");
  if (numPredict !== undefined && numPredict > 0) out.maxTokens = numPredict;
  const seed = optInteger(o, "seed", "options.seed");
  if (seed !== undefined) out.seed = seed;
  const presence = optNumber(o, "presence_penalty", "options.presence_penalty");
  if (presence !== undefined) out.presencePenalty = presence;
  const frequency = optNumber(o, "frequency_penalty", "options.frequency_penalty");
  if (frequency !== undefined) out.frequencyPenalty = frequency;
  const stop = o.stop;
  if (typeof stop === "string") out.stop = [stop];
  else if (Array.isArray(stop)) {
    if (stop.length) out.stop = stringArray(stop, "options.stop");
  } else if (stop !== undefined && stop !== null) throw invalid("options.stop", "expected an array of strings");
}

/** `format`: "json", a JSON Schema object, or ""/absent for plain text. */
export function decodeFormat(v: unknown): ResponseFormat | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (v === "json") return { type: "json" };
  if (typeof v === "object" && !Array.isArray(v)) return { type: "json", schema: v as Record<string, unknown> };
  throw invalid("format", `expected "json" or a JSON Schema object`);
}

/** `think`: true/false, or a level ("low" | "medium" | "high" | "max"). */
export function decodeThink(v: unknown): Reasoning | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return { enabled: v };
  if (typeof v === "string" && THINK_LEVELS.has(v as NonNullable<Reasoning["effort"]>)) {
    return { enabled: true, effort: v as NonNullable<Reasoning["effort"]> };
  }
  throw invalid("think", `expected true, false, "low", "medium", "high" or "max"`);
}

/** `keep_alive: 0` (or "0", "0s", "0m") asks Ollama to unload the model. */
export function isUnload(keepAlive: unknown): boolean {
  if (keepAlive === 0) return true;
  return typeof keepAlive === "string" && /^0+(\.0*)?(ns|us|µs|ms|s|m|h)?$/.test(keepAlive.trim());
}
