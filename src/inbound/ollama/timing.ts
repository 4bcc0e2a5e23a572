import type { StreamEvent, Usage } from "../../core/types";

// Ollama reports how long an answer took, in nanoseconds, split into load / prompt evaluation /
// generation. lmrelay measures the same phases on the wall clock: until the upstream answered,
// until its first token, until the end.

export interface Clock {
  /** Monotonic milliseconds (`performance.now()`). */
  now(): number;
  /** Wall-clock timestamp for `created_at` (RFC 3339). */
  wallIso(): string;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallIso: () => new Date().toISOString(),
};

export interface OllamaMetrics {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

const ns = (ms: number) => Math.max(0, Math.round(ms * 1e6));

export class AnswerTimer {
  private answeredAt: number;
  private firstTokenAt: number | undefined;

  constructor(
    private readonly receivedAt: number,
    private readonly clock: Clock,
  ) {
    this.answeredAt = receivedAt;
  }

  /** The upstream accepted the request (the router returned the answer's events). */
  answered(): void {
    this.answeredAt = this.clock.now();
  }

  /** Called on every content event; only the first one counts. */
  token(): void {
    if (this.firstTokenAt === undefined) this.firstTokenAt = this.clock.now();
  }

  metrics(usage: Partial<Usage> | undefined): OllamaMetrics {
    const end = this.clock.now();
    const firstToken = this.firstTokenAt ?? end;
    const load = ns(this.answeredAt - this.receivedAt);
    // At least 1 ns: clients divide counts by these to print tokens per second.
    const promptEval = Math.max(1, ns(firstToken - this.answeredAt));
    const evaluation = Math.max(1, ns(end - firstToken));
    return {
      total_duration: load + promptEval + evaluation,
      load_duration: load,
      prompt_eval_count: usage?.inputTokens ?? 0,
      prompt_eval_duration: promptEval,
      eval_count: usage?.outputTokens ?? 0,
      eval_duration: evaluation,
    };
  }
}

/** Marks the first token of a non-stream answer while it is being folded. */
export async function* timed(events: AsyncIterable<StreamEvent>, timer: AnswerTimer): AsyncGenerator<StreamEvent> {
  for await (const ev of events) {
    if (ev.type === "text" || ev.type === "thinking" || ev.type === "tool_call_start") timer.token();
    yield ev;
  }
}
