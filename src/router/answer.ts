import { type GatewayError, lmrelayError, toGatewayError } from "../core/errors";
import { SettledAnswer } from "../core/fold";
import { withoutForeignReasoning } from "../core/reasoning";
import type { ChatRequest, FinishReason, StreamEvent, Usage } from "../core/types";
import { adapterFor } from "../upstream/registry";
import type { Target, UpstreamCall } from "../upstream/types";
import { clientClosed } from "./attempts";
import { IdleWatch } from "./idle";

// One chat attempt from its start to the end of its answer: `openChat` waits for the answer's first
// content (so a failure before it can still fail over), `relayAnswer` then hands the
// events on to the inbound codec, noting time to first token, usage and how the answer ended, and
// aborting the upstream when the client leaves or the stream stalls.

export interface OpenedChat {
  /** Events read before the answer was committed (start, role, comments, the first content event). */
  first: StreamEvent[];
  /** The rest of a stream; undefined when the whole answer is in `first`. */
  rest: AsyncIterator<StreamEvent> | undefined;
  /** Upstream response headers (rate-limit state). */
  headers?: Headers;
  /** The events carry the upstream's own bytes (the adapter forwarded the client's request). */
  raw?: boolean;
  /** Hears every read of the upstream body; the relay starts it once the answer is committed. */
  watch: IdleWatch;
  /** What the translation changed for the target model (`x-lmrelay-adjusted`). */
  adjusted?: string[];
}

/** An event that carries output: the answer is committed at the first one. Before it (a start or
 *  role chunk, comments, an in-band error) the attempt can still fail over. */
function isContent(ev: StreamEvent): boolean {
  switch (ev.type) {
    case "text":
    case "thinking":
    case "redacted_thinking":
    case "tool_call_start":
    case "tool_call_delta":
      return true;
    case "raw":
      return ev.content;
    default:
      return false;
  }
}

/**
 * Resolves once the answer is committed (stream: its first content event) or complete (non-stream,
 * or a stream that ended before any content). One kind of attempt: the adapter forwards the
 * client's own request when it can (`forward`), else translates (`chat`); both replies are read
 * by the same rule, and an error before the first content is thrown, so the router fails over.
 * `adjusted`: changes the router made before the adapter (thinking left out for a model known not
 * to think); the adapter's own follow.
 */
export async function openChat(req: ChatRequest, target: Target, signal: AbortSignal, watch: IdleWatch, adjusted?: string): Promise<OpenedChat> {
  const adapter = adapterFor(target.provider.type);
  if (!adapter) throw lmrelayError("internal", `no adapter for provider type ${target.provider.type}`);
  const call: UpstreamCall = { target, signal, reads: watch };
  // Reasoning the client handed back goes only to the provider that produced it.
  const own = withoutForeignReasoning(req, target.provider.id);
  const reply = await (adapter.forward?.(own, call) ?? adapter.chat(own.model === target.model ? own : { ...own, model: target.model }, call));
  // What the inbound codec left out counts only where the request was translated.
  const inbound = reply.raw === true ? undefined : req.adjusted;
  const changes = adjusted || inbound?.length ? [...(adjusted ? [adjusted] : []), ...(inbound ?? []), ...(reply.adjusted ?? [])] : reply.adjusted;
  const it = reply.events[Symbol.asyncIterator]();
  const first: StreamEvent[] = [];
  const raw = reply.raw === true;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return { first, rest: undefined, headers: reply.headers, raw, watch, adjusted: changes };
      if (r.value.type === "error") throw r.value.error;
      first.push(r.value);
      if (req.stream && isContent(r.value)) return { first, rest: it, headers: reply.headers, raw, watch, adjusted: changes };
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
  /** How the answer ended, when the upstream said. */
  finishReason?: FinishReason;
  outputChars: number;
  error?: GatewayError;
  completed: boolean;
}

export interface RelayOptions {
  /** The inbound protocol's check of a whole answer (RequestContext.checkAnswer). */
  checkAnswer?: (events: readonly StreamEvent[]) => GatewayError | undefined;
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
    case "finish":
      state.finishReason = ev.reason;
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
  if (!state.error && opts.checkAnswer) state.error = opts.checkAnswer(events);
  if (!state.error && !state.usage) {
    state.usage = opts.estimateUsage(state.outputChars);
    events.push({ type: "usage", usage: state.usage });
  }
  state.completed = !state.error;
  if (!state.completed) opts.abort.abort();
  opts.finish(state);
  return new SettledAnswer(events);
}

/** The answer of a stream, relayed event by event with its bookkeeping (see `RelayedAnswer`). */
export function relayAnswer(opened: OpenedChat, opts: RelayOptions): AsyncIterableIterator<StreamEvent> {
  return new RelayedAnswer(opened, opts);
}

const OVER: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A plain iterator rather than an async generator: one promise step per upstream event instead of
 * a generator step on top of the decoder's, and less held per open stream. It keeps a generator's
 * contract: the first events, then the rest, then an estimated usage if none came; whatever ends
 * it (the end, an error, a stall, the consumer returning early) aborts an unfinished upstream,
 * releases it and calls `finish` once; a return while a read is under way waits for that read.
 */
class RelayedAnswer implements AsyncIterableIterator<StreamEvent> {
  private readonly state: AnswerState = { outputChars: 0, completed: false };
  private readonly rest: AsyncIterator<StreamEvent> | undefined;
  /** Next index in `opened.first`; -1 before the first call (a generator not yet started). */
  private at = -1;
  /** 0: events, 1: the end check (stall, usage estimate), 2: completed, 3: over. */
  private phase = 0;
  private watch: IdleWatch | undefined;
  /** The read of `rest` under way, or the closing. */
  private busy: Promise<unknown> | undefined;
  private readonly read = (r: IteratorResult<StreamEvent>): Promise<IteratorResult<StreamEvent>> | IteratorResult<StreamEvent> => {
    this.busy = undefined;
    this.watch?.touch();
    if (r.done) {
      this.phase = 1;
      return this.end();
    }
    note(this.state, r.value, this.opts.receivedAt);
    // An error event is the last one relayed.
    if (r.value.type === "error") this.phase = 1;
    return r;
  };
  private readonly failed = (e: unknown): Promise<never> => {
    this.busy = undefined;
    return this.fail(e);
  };

  constructor(
    private readonly opened: OpenedChat,
    private readonly opts: RelayOptions,
  ) {
    this.rest = opened.rest;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    if (this.busy)
      return this.busy.then(
        () => this.next(),
        () => this.next(),
      );
    if (this.at < 0) {
      this.at = 0;
      if (this.rest && this.opts.idleMs) {
        this.watch = this.opened.watch;
        this.watch.start(this.opts.idleMs, this.opts.abort);
      }
    }
    if (this.phase === 0) {
      const { first } = this.opened;
      if (this.at < first.length) {
        const ev = first[this.at++]!;
        note(this.state, ev, this.opts.receivedAt);
        return Promise.resolve({ value: ev, done: false });
      }
      if (this.rest) {
        const reading = this.rest.next().then(this.read, this.failed);
        this.busy = reading;
        return reading;
      }
      this.phase = 1;
    }
    return this.end();
  }

  /** The consumer refused the answer (its encoder cannot carry it): that error is the answer's
   *  (audit row, health), and the upstream is released. */
  throw(e?: unknown): Promise<IteratorResult<StreamEvent>> {
    if (this.busy) return this.busy.then(
      () => this.throw(e),
      () => this.throw(e),
    );
    if (this.phase === 3) return Promise.resolve(OVER);
    this.state.error ??= toGatewayError(e);
    return this.close().then(() => OVER);
  }

  /** The consumer stopped early (client gone): the upstream is aborted and released. */
  return(): Promise<IteratorResult<StreamEvent>> {
    if (this.busy) return this.busy.then(
      () => this.return(),
      () => this.return(),
    );
    // Like a generator that never started: nothing to close.
    if (this.at < 0) this.phase = 3;
    if (this.phase === 3) return Promise.resolve(OVER);
    return this.close().then(() => OVER);
  }

  private end(): Promise<IteratorResult<StreamEvent>> {
    const { state } = this;
    if (this.phase === 1) {
      this.phase = 2;
      // An adapter that ends quietly when aborted must not pass for a complete answer.
      if (this.watch?.fired) return this.fail(this.stalled());
      if (!state.error && !state.usage) {
        // Clients (and their bills) should see an estimate flagged as such, not zero tokens.
        state.usage = this.opts.estimateUsage(state.outputChars);
        return Promise.resolve({ value: { type: "usage", usage: state.usage }, done: false });
      }
    }
    if (this.phase === 3) return Promise.resolve(OVER);
    state.completed = !state.error;
    return this.close().then(() => OVER);
  }

  private fail(e: unknown): Promise<never> {
    const { state } = this;
    state.error = this.opts.clientSignal.aborted ? clientClosed() : this.watch?.fired ? this.stalled() : toGatewayError(e);
    const error = state.error;
    return this.close().then(() => {
      throw error;
    });
  }

  /** Runs once, however the answer ended. */
  private close(): Promise<void> {
    this.phase = 3;
    const { state, opts } = this;
    this.watch?.stop();
    if (state.completed) {
      opts.finish(state);
      return Promise.resolve();
    }
    opts.abort.abort();
    const closing = (this.rest?.return?.() ?? Promise.resolve()).then(
      () => {},
      () => {},
    );
    this.busy = closing;
    return closing.then(() => {
      this.busy = undefined;
      state.error ??= clientClosed();
      opts.finish(state);
    });
  }

  private stalled(): GatewayError {
    const { opts } = this;
    return lmrelayError("timeout", `${opts.providerId}: the stream stalled (nothing for ${opts.idleMs} ms); the answer is incomplete`, {
      provider: opts.providerId,
      code: "idle_timeout",
    });
  }
}
