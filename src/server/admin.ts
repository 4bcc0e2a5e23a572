import { eq } from "drizzle-orm";
import type { Elysia } from "elysia";
import type { ResolvedConfig, ResolvedKey, ResolvedProvider } from "../config/resolve";
import { isAdmin } from "../governance/auth";
import type { Governance } from "../governance/governance";
import { PRICES_AS_OF } from "../governance/pricing-table";
import type { HealthEntry } from "../health/entry";
import type { Logger } from "../log/logger";
import type { Catalog } from "../router/catalog";
import type { AuditWriter } from "../store/audit";
import type { Db } from "../store/db";
import { listRequests, parseSince, type RequestFilter } from "../store/queries";
import type { AuditReader } from "../store/reader";
import { requestBodies } from "../store/schema";
import { dayKey, spendBy } from "../store/spend";

// The admin API (SPEC §6), read-only JSON under `/admin/api/`: providers and upstream keys with
// health and cooldowns, clients with their limits in use, recent requests, spend. Authorised by
// the admin key (`Authorization: Bearer` or `x-api-key`); with no admin key configured the API
// does not exist (404). Secrets never appear: keys are shown by name and fingerprint only.

export interface AdminSources {
  config: ResolvedConfig;
  catalog: Catalog;
  db: Db;
  audit: AuditWriter;
  governance: Governance;
  /** Health records (router/health), when the server keeps them. */
  health?: { all(): Iterable<HealthEntry> };
  /** The shared audit store (`storage.postgres`): requests and spend of every node. */
  auditReader?: AuditReader;
}

const JSON_HEADERS = { "content-type": "application/json" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

function adminError(status: number, message: string, code: string): Response {
  const type = status === 401 ? "authentication_error" : status === 404 ? "not_found_error" : "invalid_request_error";
  return json({ error: { message: `lmrelay: ${message}`, type, code } }, status);
}

class BadQuery extends Error {}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Health records grouped as provider → key fingerprint → model, for the views below. */
function healthIndex(src: AdminSources): Map<string, HealthEntry> {
  const index = new Map<string, HealthEntry>();
  if (src.health) for (const e of src.health.all()) index.set(`${e.provider}\0${e.fp}\0${e.model}`, e);
  return index;
}

function healthView(e: HealthEntry | undefined, now: number) {
  if (!e) return undefined;
  const cooling = e.cooldownUntil !== undefined && e.cooldownUntil > now;
  return {
    success: Number(e.success.toFixed(4)),
    rateLimited: Number(e.limited.toFixed(4)),
    latencyMs: e.latencyMs === undefined ? undefined : Math.round(e.latencyMs),
    ttftMs: e.ttftMs === undefined ? undefined : Math.round(e.ttftMs),
    samples: e.samples,
    consecutiveFailures: e.consecutiveFailures,
    disabled: e.disabled,
    cooldown: cooling ? { kind: e.cooldownKind, reason: e.cooldownReason, until: iso(e.cooldownUntil) } : undefined,
    lastStatus: e.lastStatus,
    lastError: e.lastError,
    lastAt: iso(e.lastAt),
  };
}

function keyView(src: AdminSources, index: Map<string, HealthEntry>, provider: ResolvedProvider, key: ResolvedKey | undefined, now: number) {
  const fp = key?.fingerprint ?? "-";
  const models: Record<string, unknown> = {};
  for (const e of index.values()) if (e.provider === provider.id && e.fp === fp && e.model !== "") models[e.model] = healthView(e, now);
  return {
    provider: provider.id,
    name: key?.name ?? "(no key)",
    fingerprint: key?.fingerprint,
    models: key?.models,
    rpm: key?.rpm,
    tpm: key?.tpm,
    weight: key?.weight,
    health: healthView(index.get(`${provider.id}\0${fp}\0`), now),
    byModel: models,
  };
}

function providers(src: AdminSources) {
  const now = Date.now();
  const index = healthIndex(src);
  return [...src.config.providers.values()].map((p) => ({
    id: p.id,
    type: p.type,
    baseUrl: p.baseUrl,
    free: p.free,
    priority: p.priority,
    weight: p.weight,
    // Header values may hold credentials: names only.
    headers: Object.keys(p.headers),
    catalog: p.models ? "configured" : "discovered",
    models: src.catalog.models(p.id),
    discoveryError: src.catalog.discoveryError(p.id),
    health: healthView(index.get(`${p.id}\0\0`), now),
    keys: (p.keys.length ? p.keys : [undefined]).map((k) => keyView(src, index, p, k, now)),
  }));
}

function keys(src: AdminSources) {
  const now = Date.now();
  const index = healthIndex(src);
  return [...src.config.providers.values()].flatMap((p) => (p.keys.length ? p.keys : [undefined]).map((k) => keyView(src, index, p, k, now)));
}

function clients(src: AdminSources) {
  return [...src.config.clients.values()].map((c) => ({
    id: c.id,
    fingerprint: c.fingerprint,
    models: c.models,
    rpm: c.rpm,
    tpm: c.tpm,
    concurrency: c.concurrency,
    budget: c.budget,
    allowNoAuthFrom: c.allowNoAuthFrom,
    usage: src.governance.usage(c),
  }));
}

function filterFrom(q: URLSearchParams): RequestFilter {
  const f: RequestFilter = {};
  for (const k of ["client", "model", "provider", "status", "node"] as const) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  const since = q.get("since");
  if (since) {
    const ms = parseSince(since);
    if (ms === undefined) throw new BadQuery(`since "${since}" is not a duration (30m, 24h, 7d) or a date`);
    f.since = ms;
  }
  const limit = q.get("limit");
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new BadQuery(`limit "${limit}" is not a positive integer`);
    f.limit = Math.min(n, 1000);
  }
  return f;
}

function requestsView(src: AdminSources, q: URLSearchParams) {
  src.audit.flush();
  let filter: RequestFilter;
  try {
    filter = filterFrom(q);
    // Several nodes: every node's rows, from the shared store (this node's arrive within a pass).
    if (src.auditReader) return src.auditReader.listRequests(filter).then((data) => ({ data }));
    return { data: listRequests(src.db, filter) };
  } catch (e) {
    throw e instanceof BadQuery ? e : new BadQuery((e as Error).message);
  }
}

async function requestView(src: AdminSources, requestId: string) {
  src.audit.flush();
  const rows = src.auditReader ? await src.auditReader.listRequests({ requestId, limit: 100 }) : listRequests(src.db, { requestId, limit: 100 });
  if (rows.length === 0) return undefined;
  const bodies = src.db.select().from(requestBodies).where(eq(requestBodies.requestId, requestId)).all();
  return { data: rows, bodies: bodies.map((b) => ({ time: iso(b.ts), request: b.request, response: b.response, truncated: b.truncated })) };
}

const WINDOWS = ["day", "month", "total"] as const;

async function spendView(src: AdminSources, q: URLSearchParams) {
  src.audit.flush();
  const now = Date.now();
  const window = q.get("window") ?? "day";
  if (!(WINDOWS as readonly string[]).includes(window)) throw new BadQuery(`window "${window}" must be day, month or total`);
  const today = dayKey(now);
  const range = window === "day" ? { from: today } : window === "month" ? { from: `${today.slice(0, 7)}-01` } : {};
  const spend = (d: "client" | "provider" | "model") => (src.auditReader ? src.auditReader.spendBy(d, range) : spendBy(src.db, d, range));
  const [byClient, byProvider, byModel] = await Promise.all([spend("client"), spend("provider"), spend("model")]);
  return {
    window,
    from: range.from ?? null,
    pricesAsOf: PRICES_AS_OF,
    totalUsd: byClient.reduce((n, l) => n + l.costUsd, 0),
    byClient,
    byProvider,
    byModel,
    budgets: [...src.config.clients.values()]
      .filter((c) => c.budget)
      .map((c) => ({ client: c.id, ...src.governance.usage(c).budget })),
  };
}

/** Why the admin API and dashboard are off, and what to set: the variable when the config reads one. */
export function adminDisabledReason(config: ResolvedConfig): string {
  return config.adminKeyVariable
    ? `the admin API is disabled: ${config.adminKeyVariable} is not set (admin.key in ${config.file || "the config"} reads it)`
    : "the admin API is disabled: set admin.key in the config";
}

/** Registers `/admin/api/*`. `sources()` is read per request, so a reload is seen at once. */
export function registerAdminRoutes(app: Elysia, sources: () => AdminSources, log: Logger): void {
  const route = (view: (src: AdminSources, request: Request, params: Record<string, string>) => unknown) =>
    async ({ request, params }: { request: Request; params: Record<string, string> }) => {
      const src = sources();
      if (!src.config.adminKey) return adminError(404, adminDisabledReason(src.config), "not_found");
      if (!isAdmin(src.config, request.headers)) {
        log.warn("admin API: request without a valid admin key", { path: new URL(request.url).pathname });
        return adminError(401, "the admin API needs the admin key (Authorization: Bearer or x-api-key)", "invalid_api_key");
      }
      try {
        const body = await view(src, request, params ?? {});
        return body === undefined ? adminError(404, "not found", "not_found") : json(body);
      } catch (e) {
        if (e instanceof BadQuery) return adminError(400, e.message, "invalid_query");
        // A request id with a stray `%` (ids come from clients' x-request-id) cannot be decoded.
        if (e instanceof URIError) return adminError(400, "the request id is not valid percent-encoding", "invalid_query");
        log.error("admin API failed", { error: (e as Error).message });
        return adminError(500, "internal error", "internal_error");
      }
    };
  const query = (request: Request) => new URL(request.url).searchParams;
  app
    .get("/admin/api/providers", route((src) => ({ data: providers(src) })))
    .get("/admin/api/keys", route((src) => ({ data: keys(src) })))
    .get("/admin/api/clients", route((src) => ({ data: clients(src) })))
    .get("/admin/api/requests", route((src, request) => requestsView(src, query(request))))
    .get("/admin/api/requests/:id", route((src, _request, params) => requestView(src, decodeURIComponent(params.id ?? ""))))
    .get("/admin/api/spend", route((src, request) => spendView(src, query(request))))
    .all("/admin/api/*", route(() => undefined));
}
