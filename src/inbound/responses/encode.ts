import type { Usage } from "../../core/types";
import type { Json } from "../openai/check";

// The `response` object OpenAI returns (non-stream body, and inside response.created / .completed /
// .failed events), echoing the request's settings the way the API does, and ids in OpenAI's form.

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function responsesUsage(u: Usage): ResponseUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cacheReadTokens ?? 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

/** Ids are unique without costing a random draw each: a random per-process part (24 hex digits)
 *  and a counter (24 hex digits), the length of OpenAI's ids. */
const PROCESS_PART = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
let idCounter = 0;

/** `<prefix>_` and 48 hex digits. */
export function newItemId(prefix: string): string {
  return `${prefix}_${PROCESS_PART}${(idCounter++).toString(16).padStart(24, "0")}`;
}

/** Who and what a response is about: fixed before the answer starts. */
export interface ResponseHead {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  model: string;
  /** The client's request body (settings are echoed from it). */
  body: Json;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseTail {
  status: ResponseStatus;
  output: Json[];
  usage?: Usage;
  incompleteReason?: "max_output_tokens" | "content_filter";
  error?: { code: string; message: string };
  /** Unix seconds, once over. */
  completedAt?: number;
}

function orNull(v: unknown): unknown {
  return v === undefined ? null : v;
}

/** The whole `response` object. Key order follows OpenAI's answers. */
export function responseObject(head: ResponseHead, tail: ResponseTail): Json {
  const [before, after] = responseHalves(head, tail);
  return { ...before, output: tail.output, ...after };
}

/** `JSON.stringify(responseObject(head, tail))` with the output items' JSON given (the stream has
 *  written each in its output_item.done): the same bytes, the items not serialised again. */
export function responseJson(head: ResponseHead, tail: ResponseTail, outputJson: string): string {
  const [before, after] = responseHalves(head, tail);
  const b = JSON.stringify(before);
  const a = JSON.stringify(after);
  return `${b.slice(0, -1)},"output":[${outputJson}],${a.slice(1)}`;
}

/** The response's keys before `output` and after it (each half has keys: their JSON objects are
 *  never empty). */
function responseHalves(head: ResponseHead, tail: ResponseTail): [Json, Json] {
  const b = head.body;
  const reasoning = (b.reasoning && typeof b.reasoning === "object" ? b.reasoning : {}) as Json;
  const text = (b.text && typeof b.text === "object" ? b.text : {}) as Json;
  return [
    {
      id: head.id,
      object: "response",
      created_at: head.createdAt,
      status: tail.status,
      background: false,
      completed_at: tail.completedAt ?? null,
      error: tail.error ?? null,
      incomplete_details: tail.incompleteReason ? { reason: tail.incompleteReason } : null,
      instructions: orNull(b.instructions),
      max_output_tokens: orNull(b.max_output_tokens),
      max_tool_calls: orNull(b.max_tool_calls),
      model: head.model,
    },
    {
      parallel_tool_calls: b.parallel_tool_calls ?? true,
      previous_response_id: orNull(b.previous_response_id),
      prompt_cache_key: orNull(b.prompt_cache_key),
      reasoning: { effort: orNull(reasoning.effort), summary: orNull(reasoning.summary ?? reasoning.generate_summary) },
      safety_identifier: orNull(b.safety_identifier),
      service_tier: b.service_tier ?? "default",
      store: b.store ?? true,
      temperature: b.temperature ?? 1,
      text: { format: text.format ?? { type: "text" }, verbosity: text.verbosity ?? "medium" },
      tool_choice: b.tool_choice ?? "auto",
      tools: Array.isArray(b.tools) ? b.tools : [],
      top_logprobs: b.top_logprobs ?? 0,
      top_p: b.top_p ?? 1,
      truncation: b.truncation ?? "disabled",
      usage: tail.usage ? responsesUsage(tail.usage) : null,
      user: orNull(b.user),
      metadata: b.metadata ?? {},
    },
  ];
}
