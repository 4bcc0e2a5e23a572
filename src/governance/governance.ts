import type { SharedAnswer, SharedLimits } from "../cluster/types";
import type { ResolvedClient, ResolvedConfig } from "../config/resolve";
import { lmrelayError } from "../core/errors";
import { configSecrets } from "../config/secrets";
import type { RequestRow } from "../store/schema";
import { type AdmissionCandidate, allowedCandidates } from "./allowlist";
import type { ClientContext } from "./auth";
import { type BudgetPeriod, PERIOD_WORD, periodDays, periodEnd, periodKey, SpendLedger, type SpendSource } from "./budget";
import { type LimitState, rateLimitHeaders } from "./headers";
import { RequestWindow, TokenWindow, WINDOW_MS } from "./limits";
import { costOf, priceFor } from "./pricing";

// The governance hooks on the request path (SPEC §6): `admit` before routing (model allow-list,
// concurrency, rpm, tpm, budget; refusals are 403/429 in the caller's shape with Retry-After and
// the protocol's rate-limit headers) and `settle` once the request is recorded (prices the usage,
// corrects the token estimate, releases the concurrency slot, adds the spend).

export interface AdmissionRequest<C extends AdmissionCandidate = AdmissionCandidate> {
  /** The model name as the client asked for it. */
  model: string;
  candidates: C[];
  /** Estimated input tokens (tpm admission and the budget's lower bound). */
  promptTokens: number;
  /** Answered from the response cache: it counts toward rpm and concurrency, not tpm or budgets. */
  cached?: boolean;
}

export interface Admitted<C extends AdmissionCandidate = AdmissionCandidate> {
  /** The candidates this client may use, in the router's order. */
  candidates: C[];
  /** Rate-limit headers for the answer (empty when the client has no rpm/tpm). */
  headers: Record<string, string>;
}

export interface GovernanceDeps {
  /** The config in force. */
  config(): ResolvedConfig;
  /** Persisted spend of a client over UTC days (the audit writer's rollup). */
  spend: SpendSource;
  /** Called once a request is settled, with its priced audit row and its attempts (metrics). */
  observe?(row: RequestRow, attempts: readonly unknown[]): void;
  now?: () => number;
  /** Limits and budgets shared by several nodes (`cluster`, SPEC §8); absent = this node's own. */
  shared?: SharedLimits;
  /** Spend of a client over UTC days across every node (the shared audit store), to seed a
   *  budget period in the shared state; the local `spend` when absent. */
  sharedSpend?: (client: string, days: { from?: string; until?: string }) => Promise<number>;
}

interface ClientState {
  requests?: RequestWindow;
  tokens?: TokenWindow;
  inFlight: number;
}

interface Admission {
  config: ResolvedConfig;
  client?: ResolvedClient;
  at: number;
  estimate: number;
  reservedUsd: number;
  /** Admitted by the shared state: its Redis second (the tpm estimate's bucket), settled there. */
  shared?: { second: number; lease: string };
}

export interface ClientUsage {
  inFlight: number;
  requestsLastMinute: number;
  tokensLastMinute: number;
  budget?: { usd: number; per: BudgetPeriod; spentUsd: number; reservedUsd: number; resetsAt?: string };
}

const BUDGET_EPSILON = 1e-9;

function scrubSecrets(text: string, secrets: readonly string[]): string {
  for (const s of secrets) if (text.includes(s)) text = text.replaceAll(s, "[redacted]");
  return text;
}

export class Governance {
  private readonly clients = new Map<string, ClientState>();
  private readonly open = new WeakMap<ClientContext, Admission>();
  readonly ledger: SpendLedger;
  private readonly now: () => number;

  constructor(private readonly deps: GovernanceDeps) {
    this.ledger = new SpendLedger(deps.spend);
    this.now = deps.now ?? Date.now;
  }

  /** The limiter state of a client, following its current limits (a reload may change them). */
  private state(client: ResolvedClient, now: number): ClientState {
    let s = this.clients.get(client.id);
    if (!s) {
      s = { inFlight: 0 };
      this.clients.set(client.id, s);
    }
    if (!client.rpm) s.requests = undefined;
    else if (!s.requests) s.requests = new RequestWindow(client.rpm);
    else if (s.requests.limit !== client.rpm) s.requests = s.requests.resized(client.rpm, now);
    if (!client.tpm) s.tokens = undefined;
    else s.tokens ??= new TokenWindow();
    return s;
  }

  /** Admits the request or throws the refusal (403 model not allowed, 429 over a limit). With
   *  shared state (`cluster`) the answer is a promise for clients that have limits or a budget. */
  admission<C extends AdmissionCandidate>(ctx: ClientContext, req: AdmissionRequest<C>): Admitted<C> | Promise<Admitted<C>> {
    const client = ctx.client;
    if (client && this.deps.shared && (client.rpm || client.tpm || client.concurrency || client.budget)) {
      const config = this.deps.config();
      return this.admitShared(this.deps.shared, ctx, req, config, client, allowedCandidates(client, req.model, req.candidates));
    }
    return this.admit(ctx, req);
  }

  /** This node's own decision: admits the request or throws the refusal. */
  admit<C extends AdmissionCandidate>(ctx: ClientContext, req: AdmissionRequest<C>): Admitted<C> {
    const config = this.deps.config();
    const client = ctx.client;
    const candidates = allowedCandidates(client, req.model, req.candidates);
    if (!client) {
      this.open.set(ctx, { config, at: this.now(), estimate: 0, reservedUsd: 0 });
      return { candidates, headers: {} };
    }
    return this.admitLocal(ctx, req, config, client, candidates);
  }

  /** This node's own decision (one node, or Redis unreachable under `onRedisDown: "local"`). */
  private admitLocal<C extends AdmissionCandidate>(ctx: ClientContext, req: AdmissionRequest<C>, config: ResolvedConfig, client: ResolvedClient, candidates: C[]): Admitted<C> {
    const now = this.now();
    const s = this.state(client, now);
    const estimate = req.cached ? 0 : Math.max(0, Math.ceil(req.promptTokens));
    const who = `client "${client.id}"`;

    if (client.concurrency && s.inFlight >= client.concurrency)
      throw this.limited(ctx, client, s, now, 1000, `${who} already has ${s.inFlight} requests in flight, its concurrency limit; retry when one finishes`);

    if (s.requests) {
      const wait = s.requests.waitMs(now);
      if (wait > 0) throw this.limited(ctx, client, s, now, wait, `${who} is over its limit of ${client.rpm} requests per minute`);
    }

    if (s.tokens && client.tpm && !req.cached) {
      if (estimate > client.tpm)
        throw this.limited(ctx, client, s, now, WINDOW_MS, `this request needs about ${estimate} tokens, more than the ${client.tpm} tokens per minute allowed to ${who}`);
      const wait = s.tokens.waitMs(now, estimate, client.tpm);
      if (wait > 0)
        throw this.limited(ctx, client, s, now, wait, `${who} is over its limit of ${client.tpm} tokens per minute (this request needs about ${estimate})`);
    }

    let reservedUsd = 0;
    let usable = candidates;
    if (client.budget && !req.cached) {
      const { usd, per } = client.budget;
      const committed = this.ledger.spentIn(client.id, per, now) + this.ledger.reservedBy(client.id);
      // Keep the candidates this request can afford: free ones always; priced (or unknown-priced)
      // ones while the budget is not used up and their input cost alone still fits.
      const costs = new Map<C, number>();
      usable = candidates.filter((c) => {
        const price = priceFor(c.provider, c.model);
        if (price && price.input === 0 && price.output === 0) return true;
        const least = costOf(price, { inputTokens: estimate, outputTokens: 0 });
        costs.set(c, least);
        return committed < usd - BUDGET_EPSILON && committed + least <= usd + BUDGET_EPSILON;
      });
      if (usable.length === 0) throw this.overBudget(client, usd, per, committed, now);
      // Reserve the least this request will add: the cheapest usable candidate's input cost.
      reservedUsd = Math.min(...usable.map((c) => costs.get(c) ?? 0));
    }

    s.inFlight++;
    s.requests?.add(now);
    s.tokens?.add(now, estimate);
    if (reservedUsd > 0) this.ledger.reserve(client.id, reservedUsd);
    this.open.set(ctx, { config, client, at: now, estimate, reservedUsd });
    return { candidates: usable, headers: this.headers(ctx, client, s, now) };
  }

  /** The shared state's decision; without an answer in time, this node's own (or a 503 under
   *  `onRedisDown: "reject"`). Admitted requests are counted locally too, so a fallback starts
   *  from this node's recent traffic. */
  private async admitShared<C extends AdmissionCandidate>(
    shared: SharedLimits,
    ctx: ClientContext,
    req: AdmissionRequest<C>,
    config: ResolvedConfig,
    client: ResolvedClient,
    candidates: C[],
  ): Promise<Admitted<C>> {
    const now = this.now();
    const estimate = req.cached ? 0 : Math.max(0, Math.ceil(req.promptTokens));
    const who = `client "${client.id}"`;
    const subject = `client:${client.id}`;
    const lease = `${ctx.requestId}:${crypto.randomUUID()}`;
    const costs = new Map<C, number>();
    let budget: { usd: number; period: string; leastUsd: number; free: boolean } | undefined;
    if (client.budget && !req.cached) {
      let free = false;
      for (const c of candidates) {
        const price = priceFor(c.provider, c.model);
        if (price && price.input === 0 && price.output === 0) free = true;
        else costs.set(c, costOf(price, { inputTokens: estimate, outputTokens: 0 }));
      }
      budget = { usd: client.budget.usd, period: periodKey(client.budget.per, now), leastUsd: costs.size ? Math.min(...costs.values()) : 0, free };
    }
    const admission = { subject, lease, rpm: client.rpm, tpm: client.tpm, concurrency: client.concurrency, tokens: estimate, budget };
    let answer = await shared.admit(admission);
    if (answer?.refused === "seed" && client.budget && budget) {
      // First request of the period since Redis last knew it: seed its spend from the audit store.
      const usd = await this.spendSoFar(client, client.budget.per, now);
      answer = (await shared.seedSpend(subject, budget.period, usd)) ? await shared.admit(admission) : undefined;
      if (answer?.refused === "seed") answer = undefined;
    }
    if (!answer) {
      if (config.cluster?.onRedisDown === "reject")
        throw lmrelayError("unavailable", `the shared limits store (Redis) does not answer and ${who} has limits or a budget (cluster.onRedisDown is "reject"); retry shortly`, {
          retryAfterMs: 1000,
          code: "cluster_unavailable",
        });
      return this.admitLocal(ctx, req, config, client, candidates);
    }
    const s = this.state(client, now);
    const view = { requests: answer.requests, tokens: answer.tokens };
    switch (answer.refused) {
      case "concurrency":
        throw this.limited(ctx, client, s, now, answer.waitMs, `${who} already has ${answer.inFlight} requests in flight, its concurrency limit; retry when one finishes`, view);
      case "rpm":
        throw this.limited(ctx, client, s, now, answer.waitMs, `${who} is over its limit of ${client.rpm} requests per minute`, view);
      case "tpm_request":
        throw this.limited(ctx, client, s, now, WINDOW_MS, `this request needs about ${estimate} tokens, more than the ${client.tpm} tokens per minute allowed to ${who}`, view);
      case "tpm":
        throw this.limited(ctx, client, s, now, answer.waitMs, `${who} is over its limit of ${client.tpm} tokens per minute (this request needs about ${estimate})`, view);
      case "budget":
        throw this.overBudget(client, client.budget!.usd, client.budget!.per, answer.committedUsd, now);
    }
    const committed = answer.committedUsd;
    const usable = budget
      ? candidates.filter((c) => {
          const least = costs.get(c);
          return least === undefined || (committed < client.budget!.usd - BUDGET_EPSILON && committed + least <= client.budget!.usd + BUDGET_EPSILON);
        })
      : candidates;
    if (usable.length === 0) {
      // Admitted by the cheapest candidate's cost, yet none fits once filtered: give the slot back.
      shared.settle({ subject, lease, tpm: client.tpm ? { second: answer.second, estimate, tokens: 0 } : undefined, costUsd: 0, periods: [] });
      throw this.overBudget(client, client.budget!.usd, client.budget!.per, committed, now);
    }
    s.inFlight++;
    s.requests?.add(now);
    s.tokens?.add(now, estimate);
    this.open.set(ctx, { config, client, at: now, estimate, reservedUsd: 0, shared: { second: answer.second, lease } });
    return { candidates: usable, headers: this.headers(ctx, client, s, now, view) };
  }

  /** A budget period's spend so far across nodes (the shared audit store), else this node's. */
  private async spendSoFar(client: ResolvedClient, per: BudgetPeriod, now: number): Promise<number> {
    if (this.deps.sharedSpend)
      try {
        return await this.deps.sharedSpend(client.id, periodDays(per, now));
      } catch {
        // The shared store is away: this node's own rollup is the best lower bound there is.
      }
    return this.ledger.spentIn(client.id, per, now);
  }

  /** Prices the finished request's row (sets `costUsd`, `unpriced`) and settles its admission.
   *  Called exactly once per request, just before its audit row is queued. */
  settle(ctx: ClientContext, row: RequestRow, attempts: readonly unknown[] = []): void {
    const adm = this.open.get(ctx);
    if (adm) this.open.delete(ctx);
    const config = adm?.config ?? this.deps.config();
    // Adapters scrub the key they sent from upstream errors; the audit log also never keeps any
    // other configured secret an upstream or a client may have echoed.
    if (row.error) row.error = scrubSecrets(row.error, configSecrets(config));
    if (row.attempts && row.attempts.length > 2) row.attempts = scrubSecrets(row.attempts, configSecrets(config));
    const provider = row.provider ? config.providers.get(row.provider) : undefined;
    if (row.cacheHit) {
      // Nothing was bought: a cached answer costs nothing and uses no tokens of any limit.
      row.costUsd = 0;
      row.unpriced = false;
    } else if (provider && row.model) {
      const price = priceFor(provider, row.model);
      const usage = {
        inputTokens: row.inputTokens ?? 0,
        outputTokens: row.outputTokens ?? 0,
        cacheReadTokens: row.cachedTokens ?? 0,
        cacheWriteTokens: row.cacheWriteTokens ?? 0,
      };
      row.costUsd = costOf(price, usage);
      row.unpriced = !price && usage.inputTokens + usage.outputTokens > 0;
    }
    const client = adm?.client;
    if (client) {
      const now = this.now();
      const s = this.clients.get(client.id);
      if (s) {
        s.inFlight = Math.max(0, s.inFlight - 1);
        // The estimate made at admission gives way to what was really used, counted now.
        s.tokens?.add(adm.at, -adm.estimate, now);
        if (!row.cacheHit) s.tokens?.add(now, (row.inputTokens ?? 0) + (row.outputTokens ?? 0));
      }
      this.ledger.release(client.id, adm.reservedUsd);
      this.ledger.add(client.id, row.costUsd ?? 0, row.ts);
      if (adm.shared)
        this.deps.shared?.settle({
          subject: `client:${client.id}`,
          lease: adm.shared.lease,
          tpm: client.tpm ? { second: adm.shared.second, estimate: adm.estimate, tokens: row.cacheHit ? 0 : (row.inputTokens ?? 0) + (row.outputTokens ?? 0) } : undefined,
          costUsd: row.costUsd ?? 0,
          periods: client.budget ? [periodKey("day", row.ts), periodKey("month", row.ts), "total"] : [],
        });
    }
    this.deps.observe?.(row, attempts);
  }

  /** Current use of a client's limits, for the admin API and metrics. */
  usage(client: ResolvedClient): ClientUsage {
    const now = this.now();
    const s = this.clients.get(client.id);
    const out: ClientUsage = {
      inFlight: s?.inFlight ?? 0,
      requestsLastMinute: s?.requests?.count(now) ?? 0,
      tokensLastMinute: Math.round(s?.tokens?.used(now) ?? 0),
    };
    if (client.budget) {
      const end = periodEnd(client.budget.per, now);
      out.budget = {
        ...client.budget,
        spentUsd: this.ledger.spentIn(client.id, client.budget.per, now),
        reservedUsd: this.ledger.reservedBy(client.id),
        resetsAt: end === undefined ? undefined : new Date(end).toISOString(),
      };
    }
    return out;
  }

  /** `view`: counts across every node (shared state); else this node's own. */
  private headers(ctx: ClientContext, client: ResolvedClient, s: ClientState, now: number, view?: { requests: number; tokens: number }): Record<string, string> {
    if (ctx.protocol === "ollama" || (!s.requests && !s.tokens)) return {};
    const requests: LimitState | undefined =
      s.requests && client.rpm
        ? { limit: client.rpm, remaining: client.rpm - (view?.requests ?? s.requests.count(now)), resetMs: view ? WINDOW_MS : s.requests.resetMs(now) }
        : undefined;
    const tokens: LimitState | undefined =
      s.tokens && client.tpm
        ? { limit: client.tpm, remaining: client.tpm - (view?.tokens ?? s.tokens.used(now)), resetMs: view ? WINDOW_MS : s.tokens.resetMs(now) }
        : undefined;
    return rateLimitHeaders(ctx.protocol, now, requests, tokens);
  }

  private limited(ctx: ClientContext, client: ResolvedClient, s: ClientState, now: number, waitMs: number, message: string, view?: { requests: number; tokens: number }) {
    const retryAfterMs = Math.max(1000, Math.ceil(waitMs / 1000) * 1000);
    return lmrelayError("rate_limited", `${message}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
      retryAfterMs,
      code: "rate_limit_exceeded",
      headers: this.headers(ctx, client, s, now, view),
    });
  }

  private overBudget(client: ResolvedClient, usd: number, per: BudgetPeriod, committed: number, now: number) {
    const end = periodEnd(per, now);
    const when = end === undefined ? "it does not reset (raise it in the config)" : `it resets at ${new Date(end).toISOString()}`;
    return lmrelayError(
      "rate_limited",
      `client "${client.id}" has reached its budget of $${usd} ${PERIOD_WORD[per]} (spent $${committed.toFixed(4)}); ${when}`,
      {
        // No reset to wait for with a total budget: an hour is a hint, and retrying clients are told not to.
        retryAfterMs: end === undefined ? 3_600_000 : Math.max(1000, end - now),
        code: "insufficient_quota",
        headers: { "x-should-retry": "false" },
      },
    );
  }
}
