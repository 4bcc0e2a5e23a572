import { GatewayError } from "../../core/errors";
import { sseReads } from "../../core/sse";
import type { ChatRequest, FinishReason, StreamEvent, Usage } from "../../core/types";
import { bodyChunks, DEFAULT_MAX_UPSTREAM_BODY_BYTES, endpointOf, failureFromThrown, readBoundedText, sendUpstream, type UpstreamEndpoint, upstreamError } from "../http";
import type { ChatReply, Target, UpstreamCall } from "../types";
import { errorFromPayload } from "./decode";

// Native Responses API passthrough (SPEC §2): a Responses request bound for an `openai` or `azure`
// provider goes to its `/responses` as the client sent it (only `model` changed), so hosted tools
// and OpenAI's own encrypted reasoning work; the answer's bytes go back as they are (`raw` events),
// decoded alongside into canonical events for lmrelay's bookkeeping (usage, time to first token,
// errors). An OpenAI-compatible server behind `type: "openai"` may not serve `/responses`: a 404 or
// 405 there sends this and every later Responses request for that provider through Chat Completions.

type Json = Record<string, any>;

export interface ResponsesRoute {
  url: string;
  model: string;
}

/** Providers (id and base URL) whose server answered 404/405 on `/responses`. */
const withoutResponses = new Set<string>();

function providerKey(target: Target): string {
  return `${target.provider.id}\n${target.provider.baseUrl}`;
}

/** The forwarded reply, or undefined when this request does not go natively to this target. */
export function forwardResponses(
  req: ChatRequest,
  call: UpstreamCall,
  route: (t: Target) => ResponsesRoute,
  headers: Record<string, string>,
  chat: (req: ChatRequest, call: UpstreamCall) => Promise<ChatReply>,
): Promise<ChatReply> | undefined {
  const original = req.original;
  const { provider } = call.target;
  if (original?.protocol !== "responses" || (provider.type !== "openai" && provider.type !== "azure")) return undefined;
  if (withoutResponses.has(providerKey(call.target))) return undefined;
  return send(req, call, route(call.target), headers, chat);
}

async function send(req: ChatRequest, call: UpstreamCall, route: ResponsesRoute, auth: Record<string, string>, chat: (req: ChatRequest, call: UpstreamCall) => Promise<ChatReply>): Promise<ChatReply> {
  const original = req.original!;
  const ep = endpointOf(call);
  const body = original.body.model === route.model ? original.text : JSON.stringify({ ...original.body, model: route.model });
  const headers = { "content-type": "application/json", accept: req.stream ? "text/event-stream" : "application/json", ...auth };
  let res: Response;
  try {
    res = await sendUpstream(ep, route.url, { method: "POST", headers, body });
  } catch (e) {
    if (e instanceof GatewayError && (e.status === 404 || e.status === 405) && e.code !== "model_not_found") {
      withoutResponses.add(providerKey(call.target));
      return chat(req, call);
    }
    throw e;
  }
  if (req.stream && !(res.headers.get("content-type") ?? "").includes("application/json"))
    return { events: nativeStream(ep, res), headers: res.headers, raw: true };
  let text: string;
  try {
    text = await readBoundedText(ep, res, ep.maxBodyBytes ?? DEFAULT_MAX_UPSTREAM_BODY_BYTES);
  } catch (e) {
    throw failureFromThrown(ep, e);
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    throw upstreamError(ep, "upstream_error", `answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`, { code: "bad_response" });
  }
  if (json?.error && json.status !== "completed") throw errorFromPayload(ep, json.error);
  // The upstream's own bytes go to the client; the decoded events are for the bookkeeping.
  const events: StreamEvent[] = [{ type: "raw", data: text, content: false, chars: 0 }, ...outputEvents(json)];
  return { events: fromArray(events), headers: res.headers, raw: true };
}

async function* fromArray(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}

/** The events of a finished response object: its content, usage and how it ended. */
function outputEvents(r: Json): StreamEvent[] {
  const out: StreamEvent[] = [{ type: "start", id: r.id, model: r.model }];
  let calls = 0;
  for (const item of Array.isArray(r.output) ? r.output : []) {
    if (item?.type === "message") for (const c of item.content ?? []) if (typeof c?.text === "string" && c.text) out.push({ type: "text", text: c.text });
    if (item?.type === "reasoning") for (const s of item.summary ?? []) if (typeof s?.text === "string" && s.text) out.push({ type: "thinking", text: s.text });
    if (item?.type === "function_call" || item?.type === "custom_tool_call") {
      const index = calls++;
      out.push({ type: "tool_call_start", index, id: String(item.call_id ?? ""), name: String(item.name ?? "") });
      const args = item.type === "function_call" ? item.arguments : item.input;
      if (typeof args === "string" && args) out.push({ type: "tool_call_delta", index, arguments: args });
    }
  }
  const usage = decodeUsage(r.usage);
  if (usage) out.push({ type: "usage", usage });
  out.push({ type: "finish", reason: finishOf(r, calls > 0) });
  return out;
}

function finishOf(r: Json, calls: boolean): FinishReason {
  const reason = r.incomplete_details?.reason;
  if (r.status === "incomplete") return reason === "content_filter" ? "content_filter" : "length";
  return calls ? "tool_calls" : "stop";
}

function decodeUsage(u: Json | undefined | null): Usage | undefined {
  if (!u || typeof u.input_tokens !== "number" || typeof u.output_tokens !== "number") return undefined;
  const usage: Usage = { inputTokens: u.input_tokens, outputTokens: u.output_tokens };
  const cached = u.input_tokens_details?.cached_tokens;
  if (typeof cached === "number" && cached > 0) usage.cacheReadTokens = cached;
  const reasoning = u.output_tokens_details?.reasoning_tokens;
  if (typeof reasoning === "number" && reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

/** Stream events that carry output: the answer is committed (no failover) from the first of them. */
const CONTENT = new Set([
  "response.output_text.delta", "response.reasoning_summary_text.delta", "response.reasoning_text.delta",
  "response.function_call_arguments.delta", "response.custom_tool_call_input.delta", "response.output_item.added",
  "response.refusal.delta",
]);

/**
 * The upstream's event stream as `raw` events (whole frames, one `raw` per upstream read, each with
 * the output characters it carries), with the answer's start, usage and finish decoded from them. Frames before the first content wait for it, so a failure
 * there can still fail over. `response.failed` and `error` frames become an `error` event: the
 * client gets lmrelay's `response.failed`, numbered after the last frame it got.
 */
async function* nativeStream(ep: UpstreamEndpoint, res: Response): AsyncGenerator<StreamEvent> {
  let held = "";
  let committed = false;
  let calls = 0;
  let ended = false;
  const out: StreamEvent[] = [];
  for await (const events of sseReads(bodyChunks(ep, res))) {
    let text = "";
    let chars = 0;
    let content = false;
    out.length = 0;
    for (const ev of events) {
      let payload: Json;
      try {
        payload = JSON.parse(ev.data);
      } catch {
        yield { type: "error", error: upstreamError(ep, "upstream_error", `sent a stream event that is not JSON: ${ev.data.slice(0, 200)}`, { code: "bad_response" }) };
        return;
      }
      const type: string = payload.type ?? ev.event ?? "";
      if (type === "response.failed" || type === "error") {
        if (text || held) yield { type: "raw", data: held + text, content: committed || content, chars };
        const error = type === "error" ? payload : (payload.response?.error ?? payload.error ?? {});
        yield { type: "error", error: errorFromPayload(ep, { message: error.message, code: error.code, type: error.type }) };
        return;
      }
      text += `event: ${ev.event ?? type}\ndata: ${ev.data}\n\n`;
      switch (type) {
        case "response.created":
          out.push({ type: "start", id: payload.response?.id, model: payload.response?.model });
          break;
        case "response.output_text.delta":
        case "response.refusal.delta":
        case "response.reasoning_summary_text.delta":
        case "response.reasoning_text.delta":
        case "response.function_call_arguments.delta":
        case "response.custom_tool_call_input.delta":
          // Counted, not decoded: the raw bytes are the answer (the relay counts `chars`).
          chars += typeof payload.delta === "string" ? payload.delta.length : 0;
          break;
        case "response.output_item.added":
          if (payload.item?.type === "function_call" || payload.item?.type === "custom_tool_call") calls++;
          break;
        case "response.completed":
        case "response.incomplete": {
          ended = true;
          const usage = decodeUsage(payload.response?.usage);
          if (usage) out.push({ type: "usage", usage });
          out.push({ type: "finish", reason: finishOf(payload.response ?? {}, calls > 0) });
          break;
        }
      }
      if (CONTENT.has(type)) content = true;
    }
    if (!committed && !content) {
      held += text;
      for (const ev of out) if (ev.type === "start") yield ev;
      continue;
    }
    const first = !committed;
    committed = true;
    for (const ev of out) if (ev.type === "start") yield ev;
    if (text || held) yield { type: "raw", data: held + text, content: first || content, chars };
    held = "";
    for (const ev of out) if (ev.type !== "start") yield ev;
  }
  if (held) yield { type: "raw", data: held, content: false, chars: 0 };
  if (!ended) yield { type: "error", error: upstreamError(ep, "upstream_error", "ended its Responses stream without response.completed", { code: "bad_response" }) };
}
