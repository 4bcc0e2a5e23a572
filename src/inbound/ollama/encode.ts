import type { GatewayError } from "../../core/errors";
import { answerToolArgumentsError, objectToolArguments, toolArgumentsObject } from "../../core/toolargs";

const TOOL_ARGUMENTS = "Ollama's tool_calls arguments";

/** The refusal the encoder would make, known before the answer is recorded (RequestContext.checkAnswer). */
export const checkToolArguments = objectToolArguments(TOOL_ARGUMENTS);
import type { ChatResponse, FinishReason, StreamEvent, Usage } from "../../core/types";
import type { StreamEncoder } from "../http";
import type { AnswerTimer, Clock, OllamaMetrics } from "./timing";

// Canonical answers → Ollama's wire shapes: NDJSON lines for a stream (one object per line, the
// last one `done: true` with counts and durations), one object otherwise. `/api/chat` lines carry
// `message`, `/api/generate` lines carry `response`.

export type AnswerShape = "chat" | "generate";

export interface OllamaAnswerOptions {
  /** The model name the client asked for; Ollama echoes it on every line. */
  model: string;
  shape: AnswerShape;
  timer: AnswerTimer;
  clock: Clock;
}

interface OllamaToolCall {
  id: string;
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

/** Ollama has no "tool calls" or "content filter" stop: callers see tool calls in the message. */
function doneReason(reason: FinishReason | undefined): "stop" | "length" {
  return reason === "length" ? "length" : "stop";
}

/** Ollama wants an arguments object; text that is not a JSON object (a model glitch) cannot be
 *  carried: the answer fails naming the tool, stream or not (never `{}`). */
function argumentsObject(name: string, text: string): Record<string, unknown> {
  const args = toolArgumentsObject(text);
  if (!args) throw answerToolArgumentsError(name, text, TOOL_ARGUMENTS);
  return args;
}

/** The fields that close an answer: `done`, `done_reason`, token counts and durations. */
function finalFields(reason: FinishReason | undefined, usage: Partial<Usage> | undefined, timer: AnswerTimer): { done: true; done_reason: string } & OllamaMetrics {
  return { done: true, done_reason: doneReason(reason), ...timer.metrics(usage) };
}

/** The payload of each kind of line: `/api/chat` lines carry `message`, `/api/generate` lines `response`. */
const PAYLOADS = {
  chat: {
    text: (json: string) => `"message":{"role":"assistant","content":${json}}`,
    thinking: (json: string) => `"message":{"role":"assistant","content":"","thinking":${json}}`,
    empty: `"message":{"role":"assistant","content":""}`,
  },
  generate: {
    text: (json: string) => `"response":${json}`,
    thinking: (json: string) => `"response":"","thinking":${json}`,
    empty: `"response":""`,
  },
} as const;

/** NDJSON stream encoder. Tool calls are buffered until complete: Ollama clients expect whole objects. */
export class OllamaStreamEncoder implements StreamEncoder {
  /** `{"model":"…","created_at":"` — every line starts with it. */
  private readonly head: string;
  private readonly payload: (typeof PAYLOADS)[AnswerShape];
  private readonly tools = new Map<number, { id: string; name: string; args: string }>();
  private reason: FinishReason | undefined;
  private usage: Partial<Usage> | undefined;

  constructor(private readonly opts: OllamaAnswerOptions) {
    this.head = `{"model":${JSON.stringify(opts.model)},"created_at":"`;
    this.payload = PAYLOADS[opts.shape];
  }

  encode(ev: StreamEvent): string {
    switch (ev.type) {
      case "text":
        return ev.text === "" ? "" : this.content(this.payload.text(JSON.stringify(ev.text)));
      case "thinking":
        return ev.text === "" ? "" : this.content(this.payload.thinking(JSON.stringify(ev.text)));
      case "tool_call_start":
        this.opts.timer.token();
        // `/api/generate` answers have no place for tool calls.
        if (this.opts.shape === "chat") this.tools.set(ev.index, { id: ev.id, name: ev.name, args: "" });
        return "";
      case "tool_call_delta": {
        const call = this.tools.get(ev.index);
        if (call) call.args += ev.arguments;
        return "";
      }
      case "start":
        if (ev.usage && !this.usage) this.usage = ev.usage;
        return "";
      case "usage":
        this.usage = ev.usage;
        return this.flushTools();
      case "finish":
        this.reason = ev.reason;
        return this.flushTools();
      default:
        // Signatures and redacted thinking have no Ollama form; errors are framed by error().
        return "";
    }
  }

  end(): string {
    const fields = JSON.stringify(finalFields(this.reason, this.usage, this.opts.timer)).slice(1, -1);
    return this.flushTools() + this.line(this.payload.empty, fields);
  }

  error(err: GatewayError): string {
    return `${JSON.stringify({ error: err.message })}\n`;
  }

  private content(payload: string): string {
    this.opts.timer.token();
    return this.flushTools() + this.line(payload);
  }

  private line(payload: string, tail = `"done":false`): string {
    return `${this.head}${this.opts.clock.wallIso()}",${payload},${tail}}\n`;
  }

  /** Emits the buffered (complete) tool calls as one line. */
  private flushTools(): string {
    if (this.tools.size === 0) return "";
    const calls: OllamaToolCall[] = [];
    for (const [index, c] of this.tools) calls.push({ id: c.id, function: { index, name: c.name, arguments: argumentsObject(c.name, c.args) } });
    this.tools.clear();
    return this.line(`"message":{"role":"assistant","content":"","tool_calls":${JSON.stringify(calls)}}`);
  }
}

/** A whole (non-stream) answer as one Ollama object. */
export function answerBody(res: ChatResponse, opts: OllamaAnswerOptions): Record<string, unknown> {
  let text = "";
  let thinking = "";
  const calls: OllamaToolCall[] = [];
  for (const part of res.content) {
    if (part.type === "text") text += part.text;
    else if (part.type === "thinking") thinking += part.text;
    else if (opts.shape === "chat") calls.push({ id: part.id, function: { index: calls.length, name: part.name, arguments: argumentsObject(part.name, part.arguments) } });
  }
  const head = { model: opts.model, created_at: opts.clock.wallIso() };
  const tail = finalFields(res.finishReason, res.usage, opts.timer);
  if (opts.shape === "generate") return { ...head, response: text, ...(thinking ? { thinking } : {}), ...tail };
  const message: Record<string, unknown> = { role: "assistant", content: text };
  if (thinking) message.thinking = thinking;
  if (calls.length) message.tool_calls = calls;
  return { ...head, message, ...tail };
}

/** Ollama's answer to a request with nothing to generate (model load or unload). */
export function loadBody(model: string, shape: AnswerShape, unload: boolean, clock: Clock): Record<string, unknown> {
  const head = { model, created_at: clock.wallIso() };
  const done = { done: true, done_reason: unload ? "unload" : "load" };
  return shape === "chat" ? { ...head, message: { role: "assistant", content: "" }, ...done } : { ...head, response: "", ...done };
}
