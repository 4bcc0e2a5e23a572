import type { GatewayError } from "../../core/errors";
import type { FinishReason, StreamEvent, Usage } from "../../core/types";
import type { StreamEncoder } from "../http";
import { type AnswerMeta, finishReasonOf, functionCallPart, type Json, responseOf, usageMetadata } from "./encode";
import { geminiErrorBody } from "./errors";

// Canonical events → streamGenerateContent chunks, each a whole GenerateContentResponse holding
// only the new parts. Text goes out as it arrives; a function call goes out whole (Gemini never
// splits one), once its arguments are complete; the last chunk carries finishReason and the final
// usage. Two framings: SSE (`alt=sse`, what the SDKs ask for) or one JSON array streamed element
// by element (the REST default).

interface PendingCall {
  id: string;
  name: string;
  signature?: string;
  args: string;
}

export type Framing = "sse" | "array";

export class GeminiStreamEncoder implements StreamEncoder {
  private calls = new Map<number, PendingCall>();
  private sawCall = false;
  private promptTokens: number | undefined;
  private usage: Usage | undefined;
  private finish: FinishReason | undefined;
  private closed = false;
  /** The last chunk (finish reason, usage) went out; only the closing frame may follow. */
  private finished = false;
  private count = 0;

  constructor(
    private readonly meta: AnswerMeta,
    private readonly framing: Framing,
  ) {}

  encode(ev: StreamEvent): string {
    if (this.closed || this.finished) return "";
    switch (ev.type) {
      case "start":
        if (ev.id) this.meta.id = ev.id;
        if (ev.model) this.meta.model = ev.model;
        if (ev.usage?.inputTokens !== undefined) this.promptTokens = ev.usage.inputTokens;
        return "";
      case "text":
        return ev.text ? this.flushCalls() + this.chunk([{ text: ev.text }]) : "";
      case "thinking":
        return this.meta.includeThoughts && ev.text ? this.flushCalls() + this.chunk([{ text: ev.text, thought: true }]) : "";
      case "tool_call_start": {
        this.sawCall = true;
        const known = this.calls.get(ev.index);
        this.calls.set(ev.index, { id: ev.id, name: ev.name, signature: ev.signature, args: known?.args ?? "" });
        return "";
      }
      case "tool_call_delta": {
        const call = this.calls.get(ev.index);
        if (call) call.args += ev.arguments;
        else this.calls.set(ev.index, { id: "", name: "", args: ev.arguments });
        return "";
      }
      case "usage":
        this.usage = ev.usage;
        return this.finish ? this.last() : "";
      case "finish":
        this.finish = ev.reason;
        // Hold the last chunk until the usage arrives (or the stream ends): it carries the numbers.
        return this.usage ? this.last() : this.flushCalls();
      default:
        return "";
    }
  }

  end(): string {
    if (this.closed) return "";
    this.finish ??= this.sawCall ? "tool_calls" : "stop";
    return (this.finished ? "" : this.last()) + this.close();
  }

  error(err: GatewayError): string {
    if (this.closed) return "";
    const frame = this.frame(JSON.stringify(geminiErrorBody(err)));
    return frame + this.close();
  }

  /** Function calls whose arguments are complete, each as one chunk of whole calls. */
  private flushCalls(): string {
    if (this.calls.size === 0) return "";
    const parts: Json[] = [];
    for (const index of [...this.calls.keys()].sort((a, b) => a - b)) {
      const c = this.calls.get(index)!;
      if (c.name) parts.push(functionCallPart(c.id, c.name, c.args, c.signature));
    }
    this.calls.clear();
    return parts.length ? this.chunk(parts) : "";
  }

  private chunk(parts: Json[]): string {
    const usage = this.promptTokens === undefined ? undefined : { promptTokenCount: this.promptTokens, totalTokenCount: this.promptTokens };
    return this.frame(JSON.stringify(responseOf(parts, this.meta, undefined, usage)));
  }

  private last(): string {
    const calls = this.flushCalls();
    const usage = usageMetadata(this.usage ?? (this.promptTokens === undefined ? undefined : { inputTokens: this.promptTokens }));
    const out = calls + this.frame(JSON.stringify(responseOf(undefined, this.meta, finishReasonOf(this.finish!), usage)));
    this.finished = true;
    return out;
  }

  private frame(json: string): string {
    if (this.framing === "sse") return `data: ${json}\r\n\r\n`;
    return `${this.count++ === 0 ? "[" : "\n,"}${json}`;
  }

  private close(): string {
    this.closed = true;
    if (this.framing === "sse") return "";
    return this.count === 0 ? "[]" : "\n]";
  }
}
