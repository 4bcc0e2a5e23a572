import { responseToEvents } from "../../core/fold";
import type { ChatRequest, EmbedRequest, EmbedResponse } from "../../core/types";
import type { ResolvedKey, ResolvedProvider } from "../../config/resolve";
import { bodyChunks, type ErrorClassifier, endpointOf, postJson, readJson, sendUpstream, type UpstreamEndpoint, upstreamError } from "../http";
import type { ChatReply, UpstreamAdapter, UpstreamCall } from "../types";
import { decodeCohereResponse, decodeCohereStream, mapUsage } from "./decode";
import { encodeCohereChat } from "./encode";
import { cohereRulesFor, fitCohereBody } from "./rules";

// The native Cohere v2 adapter: `/v2/chat` (JSON or SSE), `/v2/embed`, and `/v1/models`
// (Cohere still lists models under v1). Auth is `Authorization: Bearer <key>`.

/** Cohere's embed endpoint takes at most 96 texts a call. */
const EMBED_BATCH = 96;
/** Bounds the model-list pagination loop. */
const MAX_MODEL_PAGES = 20;

/** Cohere-specific statuses: 498 is its "invalid token", 499 a request it cancelled. */
const classifyCohereError: ErrorClassifier = (status, info) => {
  if (status === 498) return { kind: "authentication", code: "invalid_token" };
  if (status === 499) return { kind: "upstream_error" };
  if (status === 429 && /trial key/i.test(info.message ?? "")) return { code: "trial_key_limit" };
  return undefined;
};

function headersFor(provider: ResolvedProvider, key: ResolvedKey | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key.secret}`, ...provider.headers } : { ...provider.headers };
}

async function chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> {
  const { provider, key, model } = call.target;
  const ep = endpointOf(call);
  const body = encodeCohereChat(req, model, provider.id);
  const adjusted = fitCohereBody(body, cohereRulesFor(provider, model));
  const extra = adjusted.length ? { adjusted } : {};
  const headers = headersFor(provider, key);
  if (req.stream) headers.accept = "text/event-stream";
  const res = await postJson(ep, `${provider.baseUrl}/v2/chat`, headers, body, classifyCohereError);
  const ctx = { providerId: provider.id, secret: key?.secret, model };
  if (req.stream) return { events: decodeCohereStream(ctx, bodyChunks(ep, res)), headers: res.headers, ...extra };
  // ERROR/TIMEOUT finishes throw here, before the answer began, so the router can fail over.
  const json = await readJson(ep, res);
  const events = responseToEvents(decodeCohereResponse(ctx, json));
  // An answer without usage must not read as zero tokens: left out, lmrelay estimates and flags it.
  return { events: toAsync(mapUsage(json?.usage) ? events : events.filter((e) => e.type !== "usage")), headers: res.headers, ...extra };
}

async function* toAsync<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function embedBatch(ep: UpstreamEndpoint, req: EmbedRequest, call: UpstreamCall, texts: string[]) {
  const { provider, key, model } = call.target;
  const body: Record<string, unknown> = { model, texts, input_type: "search_document", embedding_types: ["float"] };
  if (req.dimensions !== undefined) body.output_dimension = req.dimensions;
  if (req.truncate !== undefined) body.truncate = req.truncate ? "END" : "NONE";
  const res = await postJson(ep, `${provider.baseUrl}/v2/embed`, headersFor(provider, key), body, classifyCohereError);
  const json = await readJson(ep, res);
  const vectors = json?.embeddings?.float;
  if (!Array.isArray(vectors) || vectors.length !== texts.length)
    throw upstreamError(ep, "upstream_error", `answered ${Array.isArray(vectors) ? vectors.length : "no"} float embeddings for ${texts.length} texts`, {
      code: "bad_response",
    });
  const tokens = json?.meta?.billed_units?.input_tokens;
  return { vectors: vectors as number[][], tokens: typeof tokens === "number" ? tokens : 0 };
}

async function embed(req: EmbedRequest, call: UpstreamCall): Promise<EmbedResponse> {
  const ep = endpointOf(call);
  const vectors: number[][] = [];
  let inputTokens = 0;
  for (let i = 0; i < req.input.length; i += EMBED_BATCH) {
    const batch = await embedBatch(ep, req, call, req.input.slice(i, i + EMBED_BATCH));
    vectors.push(...batch.vectors);
    inputTokens += batch.tokens;
  }
  return { model: call.target.model, vectors, usage: { inputTokens } };
}

/** Chat and embedding models only: rerank and classify models cannot serve lmrelay's endpoints. */
function servesLmrelay(m: { endpoints?: unknown }): boolean {
  if (!Array.isArray(m.endpoints)) return true;
  return m.endpoints.includes("chat") || m.endpoints.includes("embed");
}

async function listModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]> {
  const ep = { providerId: provider.id, secret: key?.secret, signal };
  const names: string[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_MODEL_PAGES; page++) {
    const url = new URL(`${provider.baseUrl}/v1/models`);
    url.searchParams.set("page_size", "1000");
    if (pageToken) url.searchParams.set("page_token", pageToken);
    const res = await sendUpstream(ep, url.toString(), {
      headers: { accept: "application/json", ...headersFor(provider, key) },
      classify: classifyCohereError,
    });
    const json = await readJson(ep, res);
    if (!Array.isArray(json?.models)) throw upstreamError(ep, "upstream_error", "answered a model list without `models`", { code: "bad_response" });
    for (const m of json.models) if (typeof m?.name === "string" && servesLmrelay(m)) names.push(m.name);
    pageToken = typeof json.next_page_token === "string" && json.next_page_token ? json.next_page_token : undefined;
    if (!pageToken) break;
  }
  return names;
}

export const cohereAdapter: UpstreamAdapter = { type: "cohere", chat, embed, listModels };
