import type { GatewayError } from "../../core/errors";
import { ndjsonReads } from "../../core/sse";
import type { FinishReason, StreamEvent } from "../../core/types";
import { type UpstreamEndpoint, bodyChunks, failureFromThrown, upstreamError } from "../http";

// Ollama `/api/chat` answer → canonical events. A stream is NDJSON lines; a non-stream answer is
// one object shaped like the last line with the whole message, so both go through `push`.

interface OllamaToolCall {
  id?: string;
  function?: { name?: string; arguments?: unknown };
}

export class OllamaChatDecoder {
  /** The `done:true` line was seen: the answer is complete. */
  done = false;
  private started = false;
  private toolCount = 0;

  constructor(
    private readonly ep: Pick<UpstreamEndpoint, "providerId" | "secret">,
    private readonly model: string,
  ) {}

  /** Events of one line. Throws a GatewayError for an `{"error":…}` line or a line of the wrong shape. */
  push(line: unknown): StreamEvent[] {
    if (!line || typeof line !== "object" || Array.isArray(line))
      throw upstreamError(this.ep, "upstream_error", `unexpected line in the answer: ${excerpt(line)}`, { code: "bad_response" });
    const l = line as Record<string, any>;
    if (l.error !== undefined) throw this.streamError(l.error);
    if (this.done) return [];
    const events: StreamEvent[] = [];
    if (!this.started) {
      this.started = true;
      events.push({ type: "start", model: typeof l.model === "string" && l.model ? l.model : this.model });
    }
    const msg = l.message;
    if (msg && typeof msg === "object") {
      if (typeof msg.thinking === "string" && msg.thinking) events.push({ type: "thinking", text: msg.thinking });
      if (typeof msg.content === "string" && msg.content) events.push({ type: "text", text: msg.content });
      if (Array.isArray(msg.tool_calls)) for (const call of msg.tool_calls as OllamaToolCall[]) this.pushToolCall(call, events);
    }
    if (l.done === true) {
      this.done = true;
      events.push({ type: "finish", reason: this.finishReason(l.done_reason) });
      // No counts at all must not read as zero tokens: left out, lmrelay estimates and flags it.
      if (l.prompt_eval_count !== undefined || l.eval_count !== undefined)
        events.push({ type: "usage", usage: { inputTokens: count(l.prompt_eval_count), outputTokens: count(l.eval_count) } });
    }
    return events;
  }

  /** Call when the body ended: an answer without its `done:true` line was cut short. */
  end(): void {
    if (!this.done)
      throw upstreamError(this.ep, "upstream_error", "the answer ended before its final done line (connection cut?)", {
        code: "incomplete_response",
      });
  }

  private pushToolCall(call: OllamaToolCall, events: StreamEvent[]): void {
    const fn = call?.function;
    if (!fn || typeof fn.name !== "string")
      throw upstreamError(this.ep, "upstream_error", `malformed tool call in the answer: ${excerpt(call)}`, { code: "bad_response" });
    const index = this.toolCount++;
    const id = typeof call.id === "string" && call.id ? call.id : syntheticToolCallId();
    // Tool calls arrive whole: one start plus one delta carrying every argument.
    const args = typeof fn.arguments === "string" ? fn.arguments || "{}" : JSON.stringify(fn.arguments ?? {});
    events.push({ type: "tool_call_start", index, id, name: fn.name });
    events.push({ type: "tool_call_delta", index, arguments: args });
  }

  private finishReason(doneReason: unknown): FinishReason {
    if (doneReason === "length") return "length";
    // Ollama says "stop" even when it answered with tool calls.
    return this.toolCount > 0 ? "tool_calls" : "stop";
  }

  private streamError(error: unknown): GatewayError {
    const message = typeof error === "string" ? error : ((error as { message?: string })?.message ?? JSON.stringify(error));
    return upstreamError(this.ep, "upstream_error", message);
  }
}

/** The events of a streamed answer, pulled lazily from the NDJSON body. */
export async function* decodeOllamaStream(ep: UpstreamEndpoint, res: Response, model: string): AsyncGenerator<StreamEvent> {
  const decoder = new OllamaChatDecoder(ep, model);
  const lines = ndjsonReads(bodyChunks(ep, res));
  try {
    for (;;) {
      let next: IteratorResult<unknown[]>;
      try {
        next = await lines.next();
      } catch (err) {
        if (err instanceof SyntaxError)
          throw upstreamError(ep, "upstream_error", `the answer holds a line that is not JSON (${err.message})`, { code: "bad_response" });
        throw failureFromThrown(ep, err);
      }
      if (next.done) break;
      for (const line of next.value) {
        for (const ev of decoder.push(line)) yield ev;
        if (decoder.done) return;
      }
    }
    decoder.end();
  } finally {
    // Stopping early (done line seen, consumer gone) releases the upstream connection.
    await lines.return();
  }
}

/** `call_` + 24 random alphanumerics, the shape OpenAI clients expect of a tool-call id. */
export function syntheticToolCallId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let id = "call_";
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return id;
}

function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0;
}
