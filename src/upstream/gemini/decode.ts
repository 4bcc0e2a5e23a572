import type { GatewayError } from "../../core/errors";
import { sseReads } from "../../core/sse";
import type { FinishReason, StreamEvent, Usage } from "../../core/types";
import { upstreamError } from "../http";
import { geminiStreamError } from "./errors";
import type { FunctionNames } from "./names";
import type { SignatureCache } from "./signatures";
import type { GeminiResponse, GeminiUsageMetadata } from "./wire";

// GenerateContentResponse(s) → canonical events. One decoder serves both forms: a stream is a
// sequence of responses (each holding only new parts), a whole answer is a sequence of one.

export interface GeminiDecodeContext {
  providerId: string;
  /** Scrubbed from error messages. */
  secret?: string;
  /** Upstream model, used when the answer names none. */
  model: string;
  names: FunctionNames;
  /** Where to remember the signatures of function calls, for clients that cannot echo them. */
  signatures?: SignatureCache;
}

const FILTERED = new Set([
  "SAFETY",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "RECITATION",
  "LANGUAGE",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

export function mapFinishReason(reason: string | undefined, calledTools: boolean): FinishReason {
  if (reason === "MAX_TOKENS") return "length";
  if (reason && FILTERED.has(reason)) return "content_filter";
  // Gemini says STOP after function calls too.
  return calledTools ? "tool_calls" : "stop";
}

export function mapUsage(u: GeminiUsageMetadata): Usage {
  const thoughts = u.thoughtsTokenCount ?? 0;
  const usage: Usage = { inputTokens: u.promptTokenCount ?? 0, outputTokens: (u.candidatesTokenCount ?? 0) + thoughts };
  if (u.cachedContentTokenCount) usage.cacheReadTokens = u.cachedContentTokenCount;
  if (u.thoughtsTokenCount !== undefined) usage.reasoningTokens = thoughts;
  return usage;
}

/** Gemini often omits ids (responses, function calls): synthesize them. */
function randomId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
}

export class GeminiDecoder {
  private started = false;
  private toolIndex = 0;
  private finishReason: string | undefined;
  private usage: GeminiUsageMetadata | undefined;

  constructor(private readonly ctx: GeminiDecodeContext) {}

  /** Events for one response; throws for an error object or a blocked prompt. */
  push(res: GeminiResponse, out: StreamEvent[] = []): StreamEvent[] {
    if (res.error) throw geminiStreamError(this.ctx, res);
    if (res.usageMetadata) this.usage = res.usageMetadata;
    const candidate = res.candidates?.[0];
    if (!candidate && res.promptFeedback?.blockReason) throw this.blocked(res.promptFeedback);
    if (!this.started) {
      this.started = true;
      const start: Extract<StreamEvent, { type: "start" }> = { type: "start", id: res.responseId || randomId("gen"), model: res.modelVersion || this.ctx.model };
      if (res.usageMetadata?.promptTokenCount !== undefined) start.usage = { inputTokens: res.usageMetadata.promptTokenCount };
      out.push(start);
    }
    if (!candidate) return out;
    for (const part of candidate.content?.parts ?? []) {
      if (part.functionCall) {
        const index = this.toolIndex++;
        const fc = part.functionCall;
        const startEv: Extract<StreamEvent, { type: "tool_call_start" }> = {
          type: "tool_call_start",
          index,
          id: fc.id || randomId("call"),
          name: this.ctx.names.fromWire(fc.name),
        };
        if (part.thoughtSignature) {
          startEv.signature = part.thoughtSignature;
          this.ctx.signatures?.remember(startEv.id, part.thoughtSignature);
        }
        out.push(startEv, { type: "tool_call_delta", index, arguments: JSON.stringify(fc.args ?? {}) });
      } else if (typeof part.text === "string" && part.text) {
        out.push(part.thought ? { type: "thinking", text: part.text } : { type: "text", text: part.text });
      }
      // Signature-only text parts, code execution and inline output data have no canonical form.
    }
    if (candidate.finishReason) this.finishReason = candidate.finishReason;
    return out;
  }

  /** The closing events: finish, then usage. */
  end(out: StreamEvent[] = []): StreamEvent[] {
    if (!this.started) throw upstreamError(this.ctx, "upstream_error", "answered with no content", { code: "bad_response" });
    out.push({ type: "finish", reason: mapFinishReason(this.finishReason, this.toolIndex > 0) });
    if (this.usage) out.push({ type: "usage", usage: mapUsage(this.usage) });
    return out;
  }

  private blocked(feedback: NonNullable<GeminiResponse["promptFeedback"]>): GatewayError {
    const detail = feedback.blockReasonMessage ? `: ${feedback.blockReasonMessage}` : "";
    return upstreamError(this.ctx, "content_filter", `the prompt was blocked (${feedback.blockReason})${detail}`, {
      status: 400,
      code: feedback.blockReason,
    });
  }
}

/** A whole generateContent answer as events (thrown errors happen before the answer began). */
export function decodeGeminiResponse(ctx: GeminiDecodeContext, json: unknown): StreamEvent[] {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw upstreamError(ctx, "upstream_error", "answered with a body that is not a GenerateContentResponse", { code: "bad_response" });
  const decoder = new GeminiDecoder(ctx);
  return decoder.end(decoder.push(json as GeminiResponse));
}

/** A streamGenerateContent?alt=sse body as events, pulled lazily. */
export async function* decodeGeminiStream(ctx: GeminiDecodeContext, body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamEvent> {
  const decoder = new GeminiDecoder(ctx);
  for await (const frames of sseReads(body))
    for (const sse of frames) {
      let chunk: unknown;
      try {
        chunk = JSON.parse(sse.data);
      } catch {
        throw upstreamError(ctx, "upstream_error", `sent a stream chunk that is not JSON: ${sse.data.slice(0, 200)}`, { code: "bad_response" });
      }
      if (typeof chunk !== "object" || chunk === null) continue;
      for (const ev of decoder.push(chunk as GeminiResponse)) yield ev;
    }
  for (const ev of decoder.end()) yield ev;
}
