import type { Elysia } from "elysia";
import { lmrelayError, toGatewayError } from "../../core/errors";
import type { ChatRequest } from "../../core/types";
import type { RequestContext } from "../../core/gateway";
import { anthropicModel, anthropicModelList } from "../anthropic/models";
import { getGeminiModel, isGoogleClient, listGeminiModels } from "../gemini";
import { foldStream, jsonResponse, readJsonBody, readJsonBodyText, relayHeaders, streamBody } from "../http";
import type { InboundDeps, InboundProtocol, NativeRoutes } from "../types";
import { decodeChatRequest, decodeCompletionRequest } from "./decode";
import { decodeEmbedRequest, encodeEmbeddings } from "./embeddings";
import { type AnswerMeta, encodeChatCompletion, encodeTextCompletion } from "./encode";
import { openaiErrorResponse } from "./errors";
import { modelIdFromPath, openaiModel, openaiModelList } from "./models";
import { keepOriginal, PassthroughStreamEncoder, rawAnswer } from "./raw";
import { ChatStreamEncoder, CompletionStreamEncoder } from "./stream";

// The OpenAI inbound protocol: routes for chat completions, legacy completions, embeddings and
// models. Wire ⇄ canonical work lives in the sibling files; this one only wires HTTP to the gateway.

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

type Server = Bun.Server<unknown> | null;

async function relayChat(request: Request, ctx: RequestContext, deps: InboundDeps, legacy: boolean): Promise<Response> {
  const { text, json: body } = await readJsonBodyText(request, deps.maxBodyBytes());
  const req: ChatRequest = legacy ? decodeCompletionRequest(body) : decodeChatRequest(body);
  if (!legacy) keepOriginal(req, text, body);
  const outcome = await deps.gateway.chat(req, ctx);
  const headers = relayHeaders(ctx.requestId, outcome.headers);
  const meta: AnswerMeta = {
    fallbackId: `${legacy ? "cmpl" : "chatcmpl"}-${ctx.requestId}`,
    fallbackModel: outcome.model,
    created: Math.floor(ctx.receivedAtMs / 1000),
  };
  if (outcome.raw && !req.stream) return new Response(await rawAnswer(outcome.events), { headers: { "content-type": "application/json", ...headers } });
  if (req.stream) {
    const includeUsage = req.includeUsage === true;
    const encoder = outcome.raw
      ? new PassthroughStreamEncoder(meta, includeUsage)
      : legacy ? new CompletionStreamEncoder(meta, includeUsage) : new ChatStreamEncoder(meta, includeUsage);
    return new Response(streamBody(outcome.events, encoder, toGatewayError), { headers: { ...headers, ...SSE_HEADERS } });
  }
  const answer = await foldStream(outcome.events);
  return jsonResponse(legacy ? encodeTextCompletion(answer, meta) : encodeChatCompletion(answer, meta), 200, headers);
}

async function relayEmbeddings(request: Request, ctx: RequestContext, deps: InboundDeps): Promise<Response> {
  const { request: req, format } = decodeEmbedRequest(await readJsonBody(request, deps.maxBodyBytes()));
  const outcome = await deps.gateway.embed(req, ctx);
  return jsonResponse(encodeEmbeddings(outcome.response, format, outcome.model), 200, relayHeaders(ctx.requestId, outcome.headers));
}

/** Anthropic's SDK lists models at the same path; its `anthropic-version` header tells the two apart. */
function wantsAnthropic(request: Request): boolean {
  return request.headers.has("anthropic-version");
}

function listModels(request: Request, ctx: RequestContext, deps: InboundDeps): Response {
  const models = deps.gateway.models(ctx);
  if (wantsAnthropic(request)) return jsonResponse(anthropicModelList(models, new URL(request.url).searchParams));
  return jsonResponse(openaiModelList(models));
}

function getModel(request: Request, ctx: RequestContext, deps: InboundDeps): Response {
  const id = modelIdFromPath(new URL(request.url).pathname);
  const model = deps.gateway.models(ctx).find((m) => m.id === id);
  if (!model) throw lmrelayError("not_found", `model "${id}" does not exist or is not available to this client`, { code: "model_not_found" });
  return jsonResponse(wantsAnthropic(request) ? anthropicModel(model) : openaiModel(model));
}

export const openaiInbound: InboundProtocol = {
  protocol: "openai",
  errorResponse: openaiErrorResponse,
  nativeRoutes(deps: InboundDeps): NativeRoutes {
    const { handle } = deps;
    return {
      "/v1/chat/completions": { POST: (request, server) => handle(request, server, "openai", (ctx) => relayChat(request, ctx, deps, false)) },
      "/v1/completions": { POST: (request, server) => handle(request, server, "openai", (ctx) => relayChat(request, ctx, deps, true)) },
      "/v1/embeddings": { POST: (request, server) => handle(request, server, "openai", (ctx) => relayEmbeddings(request, ctx, deps)) },
    };
  },
  register(app: Elysia, deps: InboundDeps): void {
    const { handle } = deps;
    const noParse = { parse: "none" as const };
    // Google's clients list models at the same path (`@google/genai` defaults to /v1): they get Google's shape.
    app.get("/v1/models", ({ request, server }) =>
      isGoogleClient(request)
        ? handle(request, server as Server, "gemini", (ctx) => listGeminiModels(deps, request, ctx))
        : handle(request, server as Server, wantsAnthropic(request) ? "anthropic" : "openai", (ctx) => listModels(request, ctx, deps)),
    );
    app.get("/v1/models/*", ({ request, server }) =>
      isGoogleClient(request)
        ? handle(request, server as Server, "gemini", (ctx) => getGeminiModel(deps, ctx))
        : handle(request, server as Server, wantsAnthropic(request) ? "anthropic" : "openai", (ctx) => getModel(request, ctx, deps)),
    );
  },
};
