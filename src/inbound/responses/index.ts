import type { Elysia } from "elysia";
import { lmrelayError, toGatewayError } from "../../core/errors";
import { SettledAnswer } from "../../core/fold";
import type { StreamEvent } from "../../core/types";
import type { RequestContext } from "../../core/gateway";
import { readJsonBodyText, jsonResponse, relayHeaders, streamBody } from "../http";
import type { Json } from "../openai/check";
import type { InboundDeps, InboundProtocol, NativeRoutes } from "../types";
import { decodeResponsesRequest, readResponsesBody, referencedIds, type ResponsesBody } from "./decode";
import type { ResponseHead } from "./encode";
import { responsesErrorResponse } from "./errors";
import { unknownId } from "./items";
import { NativeStreamEncoder } from "./native";
import { forwardedBody, newResponseId, storedInput } from "./history";
import { listInputItems } from "./input-items";
import type { ResponseStore } from "./store";
import { buildResponse, ResponsesStreamEncoder } from "./stream";

// The OpenAI Responses API: `POST /v1/responses` served by any upstream (translated through the
// canonical model, or forwarded as it is to one that serves it natively), and the stored responses
// (`GET`/`DELETE /v1/responses/{id}`, `GET …/input_items`), scoped to the calling client.

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };
/** A comment every 15 s of silence: Codex gives up on a stream idle for 300 s, proxies sooner. */
export const KEEP_ALIVE = { ms: 15_000, comment: ": keep-alive\n\n" };
/** A previous_response_id chain longer than this is cut (a loop cannot be built, ids are random). */
const MAX_CHAIN = 10_000;

type Server = Bun.Server<unknown> | null;

function clientOf(ctx: RequestContext): string {
  return ctx.client?.id ?? "";
}

function storeOf(deps: InboundDeps): ResponseStore {
  if (!deps.responses) throw lmrelayError("internal", "the Responses store is not configured");
  return deps.responses;
}

/** Items of the previous response chain, oldest first: each response's input, then its output. */
async function chainItems(store: ResponseStore, client: string, id: string): Promise<Json[]> {
  const first = await store.get(client, id);
  if (!first) throw unknownId("previous response", id, "previous_response_id");
  const links = [first];
  for (let prev = first.previousResponseId; prev && links.length < MAX_CHAIN; ) {
    const r = await store.get(client, prev);
    if (!r) break; // an older link expired: the history starts where the store still has it
    links.push(r);
    prev = r.previousResponseId;
  }
  const items: Json[] = [];
  for (let i = links.length - 1; i >= 0; i--) items.push(...links[i]!.input, ...((links[i]!.response.output as Json[]) ?? []));
  return items;
}

async function relay(request: Request, ctx: RequestContext, deps: InboundDeps): Promise<Response> {
  const { text, json } = await readJsonBodyText(request, deps.maxBodyBytes());
  const b: ResponsesBody = readResponsesBody(json);
  const store = storeOf(deps);
  const client = clientOf(ctx);
  const history = b.previousResponseId ? await chainItems(store, client, b.previousResponseId) : [];
  const refs = new Map<string, Json>();
  for (const id of referencedIds(b)) {
    const item = await store.item(client, id);
    if (item) refs.set(id, item);
  }
  const lookup = (id: string, param: string): Json => {
    const item = refs.get(id);
    if (!item) throw unknownId("item", id, param);
    return item;
  };
  const { req, names, adjusted } = decodeResponsesRequest(b, history, lookup);
  // The body as an upstream serving the Responses API takes it: the history lmrelay keeps inlined.
  req.original = forwardedBody(b, text, history, lookup);
  const head: ResponseHead = { id: newResponseId(), createdAt: Math.floor(ctx.receivedAtMs / 1000), model: b.model, body: b.body };
  const input = b.store ? storedInput(b, lookup) : [];
  const save = b.store
    ? (response: Json) => {
        const id = typeof response.id === "string" ? response.id : head.id;
        store.put({ id, client, createdAt: Date.now(), response, input, ...(b.previousResponseId ? { previousResponseId: b.previousResponseId } : {}) });
      }
    : undefined;

  // Hosted tools and foreign items left out: named (header, audit row) where the answer is translated.
  if (adjusted.length > 0) req.adjusted = adjusted;
  const outcome = await deps.gateway.chat(req, ctx);
  const headers = relayHeaders(ctx.requestId, outcome.headers);
  if (req.stream) {
    const encoder = outcome.raw ? new NativeStreamEncoder(head, save) : new ResponsesStreamEncoder({ head, names, provider: outcome.provider, onFinished: save });
    return new Response(streamBody(outcome.events, encoder, toGatewayError, KEEP_ALIVE), { headers: { ...headers, ...SSE_HEADERS } });
  }
  const events = await collect(outcome.events);
  if (outcome.raw) {
    const raw = events.find((e) => e.type === "raw");
    const body = raw && raw.type === "raw" ? (typeof raw.data === "string" ? raw.data : new TextDecoder().decode(raw.data)) : "{}";
    if (save) {
      try {
        save(JSON.parse(body) as Json);
      } catch {}
    }
    return new Response(body, { headers: { "content-type": "application/json", ...headers } });
  }
  const response = buildResponse(events, { head, names, provider: outcome.provider });
  save?.(response);
  return jsonResponse(response, 200, headers);
}

/** A whole answer's events; an error event or a thrown error becomes a thrown error. */
async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  const take = (ev: StreamEvent) => {
    if (ev.type === "error") throw ev.error;
    out.push(ev);
  };
  if (events instanceof SettledAnswer) for (const ev of events.events) take(ev);
  else for await (const ev of events) take(ev);
  return out;
}

function idFromPath(request: Request): string {
  const parts = new URL(request.url).pathname.split("/");
  // /v1/responses/{id}[/input_items]
  const raw = parts[3] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    throw lmrelayError("invalid_request", `response id ${JSON.stringify(raw)} is not valid percent-encoding`, { param: "response_id" });
  }
}

async function retrieve(request: Request, ctx: RequestContext, deps: InboundDeps): Promise<Response> {
  const id = idFromPath(request);
  const stored = await storeOf(deps).get(clientOf(ctx), id);
  if (!stored) throw unknownId("response", id, "response_id");
  return jsonResponse(stored.response, 200, relayHeaders(ctx.requestId, {}));
}

async function remove(request: Request, ctx: RequestContext, deps: InboundDeps): Promise<Response> {
  const id = idFromPath(request);
  if (!(await storeOf(deps).delete(clientOf(ctx), id))) throw unknownId("response", id, "response_id");
  return jsonResponse({ id, object: "response", deleted: true }, 200, relayHeaders(ctx.requestId, {}));
}

async function inputItems(request: Request, ctx: RequestContext, deps: InboundDeps): Promise<Response> {
  const id = idFromPath(request);
  const stored = await storeOf(deps).get(clientOf(ctx), id);
  if (!stored) throw unknownId("response", id, "response_id");
  return jsonResponse(listInputItems(stored.input, new URL(request.url).searchParams), 200, relayHeaders(ctx.requestId, {}));
}

export const responsesInbound: InboundProtocol = {
  protocol: "responses",
  errorResponse: responsesErrorResponse,
  nativeRoutes(deps: InboundDeps): NativeRoutes {
    return { "/v1/responses": { POST: (request, server) => deps.handle(request, server, "responses", (ctx) => relay(request, ctx, deps)) } };
  },
  register(app: Elysia, deps: InboundDeps): void {
    const { handle } = deps;
    const noParse = { parse: "none" as const };
    app.get("/v1/responses/:id", ({ request, server }) => handle(request, server as Server, "responses", (ctx) => retrieve(request, ctx, deps)));
    app.delete("/v1/responses/:id", ({ request, server }) => handle(request, server as Server, "responses", (ctx) => remove(request, ctx, deps)), noParse);
    app.get("/v1/responses/:id/input_items", ({ request, server }) => handle(request, server as Server, "responses", (ctx) => inputItems(request, ctx, deps)));
  },
};
