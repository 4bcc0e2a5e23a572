import type { ChatResponse, FinishReason, Usage } from "../../core/types";

// Canonical answers → OpenAI's non-stream bodies (`chat.completion`, `text_completion`), and the
// pieces the stream encoders share with them (finish reason, usage), so both paths say the same thing.

export type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Who answered, as the OpenAI body reports it. */
export interface AnswerMeta {
  /** Used when the upstream gave no answer id. */
  fallbackId: string;
  /** Used when the upstream did not name its model (the routed upstream model). */
  fallbackModel: string;
  /** Unix seconds. */
  created: number;
}

export function openaiFinishReason(reason: FinishReason): OpenAIFinishReason {
  return reason === "stop_sequence" ? "stop" : reason;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number; cache_write_tokens?: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export function openaiUsage(u: Usage): OpenAIUsage {
  const out: OpenAIUsage = {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
  };
  if (u.cacheReadTokens !== undefined || u.cacheWriteTokens !== undefined) {
    out.prompt_tokens_details = { cached_tokens: u.cacheReadTokens ?? 0 };
    if (u.cacheWriteTokens !== undefined) out.prompt_tokens_details.cache_write_tokens = u.cacheWriteTokens;
  }
  if (u.reasoningTokens !== undefined) out.completion_tokens_details = { reasoning_tokens: u.reasoningTokens };
  return out;
}

interface OpenAIToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export function encodeChatCompletion(res: ChatResponse, meta: AnswerMeta) {
  let text: string | undefined;
  let reasoning: string | undefined;
  const toolCalls: OpenAIToolCall[] = [];
  for (const part of res.content) {
    if (part.type === "text") text = text === undefined ? part.text : text + part.text;
    else if (part.type === "thinking") {
      if (part.text) reasoning = reasoning === undefined ? part.text : reasoning + part.text;
    } else toolCalls.push({ id: part.id, type: "function", function: { name: part.name, arguments: part.arguments } });
  }
  const message: {
    role: "assistant";
    content: string | null;
    refusal: null;
    reasoning_content?: string;
    tool_calls?: OpenAIToolCall[];
  } = { role: "assistant", content: text ?? (toolCalls.length > 0 ? null : ""), refusal: null };
  // Non-standard (DeepSeek/vLLM style): clients that know it show it, the others ignore it.
  if (reasoning !== undefined) message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: res.id || meta.fallbackId,
    object: "chat.completion" as const,
    created: meta.created,
    model: res.model || meta.fallbackModel,
    choices: [{ index: 0, message, logprobs: null, finish_reason: openaiFinishReason(res.finishReason) }],
    usage: openaiUsage(res.usage),
  };
}

/** Legacy `/v1/completions` answer: only the text survives (the legacy form has no tools). */
export function encodeTextCompletion(res: ChatResponse, meta: AnswerMeta) {
  let text = "";
  for (const part of res.content) if (part.type === "text") text += part.text;
  return {
    id: res.id || meta.fallbackId,
    object: "text_completion" as const,
    created: meta.created,
    model: res.model || meta.fallbackModel,
    choices: [{ text, index: 0, logprobs: null, finish_reason: openaiFinishReason(res.finishReason) }],
    usage: openaiUsage(res.usage),
  };
}
