import type { GatewayError } from "../../core/errors";
import { type SseEvent, sseReads } from "../../core/sse";
import type { FinishReason, StreamEvent, Usage } from "../../core/types";
import { classifyError, extractErrorInfo, type UpstreamEndpoint, upstreamError } from "../http";
import type { NineCharToolIds } from "./toolIds";

// OpenAI Chat Completions answers → canonical events. One decoder serves both forms: a stream is
// fed chunk by chunk, a whole answer is fed as one chunk whose `delta` is its `message`, so the two
// cannot drift apart. Tolerant of what compatible servers do (openai-compatible.md, azure-openai.md):
// empty `choices`, missing `delta`, content + finish in one chunk, no finish, usage anywhere.

export interface DecodeContext {
  ep: Pick<UpstreamEndpoint, "providerId" | "secret">;
  toolIds?: NineCharToolIds;
}

interface ToolSlot {
  index: number;
  id: string;
  name: string;
  started: boolean;
  /** Argument fragments that arrived before the name did. */
  pending: string;
}

export class OpenAIChunkDecoder {
  /** `[DONE]` seen: nothing after it matters. */
  done = false;
  private started = false;
  private sawChunk = false;
  private finished = false;
  private usage: Usage | undefined;
  /** Tool calls by key; created by the first one (most answers hold none). */
  private slots: Map<number | string, ToolSlot> | undefined;
  private lastSlotKey: number | string | undefined;
  private seenIds: Set<string> | undefined;

  constructor(private readonly ctx: DecodeContext) {}

  /** Decodes one SSE `data:` payload. Throws on JSON that is not JSON or an in-stream error. */
  pushData(data: string): StreamEvent[] {
    if (data === "[DONE]") {
      this.done = true;
      return [];
    }
    let chunk: any;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw upstreamError(this.ctx.ep, "upstream_error", `sent a stream chunk that is not JSON: ${clip(data)}`, { code: "bad_response" });
    }
    return this.pushChunk(chunk);
  }

  pushChunk(chunk: any): StreamEvent[] {
    if (!chunk || typeof chunk !== "object") throw upstreamError(this.ctx.ep, "upstream_error", `sent an answer that is not an object: ${clip(JSON.stringify(chunk))}`, { code: "bad_response" });
    if (chunk.error) throw errorFromPayload(this.ctx.ep, chunk.error);
    this.sawChunk = true;
    const out: StreamEvent[] = [];
    const choices: any[] = Array.isArray(chunk.choices) ? chunk.choices : [];
    // Azure's first chunk (prompt filter results) has empty id, model and choices: not the start.
    if (!this.started && (chunk.id || chunk.model || choices.length > 0)) this.emitStart(out, chunk);
    for (const choice of choices) {
      if (!choice || (choice.index ?? 0) !== 0) continue; // n > 1 is never asked for
      if (choice.delta && typeof choice.delta === "object") this.decodeDelta(out, choice.delta);
      if (typeof choice.finish_reason === "string" && choice.finish_reason) this.finish(out, choice.finish_reason, choice.stop_reason);
    }
    const usage = decodeUsage(chunk.usage) ?? decodeUsage(chunk.x_groq?.usage);
    if (usage) this.usage = usage; // the last report wins
    return out;
  }

  /** Closes the answer: a missing start or finish is supplied, usage comes last. */
  end(): StreamEvent[] {
    if (!this.sawChunk) throw upstreamError(this.ctx.ep, "upstream_error", "ended the answer without sending anything", { code: "bad_response" });
    const out: StreamEvent[] = [];
    if (!this.started) this.emitStart(out, {});
    this.flushTools(out);
    if (!this.finished) {
      this.finished = true;
      out.push({ type: "finish", reason: this.slots ? "tool_calls" : "stop" });
    }
    if (this.usage) out.push({ type: "usage", usage: this.usage });
    return out;
  }

  private emitStart(out: StreamEvent[], chunk: any): void {
    this.started = true;
    const ev: StreamEvent & { type: "start" } = { type: "start" };
    if (typeof chunk.id === "string" && chunk.id) ev.id = chunk.id;
    if (typeof chunk.model === "string" && chunk.model) ev.model = chunk.model;
    out.push(ev);
  }

  private decodeDelta(out: StreamEvent[], delta: any): void {
    // DeepSeek/vLLM say `reasoning_content`, OpenRouter/Ollama `reasoning`; some send both.
    const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
    if (reasoning) out.push({ type: "thinking", text: reasoning });
    if (typeof delta.content === "string") {
      if (delta.content) out.push({ type: "text", text: delta.content });
    } else if (Array.isArray(delta.content)) decodeContentParts(out, delta.content);
    const refusal = nonEmpty(delta.refusal);
    if (refusal) out.push({ type: "text", text: refusal });
    if (Array.isArray(delta.tool_calls)) for (const tc of delta.tool_calls) if (tc && typeof tc === "object") this.decodeToolCall(out, tc);
  }

  private decodeToolCall(out: StreamEvent[], tc: any): void {
    const id = nonEmpty(tc.id);
    // Fragments are keyed by `index`; servers that omit it start a new call with each new id.
    const key: number | string =
      typeof tc.index === "number" ? tc.index : id && !this.seenIds?.has(id) ? `id:${id}` : (this.lastSlotKey ?? 0);
    const slots = (this.slots ??= new Map());
    let slot = slots.get(key);
    if (!slot) {
      slot = { index: slots.size, id: "", name: "", started: false, pending: "" };
      slots.set(key, slot);
    }
    this.lastSlotKey = key;
    if (id && !slot.id) {
      slot.id = id;
      (this.seenIds ??= new Set()).add(id);
    }
    const fn = tc.function ?? {};
    if (!slot.started && nonEmpty(fn.name)) slot.name = fn.name;
    const args = typeof fn.arguments === "string" ? fn.arguments : fn.arguments && typeof fn.arguments === "object" ? JSON.stringify(fn.arguments) : "";
    if (!slot.started && slot.name) this.startTool(out, slot);
    if (!args) return;
    if (slot.started) out.push({ type: "tool_call_delta", index: slot.index, arguments: args });
    else slot.pending += args;
  }

  private startTool(out: StreamEvent[], slot: ToolSlot): void {
    slot.started = true;
    const id = slot.id ? (this.ctx.toolIds?.toClient(slot.id) ?? slot.id) : `call_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
    out.push({ type: "tool_call_start", index: slot.index, id, name: slot.name });
    if (slot.pending) {
      out.push({ type: "tool_call_delta", index: slot.index, arguments: slot.pending });
      slot.pending = "";
    }
  }

  private flushTools(out: StreamEvent[]): void {
    if (this.slots) for (const slot of this.slots.values()) if (!slot.started) this.startTool(out, slot);
  }

  private finish(out: StreamEvent[], raw: string, matchedStop: unknown): void {
    if (this.finished) return;
    const mapped = mapFinishReason(raw);
    if (mapped === "error")
      throw upstreamError(this.ctx.ep, "upstream_error", 'ended the answer with finish_reason "error"', { code: "finish_reason_error" });
    this.flushTools(out);
    this.finished = true;
    // Servers that answer tool calls with "stop" (Ollama-compat, some vLLM parsers).
    if (mapped === "stop" && this.slots) out.push({ type: "finish", reason: "tool_calls" });
    // vLLM names the stop string that ended the answer.
    else if (mapped === "stop" && typeof matchedStop === "string" && matchedStop) out.push({ type: "finish", reason: "stop_sequence", stopSequence: matchedStop });
    else out.push({ type: "finish", reason: mapped });
  }
}

/** Decodes an SSE body into events, ending at `[DONE]` or at the end of the body. */
export async function* decodeChatStream(body: AsyncIterable<Uint8Array>, ctx: DecodeContext): AsyncGenerator<StreamEvent> {
  const decoder = new OpenAIChunkDecoder(ctx);
  reading: for await (const frames of sseReads(body))
    for (const frame of frames) {
      for (const ev of decodeFrame(decoder, frame, ctx)) yield ev;
      if (decoder.done) break reading;
    }
  for (const ev of decoder.end()) yield ev;
}

function decodeFrame(decoder: OpenAIChunkDecoder, sse: SseEvent, ctx: DecodeContext): StreamEvent[] {
  if (sse.event === "error") {
    let payload: any = sse.data;
    try {
      payload = JSON.parse(sse.data);
    } catch {}
    throw errorFromPayload(ctx.ep, payload?.error ?? payload);
  }
  return decoder.pushData(sse.data);
}

/** Decodes a whole (non-stream) answer into the same events a stream of it would give. */
export function decodeChatResponse(json: any, ctx: DecodeContext): StreamEvent[] {
  if (!json || typeof json !== "object" || Array.isArray(json))
    throw upstreamError(ctx.ep, "upstream_error", `sent an answer that is not an object: ${clip(JSON.stringify(json) ?? "")}`, { code: "bad_response" });
  if (json.error) throw errorFromPayload(ctx.ep, json.error);
  const choices: any[] = Array.isArray(json.choices) ? json.choices : [];
  const choice = choices.find((c) => (c?.index ?? 0) === 0);
  if (!choice) throw upstreamError(ctx.ep, "upstream_error", "sent an answer without choices", { code: "bad_response" });
  const message = choice.message && typeof choice.message === "object" ? choice.message : {};
  // Whole tool calls carry no `index`: give them their position so id-less calls stay apart.
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls.map((t: any, i: number) => ({ ...t, index: i })) : undefined;
  const decoder = new OpenAIChunkDecoder(ctx);
  const events = decoder.pushChunk({
    id: json.id,
    model: json.model,
    usage: json.usage,
    choices: [{ index: 0, delta: { ...message, tool_calls: toolCalls }, finish_reason: choice.finish_reason, stop_reason: choice.stop_reason }],
  });
  events.push(...decoder.end());
  return events;
}

export function mapFinishReason(raw: string): FinishReason | "error" {
  switch (raw) {
    case "length":
    case "model_length":
    case "max_tokens":
      return "length";
    case "tool_calls":
    case "function_call":
      return "tool_calls";
    case "content_filter":
      return "content_filter";
    case "error":
      return "error";
    default:
      // stop, eos, eos_token, abort, end_turn and anything unknown (LiteLLM and Portkey do the same).
      return "stop";
  }
}

export function decodeUsage(u: any): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const input = num(u.prompt_tokens) ?? num(u.input_tokens);
  const output = num(u.completion_tokens) ?? num(u.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const usage: Usage = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  const cached = num(u.prompt_tokens_details?.cached_tokens) ?? num(u.prompt_cache_hit_tokens);
  if (cached) usage.cacheReadTokens = cached;
  const written = num(u.prompt_tokens_details?.cache_write_tokens);
  if (written) usage.cacheWriteTokens = written;
  const reasoning = num(u.completion_tokens_details?.reasoning_tokens);
  if (reasoning) usage.reasoningTokens = reasoning;
  return usage;
}

/** An `error` object inside a 200 answer (`data: {"error":…}`, OpenRouter's late failures). */
export function errorFromPayload(ep: DecodeContext["ep"], error: unknown): GatewayError {
  const info = extractErrorInfo(typeof error === "string" ? error : { error });
  const status = info.status && info.status >= 400 ? info.status : 0;
  const { kind, code } = classifyError(status, info, error);
  return upstreamError(ep, kind, info.message ?? "reported an error inside its answer", { code, status: status || undefined, param: info.param });
}

/** Content as a part array: Mistral's reasoning models send `{type:"thinking",thinking:[{text}]}`
 *  beside `{type:"text",text}`. */
function decodeContentParts(out: StreamEvent[], parts: any[]): void {
  for (const p of parts) {
    if (!p || typeof p !== "object") continue;
    if (p.type === "thinking") {
      const text = Array.isArray(p.thinking) ? p.thinking.map((t: any) => (typeof t?.text === "string" ? t.text : "")).join("") : nonEmpty(p.thinking);
      if (text) out.push({ type: "thinking", text });
    } else if (typeof p.text === "string" && p.text) out.push({ type: "text", text: p.text });
  }
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === "string" && v ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
