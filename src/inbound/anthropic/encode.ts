import { answerToolArgumentsError, objectToolArguments, toolArgumentsObject } from "../../core/toolargs";
import type { ChatResponse, FinishReason, Usage } from "../../core/types";

// Canonical answer → Anthropic Messages response. The pieces (ids, stop reason, usage, tool input)
// are shared with the stream encoder so both spell the answer the same way.

const TOOL_ID = /^[A-Za-z0-9_-]+$/;

function randomSuffix(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Anthropic message ids look like `msg_…`; keep an upstream's own when it already does. */
export function messageId(upstreamId: string | undefined): string {
  return upstreamId?.startsWith("msg_") ? upstreamId : `msg_${randomSuffix()}`;
}

/** Anthropic wants tool ids matching `^[a-zA-Z0-9_-]+$`; the rewrite is stable, so a client echoing
 *  the id back in `tool_result` still pairs with the call in its history. */
export function toolUseId(id: string): string {
  if (TOOL_ID.test(id)) return id;
  if (id === "") return `toolu_${randomSuffix()}`;
  return id.replace(/[^A-Za-z0-9_-]/g, "_");
}

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";

/** translation.md §6: a known matched stop string makes it `stop_sequence`. */
export function stopReason(reason: FinishReason, stopSequence: string | undefined): { stop_reason: StopReason; stop_sequence: string | null } {
  if (stopSequence !== undefined && (reason === "stop" || reason === "stop_sequence")) {
    return { stop_reason: "stop_sequence", stop_sequence: stopSequence };
  }
  switch (reason) {
    case "length":
      return { stop_reason: "max_tokens", stop_sequence: null };
    case "tool_calls":
      return { stop_reason: "tool_use", stop_sequence: null };
    case "content_filter":
      return { stop_reason: "refusal", stop_sequence: null };
    case "stop_sequence":
      return { stop_reason: "stop_sequence", stop_sequence: null };
    default:
      return { stop_reason: "end_turn", stop_sequence: null };
  }
}

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens: number;
}

/** Canonical input counts include cached tokens; Anthropic's `input_tokens` excludes them. */
export function anthropicUsage(usage: Partial<Usage> | undefined): AnthropicUsage {
  const cacheRead = usage?.cacheReadTokens ?? 0;
  const cacheWrite = usage?.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.inputTokens ?? 0) - cacheRead - cacheWrite),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: usage?.outputTokens ?? 0,
  };
}

/** Where Anthropic wants a tool call's arguments as an object (named in the error otherwise). */
export const TOOL_INPUT = "Anthropic's tool_use input";

/** The refusal `toolInput` would make, known before the answer is recorded (RequestContext.checkAnswer). */
export const checkToolInputs = objectToolArguments(TOOL_INPUT);

/** Tool arguments are JSON text canonically; Anthropic wants the object. Text that is not a JSON
 *  object cannot be carried: the answer fails naming the tool (never `{}`). */
export function toolInput(name: string, args: string): Record<string, unknown> {
  const input = toolArgumentsObject(args);
  if (!input) throw answerToolArgumentsError(name, args, TOOL_INPUT);
  return input;
}

export type AnthropicBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** The whole Messages response. `fallbackModel` names the upstream model when it reported none. */
export function encodeMessage(res: ChatResponse, fallbackModel: string): unknown {
  const content: AnthropicBlock[] = [];
  for (const part of res.content) {
    if (part.type === "text") {
      if (part.text !== "") content.push({ type: "text", text: part.text });
    } else if (part.type === "thinking") {
      if (part.redacted !== undefined) content.push({ type: "redacted_thinking", data: part.redacted });
      else if (part.text !== "" || part.signature) content.push({ type: "thinking", thinking: part.text, signature: part.signature ?? "" });
    } else {
      content.push({ type: "tool_use", id: toolUseId(part.id), name: part.name, input: toolInput(part.name, part.arguments) });
    }
  }
  return {
    id: messageId(res.id),
    type: "message",
    role: "assistant",
    model: res.model || fallbackModel,
    content,
    ...stopReason(res.finishReason, res.stopSequence),
    usage: anthropicUsage(res.usage),
  };
}
