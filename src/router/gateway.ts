import type { SharedLimits } from "../cluster/types";
import type { RouteRequest } from "../config/define";
import type { ResolvedConfig, ResolvedProvider } from "../config/resolve";
import { GatewayError, lmrelayError, toGatewayError } from "../core/errors";
import { estimatePromptTokens, estimateTextTokens } from "../core/tokens";
import { SettledAnswer } from "../core/fold";
import type { ChatRequest, ChatResponse, EmbedRequest, ModelInfo, StreamEvent, Usage } from "../core/types";
import { modelVisible } from "../governance/allowlist";
import { carriesAdminKey, type ClientContext } from "../governance/auth";
import type { Governance } from "../governance/governance";
import { HealthTracker } from "../health/tracker";
import type { Logger } from "../log/logger";
import type { AuditWriter } from "../store/audit";
import type { RequestRow } from "../store/schema";
import { adapterFor } from "../upstream/registry";
import type { Target } from "../upstream/types";
import { type AnswerState, type OpenedChat, openChat, type RelayOptions, relayAnswer, settleAnswer } from "./answer";
import { type AttemptEnv, AttemptsFailed, type AttemptSuccess, runAttempts } from "./attempts";
import { type Capability, CapabilityBook, requestNeeds, withoutThinking } from "./capabilities";
import type { Catalog } from "./catalog";
import { type Resolution, resolveCandidates, routableNames } from "./candidates";
import { countInputTokens } from "./count";
import { type AttemptRecord, explainHeaders, triedCount } from "./explain";
import { policyFor } from "./failover";
import { OLLAMA_FIRST_BYTE_FACTOR } from "./idle";
import { KeyPool } from "./keypool";
import { routeCandidates, type RoutePlan } from "./pipeline";
import { isFree } from "./plan";
import { StrategyState } from "./strategy";
import { type ChatOutcome, type EmbedOutcome, type Gateway, type TokenCount } from "../core/gateway";
import type { RequestTracer, TracedOperation } from "../core/trace";
import type { AnswerStore, AnswerStores, CachedAnswer } from "../core/answer-cache";
import {
  AnswerRecorder,
  CACHE_HEADER,
  type CachePolicy,
  cacheAllowed,
  cacheKey,
  cachePolicyFor,
  recordingStream,
  replayEvents,
} from "./cache";
import { routeRequestOf } from "./userroute";

// The router's front door: resolve the model, admit the client, plan and order the candidates,
// run the attempt loop, hand the answer's events back to the inbound codec, tell health how it
// went, and write one audit row when the answer is over (or the client left).

export interface GatewayDeps {
  /** The config in force; read once per request so a reload never mixes two configs. */
  config(): ResolvedConfig;
  catalog: Catalog;
  audit?: AuditWriter;
  log: Logger;
  /** Client allow-lists, limits and budgets before routing; pricing and settlement at the end. */
  governance?: Governance;
  /** Routing health (persisted and probed by the runtime); an in-memory one when absent. */
  health?: HealthTracker;
  /** This node's name in audit rows (`cluster.node`; several nodes share one audit log). */
  node?: string;
  /** Several nodes (`cluster`): upstream keys' rpm/tpm held across all of them. */
  shared?: SharedLimits;
  /** Traces (SPEC §9): a span per request and per attempt when telemetry is on. */
  tracer?: RequestTracer;
  /** Where cached answers are kept (SPEC §9); caching is off without it. */
  answers?: AnswerStores;
}

/** A cacheable request: its settings, store and key (no key: the client said `bypass`). */
interface Caching {
  policy: CachePolicy;
  store: AnswerStore;
  key?: string;
  resolution?: Resolution;
}

/** What planning one request needs to know (`plan()`). */
interface PlanContext {
  ctx: ClientContext;
  /** The config read once for this request. */
  config: ResolvedConfig;
  /** The model name as the client asked for it. */
  model: string;
  need: "chat" | "embed";
  /** Capabilities the request needs (tools, images…): candidates known to lack one are skipped. */
  needs: readonly Capability[];
  /** Estimated input tokens. */
  promptTokens: number;
  stream: boolean;
  maxTokens?: number;
  /** The request as the config's `routing.route` function sees it, built only if there is one. */
  routeRequest: () => RouteRequest;
}

export class RelayGateway implements Gateway {
  readonly health: HealthTracker;
  readonly pool = new KeyPool();
  /** What each (provider, model) is known to support: its catalog's word, then what upstreams taught. */
  readonly capabilities: CapabilityBook;
  private readonly strategies = new StrategyState();
  private adopted: ResolvedConfig;
  private startedAt = Date.now();
  /** Answers still being relayed (streams outlive their HTTP handler); shutdown waits for them. */
  openAnswers = 0;

  constructor(private readonly deps: GatewayDeps) {
    this.adopted = deps.config();
    this.health = deps.health ?? new HealthTracker(this.adopted, { log: deps.log });
    this.capabilities = new CapabilityBook(deps.catalog);
  }

  /** Adopts a reloaded config: health and key usage carry over for what still exists, keys
   *  disabled by a 401/403 get another chance, learned capabilities are forgotten (a model name may
   *  now stand for another model). The reload path calls it; requests do too, lazily. */
  adoptConfig(config: ResolvedConfig): void {
    if (config === this.adopted) return;
    this.adopted = config;
    this.health.adopt(config);
    this.pool.prune(config);
    this.capabilities.clear();
  }

  async chat(req: ChatRequest, ctx: ClientContext): Promise<ChatOutcome> {
    const config = this.deps.config();
    this.adoptConfig(config);
    if (this.deps.tracer?.enabled) this.beginTrace(ctx, config, req.legacyCompletion ? "text_completion" : "chat", req.model, req.stream, () => ({ system: req.system, messages: req.messages }));
    const caching = this.deps.answers ? this.cachingFor(config, ctx, req) : undefined;
    if (caching?.key) {
      const hit = await this.lookup(caching);
      if (hit) return this.answerFromCache(ctx, req, hit, caching);
      // An answer to keep must be decoded whole: a same-format passthrough stream relays the
      // upstream's bytes and decodes only its bookkeeping, so this one is translated instead.
      req.original = undefined;
    }
    const promptTokens = estimatePromptTokens(req);
    const needs = requestNeeds(req);
    const { plan, limitHeaders } = await this.plan({
      ctx,
      config,
      model: req.model,
      need: "chat",
      needs,
      promptTokens,
      stream: req.stream,
      maxTokens: req.maxTokens,
      routeRequest: () => routeRequestOf(req, { protocol: ctx.protocol, client: ctx.client?.id, headers: ctx.headers, promptTokens }),
    });
    const env = this.env(config, ctx, plan, promptTokens, (p) => firstByteLimit(config, p, req.stream));
    let success;
    try {
      success = await runAttempts(env, plan.candidates, (target, signal, watch) => {
        const fitted = withoutThinking(req, this.capabilities.of(target.provider.id, target.model), target.model);
        return openChat(fitted.req, target, signal, watch, fitted.adjusted);
      });
    } catch (e) {
      throw this.failed(ctx, e, plan, req.model, req.stream);
    }
    const { value: opened, target, records } = success;
    const { provider, model } = target;
    this.health.noteHeaders(provider.id, target.key, model, opened.headers);
    this.openAnswers++;
    const adjusted = adjustedHeader(opened.adjusted);
    const relay = this.relayOptions(ctx, config, success, promptTokens, req.model, req.stream, adjusted);
    // A non-stream answer arrived whole: its bookkeeping is done now, not event by event.
    let events: AsyncIterable<StreamEvent> = req.stream || opened.rest ? relayAnswer(opened, relay) : settleAnswer(opened, relay);
    const headers: Record<string, string> = {
      ...limitHeaders,
      "x-lmrelay-provider": provider.id,
      "x-lmrelay-model": model,
      ...(adjusted ? { "x-lmrelay-adjusted": adjusted } : {}),
      ...explainHeaders(records, plan.note, showsRoute(config, ctx)),
    };
    if (caching) {
      headers[CACHE_HEADER] = caching.key ? "miss" : "bypass";
      if (caching.key) events = this.keepAnswer(events, caching, provider.id, model);
    }
    return {
      provider: provider.id,
      model,
      events,
      headers,
      raw: opened.raw,
      promptTokens,
    };
  }

  /** The cache settings and key of a request whose answer may be cached; `key` is absent when the
   *  client said `bypass`. Undefined when nothing caches it (no settings, `cache: false`, a
   *  temperature above 0 without `force`, or a model that does not resolve: its 404 comes later). */
  private cachingFor(config: ResolvedConfig, ctx: ClientContext, req: ChatRequest): Caching | undefined {
    const policy = cachePolicyFor(config, ctx.client, req.model);
    if (!policy) return undefined;
    const directive = ctx.headers.get(CACHE_HEADER);
    if (directive === "bypass") return { policy, store: this.deps.answers!.store(policy.store) };
    if (!cacheAllowed(req, directive)) return undefined;
    let resolution: Resolution;
    try {
      resolution = resolveCandidates(config, this.deps.catalog, req.model);
    } catch {
      return undefined;
    }
    const chain = resolution.candidates.map((c) => `${c.provider.id}/${c.model}`);
    const key = cacheKey(req, chain, policy.shared ? undefined : ctx.client?.id);
    return { policy, store: this.deps.answers!.store(policy.store), key, resolution };
  }

  /** A stored answer, or undefined; a store that fails is a miss (logged), never a failed request. */
  private async lookup(caching: Caching): Promise<CachedAnswer | undefined> {
    try {
      return await caching.store.get(caching.key!);
    } catch (err) {
      this.deps.log.warn("response cache lookup failed; answering from upstream", { error: (err as Error).message });
      return undefined;
    }
  }

  /** Answers from the cache: admitted (allow-list, rpm, concurrency — not tpm or budget), recorded
   *  as a cache hit costing nothing, and replayed in the caller's protocol like any answer. */
  private async answerFromCache(ctx: ClientContext, req: ChatRequest, entry: CachedAnswer, caching: Caching): Promise<ChatOutcome> {
    const { headers: limitHeaders } = await this.admit(ctx, req.model, 0, req.stream, () => caching.resolution!, true);
    const events = replayEvents(entry);
    const usage = events.find((e) => e.type === "usage")?.usage;
    this.record(ctx, {
      requestedModel: req.model,
      provider: entry.provider,
      model: entry.model,
      status: 200,
      stream: req.stream,
      ttftMs: performance.now() - ctx.receivedAt,
      usage,
      attempts: [],
      finishReason: entry.answer.finishReason,
      cacheHit: true,
    });
    return {
      provider: entry.provider,
      model: entry.model,
      events: new SettledAnswer(events),
      headers: { ...limitHeaders, "x-lmrelay-provider": entry.provider, "x-lmrelay-model": entry.model, "x-lmrelay-attempts": "0", [CACHE_HEADER]: "hit" },
      promptTokens: usage?.inputTokens ?? 0,
    };
  }

  /** Passes the answer on and stores it once it ended well (a stream: when read to its end). */
  private keepAnswer(events: AsyncIterable<StreamEvent>, caching: Caching, provider: string, model: string): AsyncIterable<StreamEvent> {
    const save = (answer: ChatResponse) => {
      caching.store.set(caching.key!, { answer, provider, model, storedAt: Date.now() }, caching.policy.ttlMs).catch((err: Error) =>
        this.deps.log.warn("response cache store failed", { error: err.message }),
      );
    };
    if (!(events instanceof SettledAnswer)) return recordingStream(events, save);
    const recorder = new AnswerRecorder();
    for (const ev of events.events) recorder.push(ev);
    const answer = recorder.result();
    if (answer) save(answer);
    return events;
  }

  /** How the answer is relayed and recorded. Built apart from `chat()`: its closures live as long as
   *  the answer (a stream: minutes), and here they hold the request's scalars, not the request. */
  private relayOptions(
    ctx: ClientContext,
    config: ResolvedConfig,
    success: AttemptSuccess<OpenedChat>,
    promptTokens: number,
    requestedModel: string,
    stream: boolean,
    adjusted: string | undefined,
  ): RelayOptions {
    const { target, records, abort, lease, startedAt, firstByteMs } = success;
    const { provider, key, model } = target;
    return {
      checkAnswer: ctx.checkAnswer,
      receivedAt: ctx.receivedAt,
      clientSignal: ctx.signal,
      abort,
      idleMs: provider.timeoutMs ?? config.health.firstByteTimeoutMs,
      providerId: provider.id,
      estimateUsage: (outputChars) => ({ inputTokens: promptTokens, outputTokens: Math.ceil(outputChars / 4), estimated: true }),
      finish: (state) => {
        this.openAnswers--;
        const usage: Usage = state.usage ?? { inputTokens: promptTokens, outputTokens: Math.ceil(state.outputChars / 4), estimated: true };
        lease.end(usage.inputTokens + usage.outputTokens);
        this.learn(target, state, performance.now() - startedAt, stream ? firstByteMs : undefined);
        this.record(ctx, {
          requestedModel,
          provider: provider.id,
          model,
          keyName: key?.name,
          status: state.completed ? 200 : (state.error?.status ?? 500),
          stream,
          ttftMs: state.ttftMs,
          usage,
          error: state.completed ? undefined : state.error?.message,
          attempts: records,
          adjusted,
          finishReason: state.finishReason,
        });
      },
    };
  }

  /** What health learns from a committed answer: success, or a failure mid-stream (a client leaving teaches nothing). */
  private learn({ provider, key, model }: Target, state: AnswerState, latencyMs: number, ttftMs?: number): void {
    if (state.completed) this.health.recordSuccess(provider.id, key, model, latencyMs, ttftMs);
    else if (state.error && state.error.code !== "client_closed") this.health.recordFailure(provider.id, key, model, policyFor(state.error).health, state.error);
  }

  /** The resolved upstream's own count where its wire format has one, else the flagged estimate (count.ts). */
  async countTokens(req: ChatRequest, ctx: ClientContext): Promise<TokenCount> {
    const config = this.deps.config();
    this.adoptConfig(config);
    const { candidates } = resolveCandidates(config, this.deps.catalog, req.model);
    return countInputTokens({ config, health: this.health, log: this.deps.log }, req, ctx, candidates);
  }

  async embed(req: EmbedRequest, ctx: ClientContext): Promise<EmbedOutcome> {
    const config = this.deps.config();
    this.adoptConfig(config);
    if (this.deps.tracer?.enabled) this.beginTrace(ctx, config, "embeddings", req.model, false, () => req.input);
    const promptTokens = req.input.reduce((n, s) => n + estimateTextTokens(s), 0);
    const { plan, limitHeaders } = await this.plan({
      ctx,
      config,
      model: req.model,
      need: "embed",
      needs: EMBED_NEEDS,
      promptTokens,
      stream: false,
      routeRequest: () => routeRequestOf(req, { protocol: ctx.protocol, client: ctx.client?.id, headers: ctx.headers, promptTokens }),
    });
    if (plan.candidates.length === 0 && plan.records.length > 0 && plan.records.every((r) => r.reason === "no embeddings")) {
      const err = lmrelayError("invalid_request", `model "${req.model}" is served only by providers without embeddings`, { param: "model" });
      this.record(ctx, { requestedModel: req.model, status: err.status, error: err.message, attempts: plan.records });
      throw err;
    }
    // An embedding answer is short: it gets the first-byte limit a stream would.
    const env = this.env(config, ctx, plan, promptTokens, (p) => firstByteLimit(config, p, true));
    try {
      const { value, target, records, lease, startedAt } = await runAttempts(env, plan.candidates, (target, signal) =>
        adapterFor(target.provider.type)!.embed!({ ...req, model: target.model }, { target, signal }),
      );
      lease.end(value.usage.inputTokens || promptTokens);
      this.health.recordSuccess(target.provider.id, target.key, target.model, performance.now() - startedAt);
      this.record(ctx, {
        requestedModel: req.model,
        provider: target.provider.id,
        model: target.model,
        keyName: target.key?.name,
        status: 200,
        usage: { inputTokens: value.usage.inputTokens, outputTokens: 0 },
        attempts: records,
      });
      const headers = { ...limitHeaders, "x-lmrelay-provider": target.provider.id, "x-lmrelay-model": target.model, ...explainHeaders(records, plan.note, showsRoute(config, ctx)) };
      return { provider: target.provider.id, model: target.model, response: value, headers };
    } catch (e) {
      throw this.failed(ctx, e, plan, req.model, false);
    }
  }

  /** Resolve → admit → plan → order → route(). Anything thrown after admission is recorded. */
  private async plan(p: PlanContext): Promise<{ plan: RoutePlan; limitHeaders: Record<string, string> }> {
    const { ctx, config, model, need, needs, promptTokens, stream, maxTokens, routeRequest } = p;
    const { resolution, candidates, headers } = await this.admit(ctx, model, promptTokens, stream, () => resolveCandidates(config, this.deps.catalog, model));
    try {
      const plan = await routeCandidates({
        config,
        health: this.health,
        strategies: this.strategies,
        log: this.deps.log,
        requestId: ctx.requestId,
        resolution,
        allowed: candidates,
        requested: model,
        need,
        needs,
        capabilities: this.capabilities,
        promptTokens,
        maxTokens,
        routeRequest,
      });
      return { plan, limitHeaders: headers };
    } catch (e) {
      const err = toGatewayError(e);
      this.record(ctx, { requestedModel: model, status: err.status, error: err.message, attempts: [], stream });
      throw err;
    }
  }

  private beginTrace(ctx: ClientContext, config: ResolvedConfig, operation: TracedOperation, model: string, stream: boolean, content: () => unknown): void {
    ctx.trace = this.deps.tracer!.begin({
      operation,
      model,
      alias: config.aliases.has(model),
      protocol: ctx.protocol,
      endpoint: ctx.endpoint,
      requestId: ctx.requestId,
      client: ctx.client?.id,
      stream,
      headers: ctx.headers,
      startMs: ctx.receivedAtMs,
      content,
    });
  }

  private env(config: ResolvedConfig, ctx: ClientContext, plan: RoutePlan, promptTokens: number, firstByteMs: AttemptEnv["firstByteMs"]): AttemptEnv {
    return {
      trace: ctx.trace,
      config,
      health: this.health,
      pool: this.pool,
      log: this.deps.log,
      clientSignal: ctx.signal,
      promptTokens,
      firstByteMs,
      records: plan.records,
      capabilities: this.capabilities,
      shared: this.deps.shared,
    };
  }

  /** Records a request no attempt served and returns its error, carrying the route explanation. */
  private failed(ctx: ClientContext, e: unknown, plan: RoutePlan, model: string, stream: boolean): GatewayError {
    const records = e instanceof AttemptsFailed ? e.records : plan.records;
    const err = e instanceof AttemptsFailed ? e.error : toGatewayError(e);
    this.record(ctx, { requestedModel: model, status: err.status, error: err.message, attempts: records, stream });
    return withHeaders(err, explainHeaders(records, plan.note, showsRoute(this.deps.config(), ctx)));
  }

  /** Model resolution and governance admission; a refusal (unknown model, not allowed, over a
   *  limit) is recorded with the requested model, and thrown. */
  private async admit(ctx: ClientContext, model: string, promptTokens: number, stream: boolean, resolve: () => Resolution, cached = false) {
    try {
      const resolution = resolve();
      if (!this.deps.governance) return { resolution, candidates: resolution.candidates, headers: {} as Record<string, string> };
      // Shared limits (several nodes) answer asynchronously; one node's decide at once.
      const admitted = this.deps.governance.admission(ctx, { model, candidates: resolution.candidates, promptTokens, cached });
      return { resolution, ...(admitted instanceof Promise ? await admitted : admitted) };
    } catch (e) {
      const err = toGatewayError(e);
      this.record(ctx, { requestedModel: model, status: err.status, error: err.message, attempts: [], stream });
      throw err;
    }
  }

  models(ctx: ClientContext): ModelInfo[] {
    const config = this.deps.config();
    const created = Math.floor(this.startedAt / 1000);
    const client = ctx.client;
    const out: ModelInfo[] = [];
    for (const { name, provider } of routableNames(config, this.deps.catalog)) {
      if (client && !modelVisible(client, name, provider, (n) => resolveCandidates(config, this.deps.catalog, n).candidates)) continue;
      const free = provider ? isFree(provider, name.slice(provider.id.length + 1)) : undefined;
      out.push({ id: name, provider: provider?.id, ownedBy: provider ? provider.id : "lmrelay", created, free });
    }
    return out;
  }

  recordRejected(ctx: ClientContext, status: number, error: string, model?: string): void {
    this.record(ctx, { requestedModel: model, status, error, attempts: [] });
  }

  private record(
    ctx: ClientContext,
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
      /** `x-lmrelay-adjusted` of the answer. */
      adjusted?: string;
      finishReason?: string;
      cacheHit?: boolean;
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
      cacheWriteTokens: r.usage?.cacheWriteTokens ?? 0,
      usageEstimated: r.usage?.estimated ?? false,
      costUsd: 0,
      error: r.error,
      attempts: JSON.stringify(r.attempts),
      adjusted: r.adjusted,
      cacheHit: r.cacheHit ?? false,
    };
    if (this.deps.node !== undefined) row.node = this.deps.node;
    ctx.audited = true;
    this.deps.governance?.settle(ctx, row, r.attempts);
    ctx.trace?.end({
      status: r.status,
      provider: r.provider,
      providerType: r.provider === undefined ? undefined : this.deps.config().providers.get(r.provider)?.type,
      responseModel: r.model,
      inputTokens: r.usage?.inputTokens,
      outputTokens: r.usage?.outputTokens,
      finishReason: r.finishReason,
      costUsd: row.costUsd,
      error: r.error,
      attempts: r.attempts,
    });
    this.deps.audit?.push(row);
    this.deps.log.info("request", {
      requestId: ctx.requestId,
      protocol: ctx.protocol,
      endpoint: ctx.endpoint,
      model: r.requestedModel,
      provider: r.provider,
      status: r.status,
      ms: Math.round(row.latencyMs),
      attempts: triedCount(r.attempts),
      error: r.error,
    });
  }
}

const EMBED_NEEDS: readonly Capability[] = ["embeddings"];

/** The adjustments as one header value: joined with `; `, anything outside printable ASCII
 *  replaced (a header must be ASCII; model names are). Undefined when nothing changed. */
export function adjustedHeader(adjusted: readonly string[] | undefined): string | undefined {
  if (!adjusted?.length) return undefined;
  return adjusted.join("; ").replace(/[^\x20-\x7e]/g, "?").slice(0, 2000);
}

/** The attempt's first-byte timeout: the provider's `timeoutMs`, else `health.firstByteTimeoutMs`
 *  for streams (longer for Ollama, which may be loading the model). A non-stream answer arrives
 *  whole, so only a provider's own `timeoutMs` bounds it (the request deadline always does). */
export function firstByteLimit(config: ResolvedConfig, provider: ResolvedProvider, stream: boolean): number | undefined {
  if (provider.timeoutMs !== undefined) return provider.timeoutMs;
  if (!stream) return undefined;
  const base = config.health.firstByteTimeoutMs;
  return provider.type === "ollama" ? base * OLLAMA_FIRST_BYTE_FACTOR : base;
}

/** `x-lmrelay-route` names provider ids, key names and other providers' failures: sent when the
 *  config says so (`routing.explainHeader`) or the request carries the admin key. */
function showsRoute(config: ResolvedConfig, ctx: ClientContext): boolean {
  return config.routing.explainHeader || carriesAdminKey(config, ctx.headers);
}

function withHeaders(err: GatewayError, headers: Record<string, string>): GatewayError {
  return new GatewayError(err.kind, err.message, {
    status: err.status,
    retryAfterMs: err.retryAfterMs,
    provider: err.provider,
    param: err.param,
    code: err.code,
    headers: { ...err.headers, ...headers },
    cause: err,
  });
}
