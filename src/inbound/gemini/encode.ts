import { answerToolArgumentsError, objectToolArguments, toolArgumentsObject } from "../../core/toolargs";

const FUNCTION_ARGS = "Gemini's functionCall args";

/** The refusal the encoder would make, known before the answer is recorded (RequestContext.checkAnswer). */
export const checkFunctionArgs = objectToolArguments(FUNCTION_ARGS);
import type { ChatResponse, FinishReason, Usage } from "../../core/types";

// Canonical answer → GenerateContentResponse. The pieces (parts, finish reason, usage) are shared
// with the stream encoder so a whole answer and a streamed one spell everything the same way.

export type Json = Record<string, unknown>;

export interface AnswerMeta {
  /** `modelVersion`: the upstream model that answered. */
  model: string;
  /** `responseId`. */
  id: string;
  includeThoughts: boolean;
}

/** Gemini says STOP for a natural end, a stop sequence and function calls alike. */
export function finishReasonOf(reason: FinishReason): string {
  switch (reason) {
    case "length":
      return "MAX_TOKENS";
    case "content_filter":
      return "SAFETY";
    default:
      return "STOP";
  }
}

/** Canonical usage → usageMetadata. Gemini counts thoughts apart from candidates; the total adds both. */
export function usageMetadata(usage: Partial<Usage> | undefined): Json {
  const input = usage?.inputTokens ?? 0;
  const output = usage?.outputTokens ?? 0;
  const thoughts = Math.min(output, usage?.reasoningTokens ?? 0);
  const meta: Json = { promptTokenCount: input, candidatesTokenCount: output - thoughts, totalTokenCount: input + output };
  if (usage?.cacheReadTokens) meta.cachedContentTokenCount = usage.cacheReadTokens;
  if (thoughts) meta.thoughtsTokenCount = thoughts;
  return meta;
}

/** Arguments JSON text → the object Gemini carries. Text that is not a JSON object cannot be
 *  carried: the answer fails naming the function, stream or not (never `{}`; core/toolargs.ts). */
export function argsObject(name: string, text: string): Json {
  const args = toolArgumentsObject(text);
  if (!args) throw answerToolArgumentsError(name, text, FUNCTION_ARGS);
  return args;
}

export function functionCallPart(id: string, name: string, args: string, signature: string | undefined): Json {
  const part: Json = { functionCall: { id, name, args: argsObject(name, args) } };
  if (signature) part.thoughtSignature = signature;
  return part;
}

/** One response (or one stream chunk) around the given parts. */
export function responseOf(parts: Json[] | undefined, meta: AnswerMeta, finish?: string, usage?: Json): Json {
  const candidate: Json = {};
  if (parts) candidate.content = { role: "model", parts };
  if (finish) candidate.finishReason = finish;
  candidate.index = 0;
  const res: Json = { candidates: [candidate] };
  if (usage) res.usageMetadata = usage;
  res.modelVersion = meta.model;
  res.responseId = meta.id;
  return res;
}

export function encodeGenerateContent(answer: ChatResponse, meta: AnswerMeta): Json {
  const parts: Json[] = [];
  for (const p of answer.content) {
    if (p.type === "text") {
      if (p.text) parts.push({ text: p.text });
    } else if (p.type === "thinking") {
      if (meta.includeThoughts && p.text) parts.push({ text: p.text, thought: true });
    } else parts.push(functionCallPart(p.id, p.name, p.arguments, p.signature));
  }
  return responseOf(parts, { ...meta, model: answer.model || meta.model, id: answer.id || meta.id }, finishReasonOf(answer.finishReason), usageMetadata(answer.usage));
}
