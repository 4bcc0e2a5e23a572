import { GatewayError } from "../../core/errors";
import type { ChatRequest, EmbedRequest, EmbedResponse, StreamEvent } from "../../core/types";
import type { ResolvedKey, ResolvedProvider } from "../../config/resolve";
import { type UpstreamEndpoint, endpointOf, postJson, readJson, sendUpstream, upstreamError } from "../http";
import { fetchImageAsBase64 } from "../images";
import type { ChatReply, ListedModel, ModelCapabilities, UpstreamAdapter, UpstreamCall } from "../types";
import { OllamaChatDecoder, decodeOllamaStream } from "./decode";
import { collectImageUrls, encodeOllamaChat } from "./encode";
import { fitOllamaBody, ollamaRulesFor } from "./rules";

// The Ollama `/api/*` upstream: a local Ollama (no auth) or a remote/hosted one (Bearer key).

export { OllamaChatDecoder, decodeOllamaStream, syntheticToolCallId } from "./decode";
export { collectImageUrls, encodeOllamaChat, thinkFor } from "./encode";

export const ollamaAdapter: UpstreamAdapter = {
  type: "ollama",

  async chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> {
    const ep = endpointOf(call);
    const { provider, key, model } = call.target;
    const urls = collectImageUrls(req);
    const downloaded = urls.length ? await downloadImages(urls, call) : undefined;
    const body = encodeOllamaChat(req, model, downloaded);
    const adjusted = fitOllamaBody(body, req.reasoning, ollamaRulesFor(provider, model));
    const extra = adjusted.length ? { adjusted } : {};
    const headers = requestHeaders(provider, key);
    if (req.stream) headers.accept = "application/x-ndjson";
    const res = await sendChat(ep, `${provider.baseUrl}/api/chat`, headers, body);
    if (req.stream) return { events: decodeOllamaStream(ep, res, model), headers: res.headers, ...extra };
    const decoder = new OllamaChatDecoder(ep, model);
    const events = decoder.push(await readJson(ep, res));
    decoder.end();
    return { events: replay(events), headers: res.headers, ...extra };
  },

  async embed(req: EmbedRequest, call: UpstreamCall): Promise<EmbedResponse> {
    const ep = endpointOf(call);
    const { provider, key, model } = call.target;
    const body: Record<string, unknown> = { model, input: req.input };
    if (req.dimensions !== undefined) body.dimensions = req.dimensions;
    if (req.truncate !== undefined) body.truncate = req.truncate;
    const res = await postJson(ep, `${provider.baseUrl}/api/embed`, requestHeaders(provider, key), body);
    const json = await readJson(ep, res);
    if (json?.error !== undefined) throw upstreamError(ep, "upstream_error", String(json.error?.message ?? json.error));
    const vectors = json?.embeddings;
    if (!Array.isArray(vectors) || vectors.length !== req.input.length || !vectors.every(Array.isArray))
      throw upstreamError(ep, "upstream_error", `expected ${req.input.length} embeddings in the answer`, { code: "bad_response" });
    return { model, vectors, usage: { inputTokens: typeof json.prompt_eval_count === "number" ? json.prompt_eval_count : 0 } };
  },

  async listModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]> {
    return (await listOllamaModels(provider, key, signal)).map((m) => m.id);
  },

  listModelDetails: listOllamaModels,
};

async function listOllamaModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<ListedModel[]> {
  const ep: UpstreamEndpoint = { providerId: provider.id, secret: key?.secret, signal };
  const headers = requestHeaders(provider, key);
  headers.accept = "application/json";
  const json = await readJson(ep, await sendUpstream(ep, `${provider.baseUrl}/api/tags`, { headers }));
  if (!Array.isArray(json?.models))
    throw upstreamError(ep, "upstream_error", "the model list (/api/tags) has no models array", { code: "bad_response" });
  const models: ListedModel[] = [];
  for (const m of json.models) {
    const name = m?.name ?? m?.model;
    if (typeof name === "string" && name) models.push({ id: name, capabilities: ollamaCapabilities(m.capabilities) });
  }
  return models;
}

/** Newer servers list what each model can do (`["completion","tools","vision"]`), as `/api/show`
 *  does; the list is the server's own check, so a capability it leaves out is known missing. */
export function ollamaCapabilities(list: unknown): ModelCapabilities | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return {
    tools: list.includes("tools"),
    images: list.includes("vision"),
    embeddings: list.includes("embedding"),
    thinking: list.includes("thinking"),
  };
}

/**
 * Whether a requested model name is an available one. Ollama reads a name without a tag as
 * `:latest` (`llama3.2` is `llama3.2:latest`) and compares names case-insensitively. The tag is
 * after the last `/`, so a registry host with a port (`host:5000/model`) is not a tag.
 */
export function ollamaModelMatches(requested: string, available: string): boolean {
  return withTag(requested) === withTag(available);
}

function withTag(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.slice(lower.lastIndexOf("/") + 1).includes(":") ? lower : `${lower}:latest`;
}

function requestHeaders(provider: ResolvedProvider, key: ResolvedKey | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(provider.headers)) {
    // The key of this attempt wins over a provider-wide Authorization header.
    if (key && name.toLowerCase() === "authorization") continue;
    headers[name] = value;
  }
  if (key) headers.authorization = `Bearer ${key.secret}`;
  return headers;
}

/**
 * Posts a chat request. Ollama refuses `think` on models that cannot think, and older servers
 * refuse a think level on models other than gpt-oss; in both cases the answer without (or with a
 * plain) `think` is what the client would want, so the request is sent once more adjusted.
 */
async function sendChat(ep: UpstreamEndpoint, url: string, headers: Record<string, string>, body: Record<string, unknown>): Promise<Response> {
  try {
    return await postJson(ep, url, headers, body);
  } catch (err) {
    if (!(err instanceof GatewayError) || err.status !== 400 || body.think === undefined) throw err;
    if (/does not support thinking/i.test(err.message)) {
      const { think: _, ...rest } = body;
      return postJson(ep, url, headers, rest);
    }
    if (typeof body.think === "string" && /think value .* is not supported/i.test(err.message))
      return postJson(ep, url, headers, { ...body, think: true });
    throw err;
  }
}

/** Downloads every image URL at once: Ollama only takes inline base64. */
async function downloadImages(urls: string[], call: UpstreamCall): Promise<Map<string, string>> {
  const rules = { ...call.target.provider.images, signal: call.signal };
  const images = await Promise.all(urls.map((url) => fetchImageAsBase64(url, rules)));
  return new Map(urls.map((url, i) => [url, images[i]!.data]));
}

async function* replay(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}
