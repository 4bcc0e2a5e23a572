import { type GatewayError, lmrelayError, toGatewayError } from "../core/errors";
import { SettledAnswer } from "../core/fold";
import type { ChatRequest, StreamEvent, Usage } from "../core/types";
import { adapterFor } from "../upstream/registry";
import type { Target } from "../upstream/types";
import { clientClosed } from "./attempts";
import { IdleWatch } from "./idle";
import { passthroughBody, passthroughChat } from "./passthrough";

// One chat attempt from its start to the end of its answer: `openChat` waits for the answer to
// begin (so a failure before the first byte can still fail over), `relayAnswer` then hands the
// events on to the inbound codec, noting time to first token, usage and how the answer ended, and
// aborting the upstream when the client leaves or the stream stalls.

export interface OpenedChat {
  /** Events read before the answer was committed (start, the first content event). */
  first: StreamEvent[];
  /** The rest of a stream; undefined when the whole answer is in `first`. */
  rest: AsyncIterator<StreamEvent> | undefined;
  /** Upstream response headers (rate-limit state). */
  headers?: Headers;
  /** The events carry the upstream's own bytes (same-format passthrough). */
  passthrough?: boolean;
}

/** Resolves once the answer has begun (stream: its first content event) or is complete (non-stream). */
export async function openChat(req: ChatRequest, target: Target, signal: AbortSignal): Promise<OpenedChat> {
  const adapter = adapterFor(target.provider.type);
  if (!adapter) throw lmrelayError("internal", `no adapter for provider type ${target.provider.type}`);
  // An OpenAI client's request to a plain OpenAI-wire upstream goes as its own bytes.
  const raw = passthroughBody(req, target.provider, target.model);
  const reply = raw
    ? await passthroughChat(req, { target, signal }, raw)
    : await adapter.chat(req.model === target.model ? req : { ...req, model: target.model }, { target, signal });
  const passthrough = "passthrough" in reply && reply.passthrough === true;
  const it = reply.events[Symbol.asyncIterator]();
  const first: StreamEvent[] = [];
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return { first, rest: undefined, headers: reply.headers, passthrough };
      if (r.value.type === "error") throw r.value.error;
      first.push(r.value);
      if (req.stream && r.value.type !== "start") return { first, rest: it, headers: reply.headers, passthrough };
    }
  } catch (e) {
    await it.return?.().catch(() => {});
    throw e;
  }
}

export interface AnswerState {
  /** ms from the request's arrival to the first token. */
  ttftMs?: number;
  usage?: Usage;
  outputChars: number;
  error?: GatewayError;
  completed: boolean;
}

export interface RelayOptions {
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
  clientSignal: AbortSignal;
  /** Aborts the upstream request. */
  abort: AbortController;
  /** Stream idle limit (ms between events); undefined for a complete answer. */
  idleMs?: number;
  providerId: string;
  /** Usage to report when the upstream reported none (flagged `estimated`). */
  estimateUsage(outputChars: number): Usage;
  /** Called once when the answer is over, however it ended. */
  finish(state: AnswerState): void;
}

/** What one event tells the bookkeeping: time to first token, output size, usage, an error. */
function note(state: AnswerState, ev: StreamEvent, receivedAt: number): void {
  switch (ev.type) {
    case "text":
    case "thinking":
      state.ttftMs ??= performance.now() - receivedAt;
      state.outputChars += ev.text.length;
      break;
    case "tool_call_delta":
      state.ttftMs ??= performance.now() - receivedAt;
      state.outputChars += ev.arguments.length;
      break;
    case "tool_call_start":
      state.ttftMs ??= performance.now() - receivedAt;
      break;
    case "usage":
      state.usage = ev.usage;
      break;
    case "error":
      state.error = ev.error;
      break;
    case "raw":
      if (ev.content) state.ttftMs ??= performance.now() - receivedAt;
      state.outputChars += ev.chars;
      break;
  }
}

/** `relayAnswer` for an answer that arrived whole (`opened.rest` undefined): the same bookkeeping,
 *  done at once, so the answer's audit row is queued before its body is returned. */
export function settleAnswer(opened: OpenedChat, opts: RelayOptions): SettledAnswer {
  const state: AnswerState = { outputChars: 0, completed: false };
  const events = [...opened.first];
  for (const ev of events) note(state, ev, opts.receivedAt);
  if (!state.error && !state.usage) {
    state.usage = opts.estimateUsage(state.outputChars);
    events.push({ type: "usage", usage: state.usage });
  }
  state.completed = !state.error;
  if (!state.completed) opts.abort.abort();
  opts.finish(state);
  return new SettledAnswer(events);
}

export async function* relayAnswer(opened: OpenedChat, opts: RelayOptions): AsyncGenerator<StreamEvent> {
  const state: AnswerState = { outputChars: 0, completed: false };
  const { rest } = opened;
  const watch = rest && opts.idleMs ? new IdleWatch(opts.idleMs, () => opts.abort.abort(new DOMException("stream idle", "TimeoutError"))) : undefined;
  const stalled = () => lmrelayError("timeout", `${opts.providerId}: the stream stalled (nothing for ${opts.idleMs} ms); the answer is incomplete`, { provider: opts.providerId, code: "idle_timeout" });
  try {
    for (const ev of opened.first) {
      note(state, ev, opts.receivedAt);
      yield ev;
    }
    if (rest)
      for (;;) {
        const r = await rest.next();
        watch?.touch();
        if (r.done) break;
        note(state, r.value, opts.receivedAt);
        yield r.value;
        if (r.value.type === "error") break;
      }
    // An adapter that ends quietly when aborted must not pass for a complete answer.
    if (watch?.fired) throw stalled();
    if (!state.error && !state.usage) {
      // Clients (and their bills) should see an estimate flagged as such, not zero tokens.
      state.usage = opts.estimateUsage(state.outputChars);
      yield { type: "usage", usage: state.usage };
    }
    state.completed = !state.error;
  } catch (e) {
    state.error = opts.clientSignal.aborted ? clientClosed() : watch?.fired ? stalled() : toGatewayError(e);
    throw state.error;
  } finally {
    watch?.stop();
    if (!state.completed) {
      opts.abort.abort();
      await rest?.return?.().catch(() => {});
      state.error ??= clientClosed();
    }
    opts.finish(state);
  }
}
