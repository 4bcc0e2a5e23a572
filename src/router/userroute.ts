import type { RouteCandidate, RouteRequest } from "../config/define";
import type { ResolvedConfig } from "../config/resolve";
import type { ChatRequest, Protocol } from "../core/types";
import { ADMIN_KEY_HEADER } from "../governance/auth";
import type { Logger } from "../log/logger";
import { usesImages } from "./capabilities";
import type { PlannedCandidate } from "./plan";

// Step four: the user's `routing.route(req, candidates)` — plain TypeScript from the config that
// may filter and reorder. It runs inside try/catch with a timeout: when it throws, times out or
// returns something that is not a list, the error is logged clearly and the default order stands.

export const ROUTE_TIMEOUT_MS = 1000;

/** Request headers `route()` may see: everything but credentials. */
const HIDDEN_HEADERS = new Set(["authorization", "x-api-key", "api-key", "cookie", "proxy-authorization", ADMIN_KEY_HEADER]);

export function routeRequestOf(req: ChatRequest | { model: string; stream?: boolean }, opts: {
  protocol: Protocol;
  client?: string;
  headers: Headers;
  promptTokens: number;
}): RouteRequest {
  const chat = "messages" in req ? req : undefined;
  const headers: Record<string, string> = {};
  opts.headers.forEach((v, k) => {
    if (!HIDDEN_HEADERS.has(k)) headers[k] = v;
  });
  return {
    model: req.model,
    client: opts.client,
    protocol: opts.protocol,
    stream: req.stream ?? false,
    tools: Boolean(chat?.tools?.length),
    images: chat ? usesImages(chat) : false,
    promptTokens: opts.promptTokens,
    maxTokens: chat?.maxTokens,
    headers,
  };
}

function toRouteCandidate(c: PlannedCandidate): RouteCandidate {
  const h = c.health;
  return {
    provider: c.provider.id,
    type: c.provider.type,
    model: c.model,
    free: c.free,
    priority: c.provider.priority,
    health: {
      score: Math.round(h.score * 1000) / 1000,
      latencyMs: Math.round(h.latencyMs ?? 0),
      ttftMs: Math.round(h.ttftMs ?? 0),
      errorRate: Math.round(h.errorRate * 1000) / 1000,
      coolingDown: h.coolingDown,
    },
    cost: { input: c.cost.input, output: c.cost.output, estimateUsd: c.cost.estimateUsd },
    ...(c.capabilities ? { capabilities: { ...c.capabilities } } : {}),
  };
}

export interface UserRouteResult {
  candidates: PlannedCandidate[];
  /** Candidates `route()` left out. */
  dropped: PlannedCandidate[];
  /** Set when `route()` failed and the default order was used. */
  error?: string;
}

export async function applyUserRoute(
  route: NonNullable<ResolvedConfig["routing"]["route"]>,
  req: RouteRequest,
  ordered: PlannedCandidate[],
  log: Logger,
  requestId: string,
  timeoutMs = ROUTE_TIMEOUT_MS,
): Promise<UserRouteResult> {
  const offered = ordered.map(toRouteCandidate);
  let result: unknown;
  try {
    result = route(req, offered);
    if (result && typeof (result as PromiseLike<unknown>).then === "function") result = await withTimeout(result as Promise<unknown>, timeoutMs);
  } catch (e) {
    return fallback(route, `routing.route() threw: ${e instanceof Error ? e.message : String(e)}`, ordered, log, requestId, e);
  }
  if (!Array.isArray(result)) return fallback(route, `routing.route() returned ${result === null ? "null" : typeof result}, not a list of candidates`, ordered, log, requestId);
  // Match what came back to what was offered: the same object, else the same provider and model.
  const picked: PlannedCandidate[] = [];
  for (const r of result as unknown[]) {
    let i = offered.indexOf(r as RouteCandidate);
    if (i < 0 && r && typeof r === "object") {
      const { provider, model } = r as { provider?: unknown; model?: unknown };
      i = offered.findIndex((o) => o.provider === provider && o.model === model);
    }
    if (i < 0) {
      log.warn("routing.route() returned a candidate that was not offered; ignored", { requestId, candidate: describe(r) });
      continue;
    }
    const c = ordered[i]!;
    if (!picked.includes(c)) picked.push(c);
  }
  return { candidates: picked, dropped: ordered.filter((c) => !picked.includes(c)) };
}

/** Failures per `route()` function: a reload evaluates the config again, so a new function is a
 *  new config generation, and its first failure is logged in full again. */
const failures = new WeakMap<object, { count: number; reportedAt: number; reportedCount: number }>();
/** After the first (full) report, a short line with the count at most this often. */
const REPEAT_REPORT_MS = 60_000;

/** How many times this `route()` has failed (its config generation's count). */
export function routeFailures(route: object): number {
  return failures.get(route)?.count ?? 0;
}

function fallback(route: object, error: string, ordered: PlannedCandidate[], log: Logger, requestId: string, cause?: unknown): UserRouteResult {
  const now = Date.now();
  const seen = failures.get(route);
  if (!seen) {
    failures.set(route, { count: 1, reportedAt: now, reportedCount: 1 });
    // The stack once: the same bug fails every request, and a stack per request drowns the log.
    log.error(`${error}; using the default order (logged once for this config; later failures are counted)`, {
      requestId,
      stack: cause instanceof Error ? cause.stack : undefined,
    });
  } else {
    seen.count++;
    if (now - seen.reportedAt >= REPEAT_REPORT_MS) {
      log.warn(`${error}; using the default order`, { requestId, failures: seen.count, since: seen.count - seen.reportedCount });
      seen.reportedAt = now;
      seen.reportedCount = seen.count;
    }
  }
  return { candidates: ordered, dropped: [], error };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
}
