import type { GatewayError } from "../../core/errors";
import { sseReads } from "../../core/sse";
import type { ChatResponse, FinishReason, StreamEvent, TextPart, ThinkingPart, ToolCallPart, Usage } from "../../core/types";
import { extractErrorInfo, upstreamError } from "../http";

// Cohere v2 answers → canonical events. The non-stream JSON and the SSE events go through the same
// small helpers (finish reason, usage, errors), so the two cannot drift apart.
//
// The `tool_plan` quirk: Cohere puts the model's words before a tool call ("I will look up the
// weather.") in `tool_plan`, not in `content`. It is user-visible prose, the same thing OpenAI and
// Anthropic models say as ordinary text before their tool calls, so lmrelay decodes it as `text`
// (not `thinking`: it carries no signature and clients would hide it). The encoder sends an
// assistant's text back as `tool_plan` when the turn has tool calls, so the round trip is exact.

export interface DecodeContext {
  providerId: string;
  /** Key sent upstream, scrubbed from error messages. */
  secret?: string;
  /** Upstream model name (Cohere answers do not repeat it). */
  model: string;
}

type Obj = Record<string, any>;

const FINISH: Record<string, FinishReason> = {
  COMPLETE: "stop",
  STOP_SEQUENCE: "stop",
  MAX_TOKENS: "length",
  TOOL_CALL: "tool_calls",
};

/** A finish reason, or the error a failed generation (`ERROR`, `TIMEOUT`) must be thrown as. */
export function mapFinishReason(ctx: DecodeContext, reason: unknown, error: unknown, hasToolCalls: boolean): FinishReason | GatewayError {
  if (reason === "ERROR" || reason === "TIMEOUT") {
    const detail = typeof error === "string" && error ? error : reason === "TIMEOUT" ? "generation timed out" : "generation failed";
    return upstreamError(ctx, reason === "TIMEOUT" ? "timeout" : "upstream_error", detail, { code: String(reason).toLowerCase() });
  }
  if (typeof reason === "string" && FINISH[reason]) return FINISH[reason]!;
  // Unknown or missing: tool calls say what the answer was.
  return hasToolCalls ? "tool_calls" : "stop";
}

/** `tokens` are what the model really processed (OpenAI semantics); `billed_units` only when absent. */
export function mapUsage(usage: unknown): Usage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const u = usage as Obj;
  const source: Obj | undefined =
    u.tokens && typeof u.tokens === "object" ? u.tokens : u.billed_units && typeof u.billed_units === "object" ? u.billed_units : undefined;
  if (!source) return undefined;
  const out: Usage = { inputTokens: num(source.input_tokens), outputTokens: num(source.output_tokens) };
  const cached = num(u.cached_tokens);
  if (cached > 0) out.cacheReadTokens = Math.min(cached, out.inputTokens);
  return out;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0;
}

/** A non-stream `/v2/chat` answer. Throws for `ERROR`/`TIMEOUT` and for a body that is not a chat answer. */
export function decodeCohereResponse(ctx: DecodeContext, body: unknown): ChatResponse {
  const b = body as Obj | null;
  const message = b && typeof b === "object" ? (b.message as Obj | undefined) : undefined;
  if (!message || typeof message !== "object")
    throw upstreamError(ctx, "upstream_error", "answered without a message", { code: "bad_response" });
  const thinking: ThinkingPart[] = [];
  const texts: TextPart[] = [];
  if (Array.isArray(message.content)) {
    for (const item of message.content as Obj[]) {
      if (item?.type === "thinking" && typeof item.thinking === "string") thinking.push({ type: "thinking", text: item.thinking });
      else if (item?.type === "text" && typeof item.text === "string") texts.push({ type: "text", text: item.text });
    }
  }
  const calls: ToolCallPart[] = [];
  if (Array.isArray(message.tool_calls)) {
    for (const c of message.tool_calls as Obj[]) {
      calls.push({ type: "tool_call", id: String(c?.id ?? ""), name: String(c?.function?.name ?? ""), arguments: c?.function?.arguments || "{}" });
    }
  }
  const content: ChatResponse["content"] = [...thinking];
  if (typeof message.tool_plan === "string" && message.tool_plan) content.push({ type: "text", text: message.tool_plan });
  content.push(...texts, ...calls);
  const finish = mapFinishReason(ctx, b!.finish_reason, undefined, calls.length > 0);
  if (typeof finish !== "string") throw finish;
  return {
    id: typeof b!.id === "string" ? b!.id : "",
    model: ctx.model,
    content,
    finishReason: finish,
    usage: mapUsage(b!.usage) ?? { inputTokens: 0, outputTokens: 0 },
  };
}

/** Decodes the `/v2/chat` SSE stream. Failures after the answer began are thrown from the iterator. */
export async function* decodeCohereStream(ctx: DecodeContext, body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamEvent> {
  let started = false;
  /** Cohere's tool-call `index` → canonical tool index (order of first appearance). */
  const toolIndex = new Map<number, number>();
  let lastTool = -1;
  let ended = false;
  reading: for await (const frames of sseReads(body))
    for (const sse of frames) {
      if (sse.data === "[DONE]") break reading;
      let ev: Obj;
      try {
        ev = JSON.parse(sse.data);
      } catch {
        throw upstreamError(ctx, "upstream_error", `sent a stream event that is not JSON: ${sse.data.slice(0, 200)}`, { code: "bad_response" });
      }
      if (!ev || typeof ev !== "object") continue;
      const type: unknown = ev.type ?? sse.event;
      // Not a documented event, but a proxy or the API may report a failure mid-stream this way.
      if (type === "error" || (type === undefined && (ev.message !== undefined || ev.error !== undefined)))
        throw upstreamError(ctx, "upstream_error", extractErrorInfo(ev).message ?? "stream error", { code: "stream_error" });
      if (!started) {
        started = true;
        yield { type: "start", id: typeof ev.id === "string" ? ev.id : undefined, model: ctx.model };
      }
      const delta = ev.delta as Obj | undefined;
      switch (type) {
        case "content-start":
        case "content-delta": {
          const c = delta?.message?.content as Obj | undefined;
          if (typeof c?.thinking === "string" && c.thinking) yield { type: "thinking", text: c.thinking };
          if (typeof c?.text === "string" && c.text) yield { type: "text", text: c.text };
          break;
        }
        case "tool-plan-delta": {
          const plan = delta?.message?.tool_plan;
          if (typeof plan === "string" && plan) yield { type: "text", text: plan };
          break;
        }
        case "tool-call-start": {
          const call = delta?.message?.tool_calls as Obj | undefined;
          const index = toolIndex.size;
          toolIndex.set(typeof ev.index === "number" ? ev.index : index, index);
          lastTool = index;
          yield { type: "tool_call_start", index, id: String(call?.id ?? ""), name: String(call?.function?.name ?? "") };
          const args = call?.function?.arguments;
          if (typeof args === "string" && args) yield { type: "tool_call_delta", index, arguments: args };
          break;
        }
        case "tool-call-delta": {
          const args = delta?.message?.tool_calls?.function?.arguments;
          const index = typeof ev.index === "number" ? (toolIndex.get(ev.index) ?? lastTool) : lastTool;
          if (index >= 0 && typeof args === "string" && args) yield { type: "tool_call_delta", index, arguments: args };
          break;
        }
        case "message-end": {
          const finish = mapFinishReason(ctx, delta?.finish_reason, delta?.error, toolIndex.size > 0);
          if (typeof finish !== "string") throw finish;
          yield { type: "finish", reason: finish };
          const usage = mapUsage(delta?.usage);
          if (usage) yield { type: "usage", usage };
          ended = true;
          break;
        }
        default:
          break; // message-start (handled above), content-end, tool-call-end, citation-*, debug
      }
      if (ended) break reading;
    }
  if (!ended) throw upstreamError(ctx, "upstream_error", "the stream ended before message-end", { code: "truncated_stream" });
}
