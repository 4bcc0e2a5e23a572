import type { Elysia } from "elysia";
import { type GatewayError, toGatewayError } from "../../core/errors";
import type { EmbedResponse } from "../../core/types";
import type { RequestContext } from "../../core/gateway";
import { VERSION } from "../../version";
import { foldStream, jsonResponse, readJsonBody, relayHeaders, streamBody } from "../http";
import type { InboundDeps, InboundProtocol, NativeRoutes } from "../types";
import { type DecodedGeneration, decodeChatRequest, decodeGenerateRequest } from "./decode";
import { decodeEmbeddingsRequest, decodeEmbedRequest, embedBody, embeddingsBody } from "./embed";
import { type AnswerShape, answerBody, checkToolArguments, loadBody, OllamaStreamEncoder } from "./encode";
import { decodeShowRequest, findModel, RecentModels, requireModel, showBody, tagsBody } from "./meta";
import { AnswerTimer, type Clock, systemClock, timed } from "./timing";

// The Ollama native API on lmrelay's port: `/api/chat` and `/api/generate` (NDJSON streams by
// default), embeddings, and the model-listing endpoints Ollama clients probe before they chat.

/** Ollama's error shape: `{"error":"…"}` with the status. */
export function ollamaErrorResponse(err: GatewayError, requestId: string): Response {
  const headers: Record<string, string> = { ...err.headers, "x-request-id": requestId };
  if (err.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(0, Math.ceil(err.retryAfterMs / 1000)));
  // Anthropic's 529 "overloaded" is not an HTTP status Ollama clients know.
  return jsonResponse({ error: err.message }, err.status === 529 ? 503 : err.status, headers);
}

const NDJSON = "application/x-ndjson";
const RUNNING = "Ollama is running";

class OllamaRoutes {
  /** Backs `/api/ps`: per server, so two gateways in one process do not share it. */
  private readonly recent = new RecentModels();

  constructor(
    private readonly deps: InboundDeps,
    private readonly clock: Clock,
  ) {}

  async generate(request: Request, ctx: RequestContext, shape: AnswerShape): Promise<Response> {
    const raw = await readJsonBody(request, this.deps.maxBodyBytes());
    const decoded: DecodedGeneration = shape === "chat" ? decodeChatRequest(raw) : decodeGenerateRequest(raw);
    if (decoded.kind === "load") {
      requireModel(this.deps.gateway.models(ctx), decoded.model);
      if (decoded.unload) this.recent.forget(decoded.model);
      else this.recent.touch(decoded.model);
      return jsonResponse(loadBody(decoded.model, shape, decoded.unload, this.clock), 200, relayHeaders(ctx.requestId, {}));
    }
    const req = decoded.request;
    const timer = new AnswerTimer(ctx.receivedAt, this.clock);
    ctx.checkAnswer = checkToolArguments;
    const outcome = await this.deps.gateway.chat(req, ctx);
    timer.answered();
    this.recent.touch(req.model);
    const opts = { model: req.model, shape, timer, clock: this.clock };
    const headers = relayHeaders(ctx.requestId, outcome.headers);
    if (req.stream) {
      const body = streamBody(outcome.events, new OllamaStreamEncoder(opts), toGatewayError);
      return new Response(body, { headers: { "content-type": NDJSON, ...headers } });
    }
    const answer = await foldStream(timed(outcome.events, timer));
    return jsonResponse(answerBody(answer, opts), 200, headers);
  }

  async embed(request: Request, ctx: RequestContext, legacy: boolean): Promise<Response> {
    const raw = await readJsonBody(request, this.deps.maxBodyBytes());
    const req = legacy ? decodeEmbeddingsRequest(raw) : decodeEmbedRequest(raw);
    let headers: Record<string, string> = {};
    let response: EmbedResponse | undefined;
    if (req.input.length === 0) requireModel(this.deps.gateway.models(ctx), req.model);
    else {
      const outcome = await this.deps.gateway.embed(req, ctx);
      response = outcome.response;
      headers = outcome.headers;
    }
    this.recent.touch(req.model);
    const body = legacy ? embeddingsBody(response) : embedBody(req.model, response, this.clock.now() - ctx.receivedAt);
    return jsonResponse(body, 200, relayHeaders(ctx.requestId, headers));
  }

  async show(request: Request, ctx: RequestContext): Promise<Response> {
    const name = decodeShowRequest(await readJsonBody(request, this.deps.maxBodyBytes()));
    return jsonResponse(showBody(requireModel(this.deps.gateway.models(ctx), name)), 200, relayHeaders(ctx.requestId, {}));
  }

  tags(ctx: RequestContext): Response {
    return jsonResponse(tagsBody(this.deps.gateway.models(ctx)), 200, relayHeaders(ctx.requestId, {}));
  }

  ps(ctx: RequestContext): Response {
    // Only what this client may use (and what is still routable after a config reload).
    const models = this.deps.gateway.models(ctx);
    return jsonResponse(this.recent.psBody((name) => findModel(models, name) !== undefined), 200, relayHeaders(ctx.requestId, {}));
  }
}

/** One set of routes per server: the native and the Elysia routes share `/api/ps`'s recent models. */
const perServer = new WeakMap<InboundDeps, OllamaRoutes>();
function routesFor(deps: InboundDeps): OllamaRoutes {
  let routes = perServer.get(deps);
  if (!routes) perServer.set(deps, (routes = new OllamaRoutes(deps, systemClock)));
  return routes;
}

function registerOllamaRoutes(app: Elysia, deps: InboundDeps): void {
  const routes = routesFor(deps);
  const { handle } = deps;
  const post = { parse: "none" } as const;
  // Liveness and version carry nothing private: Ollama clients probe them before sending any key.
  const open = { auth: false } as const;
  const text = { "content-type": "text/plain; charset=utf-8" };
  app
    .get("/", ({ request, server }) => handle(request, server, "ollama", () => new Response(RUNNING, { headers: text }), open))
    .head("/", ({ request, server }) => handle(request, server, "ollama", () => new Response(null, { headers: text }), open))
    .get("/api/version", ({ request, server }) => handle(request, server, "ollama", () => jsonResponse({ version: VERSION }), open))
    .get("/api/tags", ({ request, server }) => handle(request, server, "ollama", (ctx) => routes.tags(ctx)))
    .get("/api/ps", ({ request, server }) => handle(request, server, "ollama", (ctx) => routes.ps(ctx)))
    .post("/api/show", ({ request, server }) => handle(request, server, "ollama", (ctx) => routes.show(request, ctx)), post);
}

function ollamaNativeRoutes(deps: InboundDeps): NativeRoutes {
  const routes = routesFor(deps);
  const { handle } = deps;
  return {
    "/api/chat": { POST: (request, server) => handle(request, server, "ollama", (ctx) => routes.generate(request, ctx, "chat")) },
    "/api/generate": { POST: (request, server) => handle(request, server, "ollama", (ctx) => routes.generate(request, ctx, "generate")) },
    "/api/embed": { POST: (request, server) => handle(request, server, "ollama", (ctx) => routes.embed(request, ctx, false)) },
    "/api/embeddings": { POST: (request, server) => handle(request, server, "ollama", (ctx) => routes.embed(request, ctx, true)) },
  };
}

export const ollamaInbound: InboundProtocol = {
  protocol: "ollama",
  errorResponse: ollamaErrorResponse,
  nativeRoutes: ollamaNativeRoutes,
  register: registerOllamaRoutes,
};
