import { estimateTextTokens } from "../../core/tokens";
import type { ChatRequest, EmbedRequest, EmbedResponse, StreamEvent } from "../../core/types";
import type { ResolvedKey, ResolvedProvider } from "../../config/resolve";
import { bodyChunks, endpointOf, postJson, readJson, sendUpstream, type UpstreamEndpoint, upstreamError, urlSegment } from "../http";
import { fetchImageAsBase64, type InlineImage } from "../images";
import type { ChatReply, ListedModel, ModelCapabilities, UpstreamAdapter, UpstreamCall } from "../types";
import { decodeGeminiResponse, decodeGeminiStream } from "./decode";
import { encodeGeminiRequest, imageUrlsToInline } from "./encode";
import { classifyGeminiError } from "./errors";
import { geminiRulesFor } from "./rules";
import { thoughtSignatures } from "./signatures";

// The native Gemini API adapter (v1beta): generateContent / streamGenerateContent?alt=sse,
// embedContent / batchEmbedContents, and the model list. Auth is the `x-goog-api-key` header.

/** batchEmbedContents takes at most 100 requests a call. */
const EMBED_BATCH = 100;
/** Bounds the model-list pagination loop. */
const MAX_MODEL_PAGES = 20;

function headersFor(provider: ResolvedProvider, key: ResolvedKey | undefined): Record<string, string> {
  return key ? { "x-goog-api-key": key.secret, ...provider.headers } : { ...provider.headers };
}

/** `gemini-2.5-flash` → `models/gemini-2.5-flash`; full resource names (`tunedModels/x`) pass as they are. */
function resource(model: string): string {
  const name = model.includes("/") ? model : `models/${model}`;
  return name
    .split("/")
    .map((segment) => urlSegment(segment, "Gemini model name"))
    .join("/");
}

function apiBase(provider: ResolvedProvider): string {
  return `${provider.baseUrl.replace(/\/+$/, "")}/v1beta`;
}

/** Gemini takes no image URLs: download them (in parallel) before encoding. */
async function inlineImages(req: ChatRequest, call: UpstreamCall): Promise<Map<string, InlineImage>> {
  const urls = imageUrlsToInline(req);
  const rules = { ...call.target.provider.images, signal: call.signal };
  const images = await Promise.all(urls.map((url) => fetchImageAsBase64(url, rules)));
  return new Map(urls.map((url, i) => [url, images[i]!]));
}

async function* fromArray(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}

async function chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> {
  const { provider, key, model } = call.target;
  const ep = endpointOf(call);
  const inlined = await inlineImages(req, call);
  const rules = geminiRulesFor(provider, model);
  const { body, names, adjusted } = encodeGeminiRequest(req, { inlined, signatureFor: (id) => thoughtSignatures.recall(id), rules });
  const headers = headersFor(provider, key);
  const action = req.stream ? "streamGenerateContent?alt=sse" : "generateContent";
  if (req.stream) headers.accept = "text/event-stream";
  const res = await postJson(ep, `${apiBase(provider)}/${resource(model)}:${action}`, headers, body, classifyGeminiError);
  const ctx = { providerId: provider.id, secret: key?.secret, model, names, signatures: thoughtSignatures };
  const extra = adjusted.length ? { adjusted } : {};
  if (req.stream) return { events: decodeGeminiStream(ctx, bodyChunks(ep, res)), headers: res.headers, ...extra };
  // Decoded eagerly so a blocked prompt throws before the answer began.
  return { events: fromArray(decodeGeminiResponse(ctx, await readJson(ep, res))), headers: res.headers, ...extra };
}

/** The upstream's own count of the request's input tokens: `models/{m}:countTokens` with the whole
 *  `generateContentRequest` (so the system instruction and tools count too; Gemini API reference,
 *  models.countTokens). */
async function countTokens(req: ChatRequest, call: UpstreamCall): Promise<number> {
  const { provider, key, model } = call.target;
  const ep = endpointOf(call);
  const inlined = await inlineImages(req, call);
  const { body } = encodeGeminiRequest(req, { inlined, signatureFor: (id) => thoughtSignatures.recall(id) });
  const name = model.includes("/") ? model : `models/${model}`;
  const generateContentRequest: Record<string, unknown> = { model: name, contents: body.contents };
  if (body.systemInstruction) generateContentRequest.systemInstruction = body.systemInstruction;
  if (body.tools) generateContentRequest.tools = body.tools;
  if (body.toolConfig) generateContentRequest.toolConfig = body.toolConfig;
  const res = await postJson(ep, `${apiBase(provider)}/${resource(model)}:countTokens`, headersFor(provider, key), { generateContentRequest }, classifyGeminiError);
  const tokens = (await readJson(ep, res))?.totalTokens;
  // proto3 JSON leaves a zero count out.
  if (tokens === undefined) return 0;
  if (typeof tokens !== "number" || !Number.isFinite(tokens) || tokens < 0)
    throw upstreamError(ep, "upstream_error", "countTokens answer has no totalTokens number", { code: "bad_response" });
  return tokens;
}

function vectorOf(e: unknown): number[] | undefined {
  const values = (e as { values?: unknown } | undefined)?.values;
  return Array.isArray(values) ? (values as number[]) : undefined;
}

async function embedBatch(ep: UpstreamEndpoint, req: EmbedRequest, call: UpstreamCall, texts: string[]): Promise<number[][]> {
  const { provider, key, model } = call.target;
  const url = `${apiBase(provider)}/${resource(model)}`;
  const headers = headersFor(provider, key);
  const request = (text: string) => {
    const r: Record<string, unknown> = { content: { parts: [{ text }] } };
    if (req.dimensions !== undefined) r.outputDimensionality = req.dimensions;
    return r;
  };
  if (texts.length === 1) {
    const res = await postJson(ep, `${url}:embedContent`, headers, request(texts[0]!), classifyGeminiError);
    const vector = vectorOf((await readJson(ep, res))?.embedding);
    if (!vector) throw upstreamError(ep, "upstream_error", "answered an embedding without `embedding.values`", { code: "bad_response" });
    return [vector];
  }
  const modelName = model.includes("/") ? model : `models/${model}`;
  const body = { requests: texts.map((t) => ({ model: modelName, ...request(t) })) };
  const res = await postJson(ep, `${url}:batchEmbedContents`, headers, body, classifyGeminiError);
  const embeddings = (await readJson(ep, res))?.embeddings;
  const vectors = Array.isArray(embeddings) ? embeddings.map(vectorOf) : [];
  if (vectors.length !== texts.length || vectors.some((v) => !v))
    throw upstreamError(ep, "upstream_error", `answered ${vectors.length} embeddings for ${texts.length} texts`, { code: "bad_response" });
  return vectors as number[][];
}

async function embed(req: EmbedRequest, call: UpstreamCall): Promise<EmbedResponse> {
  const ep = endpointOf(call);
  const vectors: number[][] = [];
  for (let i = 0; i < req.input.length; i += EMBED_BATCH) vectors.push(...(await embedBatch(ep, req, call, req.input.slice(i, i + EMBED_BATCH))));
  // Gemini reports no token counts for embeddings.
  const inputTokens = req.input.reduce((n, s) => n + estimateTextTokens(s), 0);
  return { model: call.target.model, vectors, usage: { inputTokens } };
}

/** Chat and embedding models only (not Imagen, Veo, AQA…). */
function servesLmrelay(m: { supportedGenerationMethods?: unknown }): boolean {
  const methods = m.supportedGenerationMethods;
  if (!Array.isArray(methods)) return true;
  return methods.includes("generateContent") || methods.includes("embedContent");
}

/** What a model-list entry says: embeddings from `supportedGenerationMethods`, thinking from `thinking`. */
export function geminiCapabilities(m: { supportedGenerationMethods?: unknown; thinking?: unknown }): ModelCapabilities | undefined {
  const methods = m.supportedGenerationMethods;
  const caps: ModelCapabilities = {};
  if (Array.isArray(methods)) caps.embeddings = methods.includes("embedContent");
  if (typeof m.thinking === "boolean") caps.thinking = m.thinking;
  return Object.keys(caps).length ? caps : undefined;
}

async function listModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]> {
  return (await listModelDetails(provider, key, signal)).map((m) => m.id);
}

async function listModelDetails(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<ListedModel[]> {
  const ep = { providerId: provider.id, secret: key?.secret, signal };
  const models: ListedModel[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_MODEL_PAGES; page++) {
    const url = new URL(`${apiBase(provider)}/models`);
    url.searchParams.set("pageSize", "1000");
    if (pageToken) url.searchParams.set("pageToken", pageToken);
    const res = await sendUpstream(ep, url.toString(), {
      headers: { accept: "application/json", ...headersFor(provider, key) },
      classify: classifyGeminiError,
    });
    const json = await readJson(ep, res);
    if (!Array.isArray(json?.models)) throw upstreamError(ep, "upstream_error", "answered a model list without `models`", { code: "bad_response" });
    for (const m of json.models)
      if (typeof m?.name === "string" && servesLmrelay(m))
        models.push({ id: m.name.startsWith("models/") ? m.name.slice(7) : m.name, capabilities: geminiCapabilities(m) });
    pageToken = typeof json.nextPageToken === "string" && json.nextPageToken ? json.nextPageToken : undefined;
    if (!pageToken) break;
  }
  return models;
}

export const geminiAdapter: UpstreamAdapter = { type: "gemini", chat, countTokens, embed, listModels, listModelDetails };
