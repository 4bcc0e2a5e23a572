import type { ResolvedConfig } from "../config/resolve";
import { GatewayError, lmrelayError, toGatewayError } from "../core/errors";
import { estimatePromptTokens } from "../core/tokens";
import type { ChatRequest, EmbedRequest, ModelInfo, StreamEvent, Usage } from "../core/types";
import type { Logger } from "../log/logger";
import type { AuditWriter } from "../store/audit";
import type { RequestRow } from "../store/schema";
import { adapterFor } from "../upstream/registry";
import type { Target } from "../upstream/types";
import { AttemptsFailed, type KeyState, newKeyState, runAttempts } from "./attempts";
import type { Catalog } from "./catalog";
import { resolveCandidates, routableNames } from "./candidates";
import type { AttemptRecord } from "./failover";
import type { ChatOutcome, EmbedOutcome, Gateway, RequestContext } from "./types";

// The router's front door: resolve the model, run the attempt loop, hand the answer's events back
// to the inbound codec, and write one audit row when the answer is over (or the client left).

export interface GatewayDeps {
  /** The config in force; read once per request so a reload never mixes two configs. */
  config(): ResolvedConfig;
  catalog: Catalog;
  audit?: AuditWriter;
  log: Logger;
}

interface AnswerState {
  ttftMs?: number;
  usage?: Usage;
  outputChars: number;
  error?: GatewayError;
  completed: boolean;
}

export class RelayGateway implements Gateway {
  private keys: KeyState = newKeyState();
  private keysFor: ResolvedConfig | undefined;
  private startedAt = Date.now();
  /** Answers still being relayed (streams outlive their HTTP handler); shutdown waits for them. */
  openAnswers = 0;

  constructor(private readonly deps: GatewayDeps) {}

  /** Key state (disabled keys, rotation) lives as long as the config it was built for. */
  private keyState(config: ResolvedConfig): KeyState {
    if (this.keysFor !== config) {
      this.keys = newKeyState();
      this.keysFor = config;
    }
    return this.keys;
  }

  async chat(req: ChatRequest, ctx: RequestContext): Promise<ChatOutcome> {
    const config = this.deps.config();
    const { candidates } = resolveCandidates(config, this.deps.catalog, req.model);
    const requestedModel = req.model;
    let success;
    try {
      success = await runAttempts(
        config,
        this.keyState(config),
        candidates,
        ctx.signal,
        (target, signal) => this.tryChat(req, target, signal),
        { onKeyRejected: (p, k, err) => this.deps.log.error("upstream key rejected; disabled until the config reloads", { provider: p.id, key: k.name, fingerprint: k.fingerprint, status: err.status }) },
      );
    } catch (e) {
      const failed = e instanceof AttemptsFailed ? e : undefined;
      const err = failed ? failed.error : toGatewayError(e);
      this.record(ctx, { requestedModel, status: err.status, error: err.message, attempts: failed?.attempts ?? [], stream: req.stream });
      throw err;
    }
    const { value, target, attempts, abort } = success;
    attempts.push({ provider: target.provider.id, model: target.model, key: target.key?.name, status: 200, latencyMs: performance.now() - ctx.receivedAt });
    const state: AnswerState = { outputChars: 0, completed: false };
    this.openAnswers++;
    const events = this.observe(value.first, value.rest, state, ctx, abort, () => {
      this.openAnswers--;
      this.finishChat(ctx, req, requestedModel, target, attempts, state);
    });
    return {
      provider: target.provider.id,
      model: target.model,
      events,
      headers: { "x-lmrelay-provider": target.provider.id, "x-lmrelay-model": target.model },
    };
  }

  /** One attempt. Resolves once the answer has begun (stream) or is complete (non-stream), so a
   *  failure before any byte reaches the client can still fail over. */
  private async tryChat(req: ChatRequest, target: Target, signal: AbortSignal): Promise<{ first: StreamEvent[]; rest: AsyncIterator<StreamEvent> | undefined }> {
    const adapter = adapterFor(target.provider.type);
    if (!adapter) throw lmrelayError("internal", `no adapter for provider type ${target.provider.type}`);
    const reply = await adapter.chat(req.model === target.model ? req : { ...req, model: target.model }, { target, signal });
    const it = reply.events[Symbol.asyncIterator]();
    const first: StreamEvent[] = [];
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return { first, rest: undefined };
        if (r.value.type === "error") throw r.value.error;
        first.push(r.value);
        // A stream is committed at its first content event; a non-stream answer is read whole.
        if (req.stream && r.value.type !== "start") return { first, rest: it };
      }
    } catch (e) {
      await it.return?.().catch(() => {});
      throw e;
    }
  }

  private async *observe(
    first: StreamEvent[],
    rest: AsyncIterator<StreamEvent> | undefined,
    state: AnswerState,
    ctx: RequestContext,
    abort: AbortController,
    finish: () => void,
  ): AsyncGenerator<StreamEvent> {
    const note = (ev: StreamEvent) => {
      if (ev.type === "text" || ev.type === "thinking" || ev.type === "tool_call_delta") {
        state.ttftMs ??= performance.now() - ctx.receivedAt;
        state.outputChars += ev.type === "tool_call_delta" ? ev.arguments.length : ev.text.length;
      } else if (ev.type === "tool_call_start") state.ttftMs ??= performance.now() - ctx.receivedAt;
      else if (ev.type === "usage") state.usage = ev.usage;
      else if (ev.type === "error") state.error = ev.error;
    };
    try {
      for (const ev of first) {
        note(ev);
        yield ev;
      }
      if (rest)
        for (;;) {
          const r = await rest.next();
          if (r.done) break;
          note(r.value);
          yield r.value;
          if (r.value.type === "error") break;
        }
      state.completed = !state.error;
    } catch (e) {
      state.error = ctx.signal.aborted ? lmrelayError("invalid_request", "client closed the request", { status: 499 }) : toGatewayError(e);
      throw state.error;
    } finally {
      if (!state.completed) {
        abort.abort();
        await rest?.return?.().catch(() => {});
        if (!state.error) state.error = lmrelayError("invalid_request", "client closed the request", { status: 499 });
      }
      finish();
    }
  }

  private finishChat(ctx: RequestContext, req: ChatRequest, requestedModel: string, target: Target, attempts: AttemptRecord[], state: AnswerState): void {
    const usage: Usage = state.usage ?? {
      inputTokens: estimatePromptTokens(req),
      outputTokens: Math.ceil(state.outputChars / 4),
      estimated: true,
    };
    const status = state.completed ? 200 : state.error?.status ?? 500;
    this.record(ctx, {
      requestedModel,
      provider: target.provider.id,
      model: target.model,
      keyName: target.key?.name,
      status,
      stream: req.stream,
      ttftMs: state.ttftMs,
      usage,
      error: state.completed ? undefined : state.error?.message,
      attempts,
    });
  }

  async embed(req: EmbedRequest, ctx: RequestContext): Promise<EmbedOutcome> {
    const config = this.deps.config();
    const { candidates } = resolveCandidates(config, this.deps.catalog, req.model);
    const usable = candidates.filter((c) => adapterFor(c.provider.type)?.embed);
    if (usable.length === 0) {
      const err = lmrelayError("invalid_request", `model "${req.model}" is served only by providers without embeddings`, { param: "model" });
      this.record(ctx, { requestedModel: req.model, status: err.status, error: err.message, attempts: [] });
      throw err;
    }
    try {
      const { value, target, attempts } = await runAttempts(config, this.keyState(config), usable, ctx.signal, (target, signal) =>
        adapterFor(target.provider.type)!.embed!({ ...req, model: target.model }, { target, signal }),
      );
      attempts.push({ provider: target.provider.id, model: target.model, key: target.key?.name, status: 200, latencyMs: performance.now() - ctx.receivedAt });
      this.record(ctx, {
        requestedModel: req.model,
        provider: target.provider.id,
        model: target.model,
        keyName: target.key?.name,
        status: 200,
        usage: { inputTokens: value.usage.inputTokens, outputTokens: 0 },
        attempts,
      });
      return { provider: target.provider.id, model: target.model, response: value, headers: { "x-lmrelay-provider": target.provider.id, "x-lmrelay-model": target.model } };
    } catch (e) {
      const failed = e instanceof AttemptsFailed ? e : undefined;
      const err = failed ? failed.error : toGatewayError(e);
      this.record(ctx, { requestedModel: req.model, status: err.status, error: err.message, attempts: failed?.attempts ?? [] });
      throw err;
    }
  }

  models(ctx: RequestContext): ModelInfo[] {
    const config = this.deps.config();
    const created = Math.floor(this.startedAt / 1000);
    const client = ctx.client;
    const out: ModelInfo[] = [];
    for (const { name, provider } of routableNames(config, this.deps.catalog)) {
      if (client && !client.allowsModel(name)) continue;
      out.push({ id: name, provider: provider?.id, ownedBy: provider ? provider.id : "lmrelay", created, free: provider?.free });
    }
    return out;
  }

  recordRejected(ctx: RequestContext, status: number, error: string, model?: string): void {
    this.record(ctx, { requestedModel: model, status, error, attempts: [] });
  }

  private record(
    ctx: RequestContext,
    r: {
      requestedModel?: string;
      provider?: string;
      model?: string;
      keyName?: string;
      status: number;
      stream?: boolean;
      ttftMs?: number;
      usage?: Usage;
      error?: string;
      attempts: AttemptRecord[];
    },
  ): void {
    const row: RequestRow = {
      ts: ctx.receivedAtMs,
      requestId: ctx.requestId,
      protocol: ctx.protocol,
      endpoint: ctx.endpoint,
      client: ctx.client?.id,
      requestedModel: r.requestedModel,
      provider: r.provider,
      model: r.model,
      keyName: r.keyName,
      status: r.status,
      stream: r.stream ?? false,
      latencyMs: performance.now() - ctx.receivedAt,
      ttftMs: r.ttftMs,
      inputTokens: r.usage?.inputTokens ?? 0,
      outputTokens: r.usage?.outputTokens ?? 0,
      cachedTokens: r.usage?.cacheReadTokens ?? 0,
      usageEstimated: r.usage?.estimated ?? false,
      costUsd: 0,
      error: r.error,
      attempts: JSON.stringify(r.attempts),
    };
    ctx.audited = true;
    this.deps.audit?.push(row);
    this.deps.log.info("request", {
      requestId: ctx.requestId,
      protocol: ctx.protocol,
      endpoint: ctx.endpoint,
      model: r.requestedModel,
      provider: r.provider,
      status: r.status,
      ms: Math.round(row.latencyMs),
      attempts: r.attempts.length,
      ...(r.error ? { error: r.error } : {}),
    });
  }
}
