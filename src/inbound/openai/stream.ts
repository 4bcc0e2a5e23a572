import type { GatewayError } from "../../core/errors";
import type { StreamEvent, Usage } from "../../core/types";
import type { StreamEncoder } from "../http";
import { type AnswerMeta, type OpenAIFinishReason, openaiFinishReason, openaiUsage } from "./encode";
import { openaiErrorBody } from "./errors";

// Canonical events → OpenAI SSE chunks, byte-exact: `data: {...}\n\n` per chunk, the same id/created/model
// on every chunk, a usage chunk with `choices: []` only when the client asked for it, then `data: [DONE]`.
// Chunks are assembled from a prefix built once per answer, so each event costs one small JSON.stringify.

const DONE = "data: [DONE]\n\n";

abstract class OpenAIStreamEncoder implements StreamEncoder {
  /** `data: {"id":…,"object":…,"created":…,"model":…,"choices":` once the answer's id and model are known. */
  protected prefix = "";
  /** What closes a chunk that carries choices: `"usage":null` is present only when usage was asked for. */
  protected readonly close: string;
  private finished = false;
  private usage: Usage | undefined;
  private startUsage: Partial<Usage> | undefined;

  constructor(
    private readonly object: string,
    private readonly meta: AnswerMeta,
    private readonly includeUsage: boolean,
  ) {
    this.close = includeUsage ? ',"usage":null}\n\n' : "}\n\n";
  }

  /** Fixes id and model on the first event; returns the chunk(s) that open the answer. */
  protected begin(id?: string, model?: string): string {
    if (this.prefix) return "";
    this.prefix = `data: {"id":${JSON.stringify(id || this.meta.fallbackId)},"object":"${this.object}","created":${this.meta.created},"model":${JSON.stringify(model || this.meta.fallbackModel)},"choices":`;
    return this.opening();
  }

  protected abstract opening(): string;
  protected abstract content(ev: StreamEvent): string;
  protected abstract finishChunk(reason: OpenAIFinishReason): string;
  protected abstract defaultFinish(): OpenAIFinishReason;

  encode(ev: StreamEvent): string {
    switch (ev.type) {
      case "start":
        if (ev.usage) this.startUsage = ev.usage;
        return this.begin(ev.id, ev.model);
      case "usage":
        this.usage = ev.usage;
        return "";
      case "finish":
        if (this.finished) return "";
        this.finished = true;
        return this.begin() + this.finishChunk(openaiFinishReason(ev.reason));
      case "error":
        return this.error(ev.error);
      default: {
        const open = this.begin(); // before content(): the chunk prefix must exist
        return open + this.content(ev);
      }
    }
  }

  end(): string {
    // Upstreams may end without a finish reason (translation.md §10.7): default it rather than leave it null.
    let out = this.begin();
    if (!this.finished) {
      this.finished = true;
      out += this.finishChunk(this.defaultFinish());
    }
    if (this.includeUsage) {
      const usage = this.usage ?? { inputTokens: this.startUsage?.inputTokens ?? 0, outputTokens: this.startUsage?.outputTokens ?? 0 };
      out += `${this.prefix}[],"usage":${JSON.stringify(openaiUsage(usage))}}\n\n`;
    }
    return out + DONE;
  }

  error(err: GatewayError): string {
    // The SDK throws on any `data:` JSON with a top-level `error` and stops reading there.
    return `data: ${JSON.stringify(openaiErrorBody(err))}\n\n`;
  }
}

/** `chat.completion.chunk` stream. */
export class ChatStreamEncoder extends OpenAIStreamEncoder {
  private sawToolCall = false;
  /** Tool calls with no argument text yet: the whole answer says `"{}"` for them (core/fold.ts),
   *  so the stream does too before it finishes. */
  private argless = new Set<number>();

  constructor(meta: AnswerMeta, includeUsage: boolean) {
    super("chat.completion.chunk", meta, includeUsage);
  }

  private delta(delta: string): string {
    return `${this.prefix}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]${this.close}`;
  }

  protected opening(): string {
    return this.delta('{"role":"assistant","content":""}');
  }

  protected content(ev: StreamEvent): string {
    switch (ev.type) {
      case "text":
        return ev.text ? this.delta(`{"content":${JSON.stringify(ev.text)}}`) : "";
      case "thinking":
        return ev.text ? this.delta(`{"reasoning_content":${JSON.stringify(ev.text)}}`) : "";
      case "tool_call_start":
        this.sawToolCall = true;
        this.argless.add(ev.index);
        return this.delta(
          `{"tool_calls":[{"index":${ev.index},"id":${JSON.stringify(ev.id)},"type":"function","function":{"name":${JSON.stringify(ev.name)},"arguments":""}}]}`,
        );
      case "tool_call_delta":
        if (!ev.arguments) return "";
        this.argless.delete(ev.index);
        return this.delta(this.argumentsDelta(ev.index, ev.arguments));
      default:
        // Signatures and redacted thinking have no OpenAI form.
        return "";
    }
  }

  /** Arguments text as it came: an OpenAI client gets even text that is not JSON, as the whole answer does. */
  private argumentsDelta(index: number, text: string): string {
    return `{"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(text)}}}]}`;
  }

  protected finishChunk(reason: OpenAIFinishReason): string {
    let out = "";
    for (const index of this.argless) out += this.delta(this.argumentsDelta(index, "{}"));
    this.argless.clear();
    return `${out}${this.prefix}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${reason}"}]${this.close}`;
  }

  protected defaultFinish(): OpenAIFinishReason {
    return this.sawToolCall ? "tool_calls" : "stop";
  }
}

/** Legacy `text_completion` stream: text only. */
export class CompletionStreamEncoder extends OpenAIStreamEncoder {
  constructor(meta: AnswerMeta, includeUsage: boolean) {
    super("text_completion", meta, includeUsage);
  }

  protected opening(): string {
    return "";
  }

  protected content(ev: StreamEvent): string {
    if (ev.type !== "text" || !ev.text) return "";
    return `${this.prefix}[{"text":${JSON.stringify(ev.text)},"index":0,"logprobs":null,"finish_reason":null}]${this.close}`;
  }

  protected finishChunk(reason: OpenAIFinishReason): string {
    return `${this.prefix}[{"text":"","index":0,"logprobs":null,"finish_reason":"${reason}"}]${this.close}`;
  }

  protected defaultFinish(): OpenAIFinishReason {
    return "stop";
  }
}
