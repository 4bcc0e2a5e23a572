import type { ResolvedKey, ResolvedProvider } from "../../config/resolve";
import type { ChatRequest, StreamEvent } from "../../core/types";
import { type UpstreamEndpoint, bodyChunks, endpointOf, postJson, readJson, sendUpstream, upstreamError } from "../http";
import type { ChatReply, UpstreamAdapter, UpstreamCall } from "../types";
import { type DecodeOptions, decodeAnthropicMessage, decodeAnthropicStream, errorFromBody } from "./decode";
import { encodeAnthropicRequest } from "./encode";
import { classifyAnthropicError } from "./errors";
import { anthropicRulesFor } from "./rules";

// The Anthropic Messages upstream: POST {baseUrl}/v1/messages, x-api-key + anthropic-version, and
// its token counter POST {baseUrl}/v1/messages/count_tokens. Anthropic has no embeddings endpoint,
// so `embed` stays undefined.

export const ANTHROPIC_VERSION = "2023-06-01";
const MAX_MODEL_PAGES = 20;

function baseHeaders(provider: ResolvedProvider, key: ResolvedKey | undefined, beta?: string): Record<string, string> {
  const headers: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
  let configuredBeta: string | undefined;
  for (const [name, value] of Object.entries(provider.headers)) {
    if (name.toLowerCase() === "anthropic-beta") configuredBeta = value;
    else headers[name] = value;
  }
  if (key) headers["x-api-key"] = key.secret;
  // Flags from the config and from the client both apply.
  const flags = [configuredBeta, beta].filter((v): v is string => !!v && v.trim() !== "");
  if (flags.length) headers["anthropic-beta"] = flags.join(",");
  return headers;
}

/** Pulls the first event before handing the stream over, so an error the upstream sends as its
 *  first event (overloaded right after the 200) fails the attempt and the router can fail over. */
async function startedStream(events: AsyncGenerator<StreamEvent>): Promise<AsyncIterable<StreamEvent>> {
  let first: IteratorResult<StreamEvent> | undefined = await events.next();
  const it: AsyncIterator<StreamEvent> = {
    next() {
      if (!first) return events.next();
      const r = first;
      first = undefined;
      return Promise.resolve(r);
    },
    // Closing before the first read must still release the upstream body.
    return(value?: unknown) {
      first = undefined;
      return events.return(value);
    },
  };
  return { [Symbol.asyncIterator]: () => it };
}

async function chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> {
  const { provider, key, model } = call.target;
  const ep = endpointOf(call);
  const { body, beta, jsonMode, adjusted } = encodeAnthropicRequest(req, model, anthropicRulesFor(provider, model));
  const headers = baseHeaders(provider, key, beta);
  if (req.stream) headers.accept = "text/event-stream";
  const res = await postJson(ep, `${provider.baseUrl}/v1/messages`, headers, body, classifyAnthropicError);
  const opts: DecodeOptions = { providerId: provider.id, secret: key?.secret, jsonMode };
  // Some proxies answer a stream request with one JSON body; decode whatever arrived.
  if (req.stream && !(res.headers.get("content-type") ?? "").includes("application/json")) {
    const events = decodeAnthropicStream(bodyChunks(ep, res), opts);
    return withAdjusted({ events: await startedStream(events), headers: res.headers }, adjusted);
  }
  const json = await readJson(ep, res);
  if (json?.type === "error") throw errorFromBody(opts, json.error);
  return withAdjusted({ events: replay(decodeAnthropicMessage(json, opts)), headers: res.headers }, adjusted);
}

function withAdjusted(reply: ChatReply, adjusted: string[]): ChatReply {
  if (adjusted.length) reply.adjusted = adjusted;
  return reply;
}

/** The fields `count_tokens` takes: a Messages body without `max_tokens`, sampling, `stream` or
 *  `metadata`, which it refuses as extra inputs (MessageCountTokensParams in the official SDK). */
const COUNT_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "cache_control"];

/** The upstream's own count of the request's input tokens. */
async function countTokens(req: ChatRequest, call: UpstreamCall): Promise<number> {
  const { provider, key, model } = call.target;
  const ep = endpointOf(call);
  const { body, beta } = encodeAnthropicRequest(req, model);
  const countBody: Record<string, unknown> = {};
  for (const field of COUNT_FIELDS) if (body[field] !== undefined) countBody[field] = body[field];
  const res = await postJson(ep, `${provider.baseUrl}/v1/messages/count_tokens`, baseHeaders(provider, key, beta), countBody, classifyAnthropicError);
  const json = await readJson(ep, res);
  const tokens = json?.input_tokens;
  if (typeof tokens !== "number" || !Number.isFinite(tokens) || tokens < 0)
    throw upstreamError(ep, "upstream_error", "count_tokens answer has no input_tokens number", { code: "bad_response" });
  return tokens;
}

async function* replay(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}

async function listModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]> {
  const ep: UpstreamEndpoint = { providerId: provider.id, secret: key?.secret, signal };
  const headers = { accept: "application/json", ...baseHeaders(provider, key) };
  const ids: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_MODEL_PAGES; page++) {
    const query = `limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ""}`;
    const res = await sendUpstream(ep, `${provider.baseUrl}/v1/models?${query}`, { headers, classify: classifyAnthropicError });
    const json = await readJson(ep, res);
    if (!Array.isArray(json?.data)) throw upstreamError(ep, "upstream_error", "model list has no data array", { code: "bad_response" });
    for (const m of json.data) if (typeof m?.id === "string") ids.push(m.id);
    if (!json.has_more || typeof json.last_id !== "string" || json.last_id === after) break;
    after = json.last_id;
  }
  return ids;
}

export const anthropicAdapter: UpstreamAdapter = { type: "anthropic", chat, countTokens, listModels };
