import type { GatewayError } from "../../core/errors";
import { sseReads } from "../../core/sse";
import type { FinishReason, StreamEvent, Usage } from "../../core/types";
import { upstreamError } from "../http";
import { JSON_TOOL_NAME } from "./encode";
import { anthropicErrorKind } from "./errors";

// Anthropic answers → canonical events. The stream decoder is the one place that reads Anthropic
// output; a non-stream Messages JSON is replayed through it as the events it would have streamed,
// so both paths share the block, finish and usage rules.

type Json = Record<string, any>;

export interface DecodeOptions {
  providerId: string;
  /** The key the request was sent with, scrubbed from error messages. */
  secret?: string;
  /** The request forced `json_tool_call`: its input is the answer's text. */
  jsonMode: boolean;
}

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  pause_turn: "stop",
  stop_sequence: "stop_sequence",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** Anthropic usage (input excludes cached tokens) → canonical usage (input includes them). */
export function toUsage(u: Json): Usage {
  const read = num(u.cache_read_input_tokens);
  const write = num(u.cache_creation_input_tokens);
  const usage: Usage = { inputTokens: num(u.input_tokens) + read + write, outputTokens: num(u.output_tokens) };
  if (read > 0) usage.cacheReadTokens = read;
  if (write > 0) usage.cacheWriteTokens = write;
  const reasoning = num(u.output_tokens_details?.thinking_tokens);
  if (reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function brokenAnswer(opts: DecodeOptions, detail: string): GatewayError {
  return upstreamError(opts, "upstream_error", detail, { code: "bad_response" });
}

/** Decodes one answer's events. Stateful: one instance per answer. */
export class AnthropicDecoder {
  private blocks = new Map<number, "text" | "thinking" | "tool" | "json" | "other">();
  private toolIndexByBlock = new Map<number, number>();
  private toolCount = 0;
  private jsonAnswer = false;
  /** Latest cumulative usage numbers as Anthropic reports them. */
  private usage: Json = {};
  private stopReason: string | undefined;
  private stopSequence: string | undefined;
  done = false;

  constructor(private readonly opts: DecodeOptions) {}

  /** Canonical events for one Anthropic event object. Throws on an `error` event. */
  push(ev: Json, out: StreamEvent[]): void {
    switch (ev.type) {
      case "message_start": {
        const m: Json = ev.message ?? {};
        if (m.usage) Object.assign(this.usage, m.usage);
        const start: StreamEvent = { type: "start", id: m.id, model: m.model };
        if (m.usage) start.usage = toUsage(m.usage);
        out.push(start);
        return;
      }
      case "content_block_start":
        this.startBlock(ev.index, ev.content_block ?? {}, out);
        return;
      case "content_block_delta":
        this.delta(ev.index, ev.delta ?? {}, out);
        return;
      case "message_delta":
        if (ev.delta?.stop_reason) {
          this.stopReason = ev.delta.stop_reason;
          this.stopSequence = ev.delta.stop_sequence ?? undefined;
        }
        // Cumulative totals: a later value replaces an earlier one, absent ones are kept.
        if (ev.usage) for (const [k, v] of Object.entries(ev.usage)) if (v !== null && v !== undefined) this.usage[k] = v;
        return;
      case "message_stop":
        this.finish(out);
        return;
      case "error":
        throw errorFromBody(this.opts, ev.error);
      default:
        // content_block_stop, ping and event types added after this was written carry nothing we need.
        return;
    }
  }

  private startBlock(index: number, block: Json, out: StreamEvent[]): void {
    switch (block.type) {
      case "text":
        this.blocks.set(index, "text");
        if (block.text) out.push({ type: "text", text: block.text });
        return;
      case "thinking":
        this.blocks.set(index, "thinking");
        if (block.thinking) out.push({ type: "thinking", text: block.thinking });
        if (block.signature) out.push({ type: "thinking_signature", signature: block.signature });
        return;
      case "redacted_thinking":
        this.blocks.set(index, "other");
        out.push({ type: "redacted_thinking", data: block.data ?? "" });
        return;
      case "tool_use": {
        const input = block.input && typeof block.input === "object" && Object.keys(block.input).length ? JSON.stringify(block.input) : "";
        if (this.opts.jsonMode && block.name === JSON_TOOL_NAME) {
          this.blocks.set(index, "json");
          this.jsonAnswer = true;
          if (input) out.push({ type: "text", text: input });
          return;
        }
        const toolIndex = this.toolCount++;
        this.blocks.set(index, "tool");
        this.toolIndexByBlock.set(index, toolIndex);
        out.push({ type: "tool_call_start", index: toolIndex, id: String(block.id ?? ""), name: String(block.name ?? "") });
        if (input) out.push({ type: "tool_call_delta", index: toolIndex, arguments: input });
        return;
      }
      default:
        // Server-tool blocks (server_tool_use, web_search_tool_result…) have no canonical form.
        this.blocks.set(index, "other");
    }
  }

  private delta(index: number, d: Json, out: StreamEvent[]): void {
    const kind = this.blocks.get(index);
    switch (d.type) {
      case "text_delta":
        if (kind === "text" && d.text) out.push({ type: "text", text: d.text });
        return;
      case "thinking_delta":
        if (kind === "thinking" && d.thinking) out.push({ type: "thinking", text: d.thinking });
        return;
      case "signature_delta":
        if (kind === "thinking" && d.signature) out.push({ type: "thinking_signature", signature: d.signature });
        return;
      case "input_json_delta":
        if (!d.partial_json) return;
        if (kind === "json") out.push({ type: "text", text: d.partial_json });
        else if (kind === "tool") out.push({ type: "tool_call_delta", index: this.toolIndexByBlock.get(index)!, arguments: d.partial_json });
        return;
    }
  }

  private finish(out: StreamEvent[]): void {
    if (this.done) return;
    this.done = true;
    let reason = this.stopReason ? (FINISH[this.stopReason] ?? "stop") : this.toolCount ? "tool_calls" : "stop";
    // The forced JSON tool is how JSON mode works here, not a tool call the client made.
    if (reason === "tool_calls" && this.jsonAnswer && this.toolCount === 0) reason = "stop";
    const finish: StreamEvent = { type: "finish", reason };
    if (reason === "stop_sequence" && this.stopSequence !== undefined) finish.stopSequence = this.stopSequence;
    out.push(finish);
    out.push({ type: "usage", usage: toUsage(this.usage) });
  }
}

/** A mid-stream `event: error` body → GatewayError (the HTTP status was already 200). */
export function errorFromBody(opts: Pick<DecodeOptions, "providerId" | "secret">, error: Json | undefined): GatewayError {
  const type = typeof error?.type === "string" ? error.type : "api_error";
  const message = typeof error?.message === "string" && error.message ? error.message : type;
  const kind = anthropicErrorKind(type) ?? "upstream_error";
  return upstreamError(opts, kind, message, { code: type, status: kind === "overloaded" ? 529 : undefined });
}

/** Canonical events from an Anthropic SSE body. Throws `GatewayError` on an error event, on a
 *  data line that is not JSON and on a stream that ends before `message_stop`. */
export async function* decodeAnthropicStream(body: AsyncIterable<Uint8Array>, opts: DecodeOptions): AsyncGenerator<StreamEvent> {
  const decoder = new AnthropicDecoder(opts);
  const out: StreamEvent[] = [];
  for await (const frames of sseReads(body))
    for (const frame of frames) {
      let ev: Json;
      try {
        ev = JSON.parse(frame.data);
      } catch {
        throw brokenAnswer(opts, `stream event ${frame.event ?? ""} is not valid JSON`);
      }
      // The data's `type` names the event; fall back to the SSE event name for bare bodies.
      if (ev && typeof ev === "object" && typeof ev.type !== "string" && frame.event) ev.type = frame.event;
      decoder.push(ev, out);
      for (const e of out) yield e;
      out.length = 0;
      if (decoder.done) return;
    }
  throw brokenAnswer(opts, "stream ended before message_stop");
}

/** Canonical events of a non-stream Messages answer. */
export function decodeAnthropicMessage(msg: unknown, opts: DecodeOptions): StreamEvent[] {
  if (!msg || typeof msg !== "object" || !Array.isArray((msg as Json).content))
    throw brokenAnswer(opts, "answer is not a Messages object");
  const m = msg as Json;
  const decoder = new AnthropicDecoder(opts);
  const out: StreamEvent[] = [];
  decoder.push({ type: "message_start", message: { id: m.id, model: m.model } }, out);
  // A whole block arrives as its start event would look if it carried everything at once.
  m.content.forEach((block: Json, index: number) => decoder.push({ type: "content_block_start", index, content_block: block ?? {} }, out));
  decoder.push({ type: "message_delta", delta: { stop_reason: m.stop_reason, stop_sequence: m.stop_sequence }, usage: m.usage ?? {} }, out);
  decoder.push({ type: "message_stop" }, out);
  return out;
}
