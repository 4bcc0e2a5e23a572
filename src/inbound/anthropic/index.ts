import type { Elysia } from "elysia";
import { lmrelayError, toGatewayError } from "../../core/errors";
import { foldStream, jsonResponse, readJsonBody, relayHeaders, streamBody } from "../http";
import type { InboundDeps, InboundProtocol, NativeRoutes } from "../types";
import { decodeMessagesRequest } from "./decode";
import { checkToolInputs, encodeMessage } from "./encode";
import { anthropicErrorResponse } from "./errors";
import { anthropicModel, anthropicModelList } from "./models";
import { AnthropicStreamEncoder } from "./stream";

// Routes of the Anthropic Messages protocol, at the root (`/v1/messages`) and under `/anthropic`.
// `?beta=true` (sent by Claude Code) needs nothing: routes match on the path alone.

type Ctx = { request: Request; server: Bun.Server<unknown> | null };
type Server = Bun.Server<unknown> | null;

const PREFIXES = ["", "/anthropic"] as const;

function messages(deps: InboundDeps, request: Request, server: Server): Promise<Response> {
  return deps.handle(request, server, "anthropic", async (ctx) => {
    const body = await readJsonBody(request, deps.maxBodyBytes());
    const req = decodeMessagesRequest(body, { requireMaxTokens: true, beta: request.headers.get("anthropic-beta") });
    ctx.checkAnswer = checkToolInputs;
    const outcome = await deps.gateway.chat(req, ctx);
    const headers = relayHeaders(ctx.requestId, { ...outcome.headers, "request-id": ctx.requestId });
    if (req.stream) {
      const encoder = new AnthropicStreamEncoder({ model: outcome.model, requestId: ctx.requestId, estimateInputTokens: () => outcome.promptTokens });
      headers["content-type"] = "text/event-stream; charset=utf-8";
      headers["cache-control"] = "no-cache";
      return new Response(streamBody(outcome.events, encoder, toGatewayError), { headers });
    }
    const answer = await foldStream(outcome.events);
    return jsonResponse(encodeMessage(answer, outcome.model), 200, headers);
  });
}

function countTokens(deps: InboundDeps, request: Request, server: Server): Promise<Response> {
  return deps.handle(request, server, "anthropic", async (ctx) => {
    const req = decodeMessagesRequest(await readJsonBody(request, deps.maxBodyBytes()), { requireMaxTokens: false });
    const count = await deps.gateway.countTokens(req, ctx);
    return jsonResponse({ input_tokens: count.tokens }, 200, relayHeaders(ctx.requestId, { ...count.headers, "request-id": ctx.requestId }));
  });
}

function listModels(deps: InboundDeps, { request, server }: Ctx): Promise<Response> {
  return deps.handle(request, server, "anthropic", (ctx) => {
    const query = new URL(request.url).searchParams;
    return jsonResponse(anthropicModelList(deps.gateway.models(ctx), query), 200, relayHeaders(ctx.requestId, {}));
  });
}

function getModel(deps: InboundDeps, { request, server }: Ctx, rawId: string): Promise<Response> {
  return deps.handle(request, server, "anthropic", (ctx) => {
    // Ids like `provider/model` arrive with the slash encoded (`%2F`) by the SDK, or raw.
    let id = rawId;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      throw lmrelayError("invalid_request", `model id ${JSON.stringify(rawId)} is not valid percent-encoding`);
    }
    const model = deps.gateway.models(ctx).find((m) => m.id === id);
    if (!model) throw lmrelayError("not_found", `model ${JSON.stringify(id)} not found`);
    return jsonResponse(anthropicModel(model), 200, relayHeaders(ctx.requestId, {}));
  });
}

export const anthropicInbound: InboundProtocol = {
  protocol: "anthropic",
  errorResponse: anthropicErrorResponse,
  nativeRoutes(deps: InboundDeps): NativeRoutes {
    const routes: NativeRoutes = {};
    for (const prefix of PREFIXES) {
      routes[`${prefix}/v1/messages`] = { POST: (request, server) => messages(deps, request, server) };
      routes[`${prefix}/v1/messages/count_tokens`] = { POST: (request, server) => countTokens(deps, request, server) };
    }
    return routes;
  },
  register(app: Elysia, deps: InboundDeps): void {
    // `GET /v1/models` belongs to the OpenAI module, which answers in this shape when the request
    // carries `anthropic-version`.
    app.get("/anthropic/v1/models", (c) => listModels(deps, c));
    app.get("/anthropic/v1/models/*", (c) => getModel(deps, c, (c.params as Record<string, string>)["*"] ?? ""));
  },
};
