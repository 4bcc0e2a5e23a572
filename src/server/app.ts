import { Elysia } from "elysia";
import type { ResolvedConfig } from "../config/resolve";
import { lmrelayError, toGatewayError } from "../core/errors";
import type { Protocol } from "../core/types";
import { authenticate, type ClientContext, queryKey } from "../governance/auth";
import { startCapture } from "../governance/capture";
import { anthropicInbound } from "../inbound/anthropic";
import { geminiInbound } from "../inbound/gemini";
import { ollamaInbound } from "../inbound/ollama";
import { openaiInbound } from "../inbound/openai";
import { responsesInbound } from "../inbound/responses";
import type { HandleRequest, InboundProtocol, NativeRoutes } from "../inbound/types";
import type { Logger } from "../log/logger";
import { registerAdminRoutes } from "./admin";
import { registerDashboard } from "./dashboard";
import { registerMetricsRoute } from "./metrics";
import type { Runtime } from "./runtime";

// HTTP wiring: one Elysia app, every inbound protocol's routes, and the shared per-request
// handling (request id, auth, idle timeout off for long answers, errors in the caller's shape).

const INBOUND: Record<Protocol, InboundProtocol> = {
  openai: openaiInbound,
  anthropic: anthropicInbound,
  ollama: ollamaInbound,
  gemini: geminiInbound,
  responses: responsesInbound,
};

/** Which protocol's error shape an unrouted request gets. */
export function protocolForPath(path: string, headers: Headers): Protocol {
  if (path.startsWith("/api/") || path === "/api") return "ollama";
  if (path.startsWith("/v1beta/") || path.startsWith("/gemini/") || headers.has("x-goog-api-key") || headers.has("x-goog-api-client")) return "gemini";
  if (path.startsWith("/v1/responses")) return "responses";
  if (path.startsWith("/anthropic/") || path.startsWith("/v1/messages") || headers.has("anthropic-version")) return "anthropic";
  return "openai";
}

/** A route path (`/v1/models/:id`, `/admin/*`) as a regular expression over request paths. */
function routePattern(route: string): RegExp {
  const source = route
    .split("/")
    .map((seg) => (seg === "*" ? ".*" : seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}$`);
}

let idCounter = 0;
const idPrefix = Math.random().toString(36).slice(2, 8);
function newRequestId(): string {
  return `req_${idPrefix}${(idCounter++).toString(36).padStart(6, "0")}`;
}

/** The HTTP app: Bun's router serves the relaying routes directly (the hot path, no framework hooks
 *  per request); Elysia serves the rest and answers what matches nothing. */
export interface HttpApp {
  listen(opts: { hostname: string; port: number; maxRequestBodySize: number; idleTimeout: number }): Bun.Server<unknown>;
  /** One request in process, no sockets (the in-process benchmark). */
  handle(request: Request): Promise<Response>;
}

export function buildApp(runtime: Runtime, log: Logger): HttpApp {
  const handle: HandleRequest = async (request, server, protocol, work, opts) => {
    const config: ResolvedConfig = runtime.config;
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", pathStart);
    const ctx: ClientContext = {
      requestId: request.headers.get("x-request-id") || newRequestId(),
      protocol,
      endpoint: q === -1 ? url.slice(pathStart) : url.slice(pathStart, q),
      headers: request.headers,
      signal: request.signal,
      receivedAt: performance.now(),
      receivedAtMs: Date.now(),
    };
    // LLM answers can be silent for minutes (slow first token); lmrelay enforces its own timeouts.
    server?.timeout(request, 0);
    runtime.inFlight++;
    const capture = config.audit.bodies && opts?.auth !== false ? startCapture(request, ctx, config, runtime.audit) : undefined;
    try {
      if (opts?.auth !== false)
        ctx.client = authenticate(config, request.headers, () => server?.requestIP(request)?.address, protocol === "gemini" && q !== -1 ? queryKey(url.slice(q + 1)) : undefined);
      const res = await work(ctx);
      res.headers.set("x-request-id", ctx.requestId);
      return capture ? await capture.finish(res) : res;
    } catch (e) {
      const err = toGatewayError(e);
      if (err.kind === "internal") log.error("internal error", { requestId: ctx.requestId, error: err.message, stack: (err.cause as Error | undefined)?.stack });
      if (!ctx.audited) runtime.gateway.recordRejected(ctx, err.status, err.message);
      const res = INBOUND[protocol].errorResponse(err, ctx.requestId);
      return capture ? await capture.finish(res) : res;
    } finally {
      runtime.inFlight--;
    }
  };

  const deps = { gateway: runtime.gateway, handle, maxBodyBytes: () => runtime.config.server.maxBodyBytes, responses: runtime.responses };
  const native: NativeRoutes = {};
  for (const inbound of Object.values(INBOUND)) Object.assign(native, inbound.nativeRoutes(deps));
  // Elysia's methods register on the instance itself; statements keep `app` a plain Elysia type.
  // Its listen() merges `serve.routes` into Bun's route table.
  const app = new Elysia({ serve: { routes: native } });
  // Every answer carries x-request-id (SPEC §2): relayed ones set their own (the audit row's id);
  // the rest (health, metrics, admin, dashboard) get one here.
  app.onRequest(({ set }) => {
    set.headers["x-request-id"] = newRequestId();
  });
  app.onError(({ code, request, error }) => {
      const path = new URL(request.url).pathname;
      const protocol = protocolForPath(path, request.headers);
      const allow = code === "NOT_FOUND" ? allowedMethods(path) : [];
      const err =
        allow.length && !allow.includes(request.method)
          ? lmrelayError("invalid_request", `${request.method} is not allowed on ${path}; use ${allow.join(" or ")}`, {
              status: 405,
              code: "method_not_allowed",
              headers: { allow: allow.join(", ") },
            })
          : code === "NOT_FOUND"
          ? lmrelayError("not_found", `no route for ${request.method} ${path}`)
          : code === "PARSE" || code === "VALIDATION"
            ? lmrelayError("invalid_request", String((error as Error)?.message ?? error))
            : toGatewayError(error);
      if (err.kind === "internal") log.error("unhandled error", { path, error: err.message });
      return INBOUND[protocol].errorResponse(err, newRequestId());
    });
  // A path that exists with another method is a 405 naming the methods it takes (RFC 9110 §15.5.6).
  const allowedMethods = (path: string): string[] => {
    const methods = new Set(Object.keys(native[path] ?? {}));
    for (const r of app.routes) {
      if (r.method === "ALL" || !routePattern(r.path).test(path)) continue;
      methods.add(r.method);
    }
    return [...methods].sort();
  };
  app.get("/healthz", () => new Response(JSON.stringify({ status: "ok", inFlight: runtime.inFlight }), { headers: { "content-type": "application/json" } }));
  for (const inbound of Object.values(INBOUND)) inbound.register(app, deps);
  registerMetricsRoute(app, runtime.metrics, () => runtime.config);
  registerAdminRoutes(app, () => runtime, log);
  registerDashboard(app, () => runtime, log);
  return {
    listen(opts) {
      app.listen(opts);
      return app.server!;
    },
    handle(request) {
      const route = nativeRoute(native, new URL(request.url).pathname)?.[request.method as "POST"];
      return route ? route(request, null) : app.handle(request);
    },
  };
}

/** The native route for a path as Bun's router picks it: the exact path, else the longest `/*` prefix. */
function nativeRoute(native: NativeRoutes, path: string): NativeRoutes[string] | undefined {
  if (native[path]) return native[path];
  let best: string | undefined;
  for (const key in native)
    if (key.endsWith("/*") && path.startsWith(key.slice(0, -1)) && (!best || key.length > best.length)) best = key;
  return best ? native[best] : undefined;
}
