import type { ResolvedKey, ResolvedProvider } from "../../config/resolve";
import type { ChatRequest, EmbedRequest, EmbedResponse, StreamEvent } from "../../core/types";
import { jsonPostHeaders } from "../headers";
import { bodyChunks, endpointOf, postJson, readJson, sendUpstream, type UpstreamEndpoint, upstreamError } from "../http";
import { type OpenAIQuirks, presetFor } from "../presets";
import type { ChatReply, Target, UpstreamAdapter, UpstreamCall } from "../types";
import { decodeChatResponse, decodeChatStream, errorFromPayload } from "./decode";
import { encodeChatRequest } from "./encode";
import { forwardChat } from "./forward";
import { fitOpenAIBody, openaiRulesFor } from "./rules";
import { forwardResponses, type ResponsesRoute } from "./responses-forward";

// The OpenAI wire adapter, parameterised by where the endpoints live and how the key is sent, so
// OpenAI, every OpenAI-compatible preset and Azure share one encoder and one decoder.

export interface OpenAIWireRoutes {
  /** Chat Completions URL and the `model` to put in the body for this target. */
  chat(target: Target): { url: string; model: string };
  embeddings(target: Target): { url: string; model: string };
  /** The Responses API URL and `model` (providers that may serve it natively: openai, azure). */
  responses?(target: Target): ResponsesRoute;
  /** Headers that carry the key. */
  auth(key: ResolvedKey | undefined): Record<string, string>;
  /** A catalog known without asking (Azure: its deployments map); undefined = `GET modelsUrl`. */
  models?(provider: ResolvedProvider): string[] | undefined;
  modelsUrl(provider: ResolvedProvider): string;
}

export function createOpenAIWireAdapter(type: string, routes: OpenAIWireRoutes): UpstreamAdapter {
  const headersFor = (provider: ResolvedProvider, key: ResolvedKey | undefined) => ({ ...routes.auth(key), ...provider.headers });
  const adapter: UpstreamAdapter = {
    type,
    forward(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> | undefined {
      const { responses } = routes;
      if (req.original?.protocol === "responses" && responses)
        return forwardResponses(req, call, responses, headersFor(call.target.provider, call.target.key), (r, c) => adapter.chat(r, c));
      return undefined;
    },
    async chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> {
      const ep = endpointOf(call);
      const { provider, key } = call.target;
      const { url, model } = routes.chat(call.target);
      const { body, toolIds } = encodeChatRequest(req, model, quirksOf(provider));
      const adjusted = fitOpenAIBody(body, openaiRulesFor(provider, call.target.model), req.reasoning);
      // OpenAI has no top_k (servers that read one set the `topK` quirk and keep it).
      if (req.topK !== undefined && body.top_k === undefined) adjusted.unshift("top_k dropped (not an OpenAI parameter)");
      const headers = jsonPostHeaders(provider, key, req.stream ? "text/event-stream" : "application/json", routes.auth, type);
      const res = await sendUpstream(ep, url, { method: "POST", headers, body: JSON.stringify(body) });
      const ctx = { ep, toolIds };
      // A server may ignore `stream: true` and answer in one JSON piece: decode what came.
      if (req.stream && !isJson(res)) return withAdjusted({ events: decodeChatStream(bodyChunks(ep, res), ctx), headers: res.headers }, adjusted);
      const events = decodeChatResponse(await readJson(ep, res), ctx);
      return withAdjusted({ events: fromArray(events), headers: res.headers }, adjusted);
    },
    async embed(req: EmbedRequest, call: UpstreamCall): Promise<EmbedResponse> {
      const ep = endpointOf(call);
      const { provider, key } = call.target;
      const { url, model } = routes.embeddings(call.target);
      const body: Record<string, unknown> = { model, input: req.input, encoding_format: "float" };
      if (req.dimensions !== undefined) body.dimensions = req.dimensions;
      const res = await postJson(ep, url, headersFor(provider, key), body);
      return decodeEmbeddings(ep, await readJson(ep, res), req.input.length, call.target.model);
    },
    async listModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]> {
      const known = routes.models?.(provider);
      if (known) return known;
      const ep: UpstreamEndpoint = { providerId: provider.id, secret: key?.secret, signal };
      const res = await sendUpstream(ep, routes.modelsUrl(provider), {
        method: "GET",
        headers: { accept: "application/json", ...headersFor(provider, key) },
      });
      return parseModelList(ep, await readJson(ep, res));
    },
  };
  return adapter;
}

/** Plain OpenAI routes: `{baseUrl}/chat/completions`, `Authorization: Bearer`. */
export const openaiRoutes: OpenAIWireRoutes = {
  chat: (t) => ({ url: `${t.provider.baseUrl}/chat/completions`, model: t.model }),
  embeddings: (t) => ({ url: `${t.provider.baseUrl}/embeddings`, model: t.model }),
  responses: (t) => ({ url: `${t.provider.baseUrl}/responses`, model: t.model }),
  auth: (key): Record<string, string> => (key ? { authorization: `Bearer ${key.secret}` } : {}),
  modelsUrl: (p) => modelsUrlFor(p.baseUrl, presetFor(p.type)?.modelsPath),
};

const openaiWire = createOpenAIWireAdapter("openai", openaiRoutes);

/** Plain OpenAI wire: also takes an OpenAI client's request as it is (same-format passthrough), and
 *  a Responses client's at `/responses` (responses-forward.ts). */
export const openaiAdapter: UpstreamAdapter = {
  ...openaiWire,
  forward: (req, call) => (req.original?.protocol === "responses" ? openaiWire.forward!(req, call) : forwardChat(req, call, quirksOf(call.target.provider))),
};

export function quirksOf(provider: ResolvedProvider): OpenAIQuirks {
  return presetFor(provider.type)?.openai ?? {};
}

/** `{baseUrl}/models`, or the preset's path resolved against the base (`../` climbs out of it). */
export function modelsUrlFor(baseUrl: string, modelsPath?: string): string {
  if (!modelsPath) return `${baseUrl}/models`;
  return new URL(modelsPath.replace(/^\/+/, ""), `${baseUrl}/`).toString();
}

/** Accepts `{data:[{id}]}` (OpenAI), a bare array (Together), `{models:[…]}` and Cloudflare's
 *  `{result:[{name}]}` (where `id` is a uuid and `name` the model). */
export function parseModelList(ep: Pick<UpstreamEndpoint, "providerId" | "secret">, json: any): string[] {
  if (json && typeof json === "object" && !Array.isArray(json) && json.error) throw errorFromPayload(ep, json.error);
  const list = Array.isArray(json) ? json : (json?.data ?? json?.models ?? json?.result);
  if (!Array.isArray(list)) throw upstreamError(ep, "upstream_error", "answered the model list with no list of models", { code: "bad_response" });
  const preferName = !Array.isArray(json) && Array.isArray(json?.result);
  const ids: string[] = [];
  for (const m of list) {
    const id = typeof m === "string" ? m : preferName ? (m?.name ?? m?.id) : (m?.id ?? m?.name ?? m?.model);
    if (typeof id === "string" && id) ids.push(id);
  }
  return ids;
}

function decodeEmbeddings(ep: UpstreamEndpoint, json: any, expected: number, model: string): EmbedResponse {
  if (json?.error) throw errorFromPayload(ep, json.error);
  const data: any[] | undefined = Array.isArray(json?.data) ? json.data : undefined;
  if (!data || data.length !== expected)
    throw upstreamError(ep, "upstream_error", `answered ${data?.length ?? 0} embeddings for ${expected} inputs`, { code: "bad_response" });
  const ordered = data.every((d) => typeof d?.index === "number") ? [...data].sort((a, b) => a.index - b.index) : data;
  const vectors = ordered.map((d) => {
    const e = d?.embedding;
    if (Array.isArray(e)) return e as number[];
    // A server that ignored `encoding_format: "float"` answers base64 little-endian float32s.
    if (typeof e === "string") return decodeBase64Floats(e);
    throw upstreamError(ep, "upstream_error", "answered an embedding that is neither a list nor base64", { code: "bad_response" });
  });
  const tokens = json.usage?.prompt_tokens ?? json.usage?.total_tokens;
  return { model: typeof json.model === "string" && json.model ? json.model : model, vectors, usage: { inputTokens: typeof tokens === "number" ? tokens : 0 } };
}

function decodeBase64Floats(b64: string): number[] {
  const bytes = Buffer.from(b64, "base64");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.byteLength >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function withAdjusted(reply: ChatReply, adjusted: string[]): ChatReply {
  if (adjusted.length) reply.adjusted = adjusted;
  return reply;
}

function isJson(res: Response): boolean {
  return (res.headers.get("content-type") ?? "").includes("application/json");
}

async function* fromArray(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}
