import type { Elysia } from "elysia";
import { lmrelayError, toGatewayError } from "../../core/errors";
import type { RequestContext } from "../../core/gateway";
import { foldStream, jsonResponse, readJsonBody, readJsonBodyText, relayHeaders, streamBody } from "../http";
import type { InboundDeps, InboundProtocol, NativeHandler, NativeRoutes } from "../types";
import { invalid, isObject, typeName } from "../anthropic/fields";
import { decodeGenerateContent } from "./decode";
import { decodeBatchEmbedContents, decodeEmbedContent, encodeBatchEmbedContents, encodeEmbedContent } from "./embed";
import { checkFunctionArgs, encodeGenerateContent } from "./encode";
import { geminiErrorResponse } from "./errors";
import { geminiModel, geminiModelList, modelName } from "./models";
import { GeminiStreamEncoder } from "./stream";

// Routes of the Gemini API: `POST …/models/{model}:{method}` under `/v1beta` and `/v1`, the model
// list and lookup, all also under the prefix `/gemini`. `{model}` is everything between `models/`
// and the last `:`, slashes included (aliases, `provider/model`), so the relaying routes are one
// wildcard per prefix that parses the method itself.

type Server = Bun.Server<unknown> | null;
type Ctx = { request: Request; server: unknown };

const PREFIXES = ["", "/gemini"] as const;
const VERSIONS = ["v1beta", "v1"] as const;

/** `{model}` and `{method}` of a `…/models/{model}:{method}` path. */
export function parseModelPath(pathname: string): { model: string; method: string } | undefined {
  const at = pathname.indexOf("/models/");
  if (at === -1) return undefined;
  const rest = pathname.slice(at + "/models/".length);
  const colon = rest.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let model = rest.slice(0, colon);
  try {
    model = decodeURIComponent(model);
  } catch {
    throw lmrelayError("invalid_request", `model ${JSON.stringify(model)} is not valid percent-encoding`);
  }
  return { model: modelName(model), method: rest.slice(colon + 1) };
}

async function generate(deps: InboundDeps, request: Request, ctx: RequestContext, model: string, stream: boolean): Promise<Response> {
  const { text, json: body } = await readJsonBodyText(request, deps.maxBodyBytes());
  const { req, includeThoughts } = decodeGenerateContent(body, model, stream);
  // A Gemini upstream that can take the client's body as it is (`UpstreamAdapter.forward`) keeps
  // what the canonical model has no place for. The answer is encoded from the canonical events
  // either way (raw events are skipped), so the framing the client asked for always holds.
  req.original = { protocol: "gemini", text, body: body as Record<string, unknown> };
  ctx.checkAnswer = checkFunctionArgs;
  const outcome = await deps.gateway.chat(req, ctx);
  const headers = relayHeaders(ctx.requestId, outcome.headers);
  const meta = { model: outcome.model, id: ctx.requestId, includeThoughts };
  if (!stream) return jsonResponse(encodeGenerateContent(await foldStream(outcome.events), meta), 200, headers);
  const sse = new URL(request.url).searchParams.get("alt") === "sse";
  const encoder = new GeminiStreamEncoder(meta, sse ? "sse" : "array");
  headers["content-type"] = sse ? "text/event-stream" : "application/json; charset=UTF-8";
  headers["cache-control"] = "no-cache";
  return new Response(streamBody(outcome.events, encoder, toGatewayError), { headers });
}

/** `{contents, …}` or `{generateContentRequest: {…}}`, as the API takes either. */
async function countTokens(deps: InboundDeps, request: Request, ctx: RequestContext, model: string): Promise<Response> {
  const body = await readJsonBody(request, deps.maxBodyBytes());
  if (!isObject(body)) throw invalid("", `request body must be a JSON object, got ${typeName(body)}`);
  const inner = body.generateContentRequest ?? body;
  const { req } = decodeGenerateContent(inner, model, false);
  const count = await deps.gateway.countTokens(req, ctx);
  return jsonResponse({ totalTokens: count.tokens }, 200, relayHeaders(ctx.requestId, count.headers));
}

async function embed(deps: InboundDeps, request: Request, ctx: RequestContext, model: string, batch: boolean): Promise<Response> {
  const body = await readJsonBody(request, deps.maxBodyBytes());
  const req = batch ? decodeBatchEmbedContents(body, model) : decodeEmbedContent(body, model);
  const outcome = await deps.gateway.embed(req, ctx);
  const answer = batch ? encodeBatchEmbedContents(outcome.response) : encodeEmbedContent(outcome.response);
  return jsonResponse(answer, 200, relayHeaders(ctx.requestId, outcome.headers));
}

function relay(deps: InboundDeps): NativeHandler {
  return (request, server) =>
    deps.handle(request, server, "gemini", (ctx) => {
      const target = parseModelPath(ctx.endpoint);
      if (!target) throw lmrelayError("not_found", `no route for POST ${ctx.endpoint}; expected …/models/{model}:{method}`);
      const { model, method } = target;
      switch (method) {
        case "generateContent":
          return generate(deps, request, ctx, model, false);
        case "streamGenerateContent":
          return generate(deps, request, ctx, model, true);
        case "countTokens":
          return countTokens(deps, request, ctx, model);
        case "embedContent":
          return embed(deps, request, ctx, model, false);
        case "batchEmbedContents":
          return embed(deps, request, ctx, model, true);
        default:
          throw lmrelayError("not_found", `method ${JSON.stringify(method)} is not supported; lmrelay serves generateContent, streamGenerateContent, countTokens, embedContent and batchEmbedContents`);
      }
    });
}

/** `GET …/models`. */
export function listGeminiModels(deps: InboundDeps, request: Request, ctx: RequestContext): Response {
  return jsonResponse(geminiModelList(deps.gateway.models(ctx), new URL(request.url).searchParams), 200, relayHeaders(ctx.requestId, {}));
}

/** `GET …/models/{name}`: the name may hold slashes and arrive percent-encoded. */
export function getGeminiModel(deps: InboundDeps, ctx: RequestContext): Response {
  const at = ctx.endpoint.indexOf("/models/");
  let raw = ctx.endpoint.slice(at + "/models/".length);
  try {
    raw = decodeURIComponent(raw);
  } catch {
    throw lmrelayError("invalid_request", `model ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
  const name = modelName(raw);
  const model = deps.gateway.models(ctx).find((m) => m.id === name);
  if (!model) throw lmrelayError("not_found", `model ${JSON.stringify(`models/${name}`)} is not found or not available to this client`);
  return jsonResponse(geminiModel(model), 200, relayHeaders(ctx.requestId, {}));
}

/** Whether a request comes from a Google client (SPEC §2): those share `GET /v1/models` with OpenAI's. */
export function isGoogleClient(request: Request): boolean {
  const h = request.headers;
  if (h.has("x-goog-api-key") || h.has("x-goog-api-client")) return true;
  const q = request.url.indexOf("?");
  return q !== -1 && new URLSearchParams(request.url.slice(q + 1)).has("key");
}

export const geminiInbound: InboundProtocol = {
  protocol: "gemini",
  errorResponse: geminiErrorResponse,
  nativeRoutes(deps: InboundDeps): NativeRoutes {
    const routes: NativeRoutes = {};
    const handler = relay(deps);
    for (const prefix of PREFIXES) for (const version of VERSIONS) routes[`${prefix}/${version}/models/*`] = { POST: handler };
    return routes;
  },
  register(app: Elysia, deps: InboundDeps): void {
    const list = ({ request, server }: Ctx) => deps.handle(request, server as Server, "gemini", (ctx) => listGeminiModels(deps, request, ctx));
    const get = ({ request, server }: Ctx) => deps.handle(request, server as Server, "gemini", (ctx) => getGeminiModel(deps, ctx));
    // `GET /v1/models[/…]` belongs to the OpenAI module, which answers in this shape for Google clients.
    for (const path of ["/v1beta/models", "/gemini/v1beta/models", "/gemini/v1/models"]) {
      app.get(path, list);
      app.get(`${path}/*`, get);
    }
  },
};
