import { validateCountTokensRequest, validateMessagesRequest } from "./anthropic-validate";
import { type FakeReply, type FakeState, type FakeUpstream, type RecordedRequest, applyFault, chunkedBody, fakeControls, record } from "./common";

// A fake Anthropic Messages API on 127.0.0.1: the real wire format (JSON answers and the full SSE
// event sequence with pings), the real auth and request checks, and queued faults.

type Json = Record<string, any>;

export const FAKE_ANTHROPIC_KEY = "sk-ant-fake-key-0001";

export interface AnthropicFakeReply extends FakeReply {
  /** Tokens written to the prompt cache (of `usage.input`). */
  cacheWrite?: number;
  /** Thinking text to answer with when the request enables thinking. */
  thinking?: string;
  /** Send this `event: error` right after `message_start` (stream) instead of the answer. */
  midStreamError?: { type: string; message: string };
}

export interface AnthropicFake extends FakeUpstream {
  reply(r: AnthropicFakeReply): void;
}

export interface AnthropicFakeOptions {
  /** Accepted `x-api-key` values. */
  keys?: string[];
  models?: string[];
}

/** An error body exactly as Anthropic sends it. */
export function anthropicErrorBody(type: string, message: string): Json {
  return { type: "error", error: { type, message }, request_id: "req_fake_error" };
}

function errorResponse(status: number, type: string, message: string): Response {
  return Response.json(anthropicErrorBody(type, message), { status, headers: { "request-id": "req_fake_error" } });
}

let seq = 0;
const nextId = (prefix: string) => `${prefix}_fake${(++seq).toString().padStart(6, "0")}`;

interface Block {
  type: "text" | "thinking" | "tool_use";
  text?: string;
  thinking?: string;
  signature?: string;
  id?: string;
  name?: string;
  input?: Json;
}

function answerBlocks(req: Json, r: AnthropicFakeReply): Block[] {
  const blocks: Block[] = [];
  // max_tokens 0 only warms the prompt cache: no content.
  if (req.max_tokens === 0) return blocks;
  if (req.thinking?.type === "enabled")
    blocks.push({ type: "thinking", thinking: r.thinking ?? "Let me think about this.", signature: `sig_${Buffer.from(nextId("t")).toString("base64")}` });
  const calls = (r.toolCalls ?? []).map((c) => ({ type: "tool_use" as const, id: c.id ?? nextId("toolu"), name: c.name, input: c.arguments }));
  // A forced tool is always called, like the real API does.
  const forced = req.tool_choice?.type === "tool" ? (req.tool_choice.name as string) : undefined;
  if (forced && !calls.some((c) => c.name === forced)) calls.push({ type: "tool_use", id: nextId("toolu"), name: forced, input: { answer: r.text ?? "Hello from the Anthropic fake" } });
  const text = r.text ?? (calls.length ? "" : "Hello from the Anthropic fake");
  if (text) blocks.push({ type: "text", text });
  blocks.push(...calls);
  return blocks;
}

function usageOf(req: Json, r: AnthropicFakeReply, blocks: Block[]): Json {
  const input = r.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify(req.messages ?? []).length / 4));
  const read = r.usage?.cached ?? 0;
  const write = r.cacheWrite ?? 0;
  const outputText = blocks.map((b) => b.text ?? b.thinking ?? JSON.stringify(b.input ?? {})).join("");
  return {
    input_tokens: Math.max(0, input - read - write),
    output_tokens: r.usage?.output ?? Math.max(1, Math.ceil(outputText.length / 4)),
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  };
}

function stopOf(req: Json, r: AnthropicFakeReply, blocks: Block[]): { stop_reason: string; stop_sequence: string | null } {
  const stop_reason = r.finishReason ?? (req.max_tokens === 0 ? "max_tokens" : blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
  return { stop_reason, stop_sequence: stop_reason === "stop_sequence" ? (req.stop_sequences?.[0] ?? null) : null };
}

/** Splits after whitespace so the pieces concatenate back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

const frame = (data: Json) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

function streamFrames(id: string, model: string, blocks: Block[], usage: Json, stop: Json, r: AnthropicFakeReply): string[] {
  const frames = [frame({ type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } })];
  if (r.midStreamError) return [...frames, frame({ type: "error", error: r.midStreamError })];
  blocks.forEach((b, index) => {
    const delta = (d: Json) => frames.push(frame({ type: "content_block_delta", index, delta: d }));
    if (b.type === "text") {
      frames.push(frame({ type: "content_block_start", index, content_block: { type: "text", text: "" } }));
      if (index === 0) frames.push(frame({ type: "ping" }));
      for (const p of pieces(b.text!)) delta({ type: "text_delta", text: p });
    } else if (b.type === "thinking") {
      frames.push(frame({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } }));
      if (index === 0) frames.push(frame({ type: "ping" }));
      for (const p of pieces(b.thinking!)) delta({ type: "thinking_delta", thinking: p });
      delta({ type: "signature_delta", signature: b.signature });
    } else {
      frames.push(frame({ type: "content_block_start", index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } }));
      if (index === 0) frames.push(frame({ type: "ping" }));
      // Like the real API: an empty first fragment, then the JSON in uneven pieces.
      const json = Object.keys(b.input ?? {}).length ? JSON.stringify(b.input) : "";
      if (json) {
        delta({ type: "input_json_delta", partial_json: "" });
        const cut = Math.max(1, Math.floor(json.length / 3));
        for (const p of [json.slice(0, cut), json.slice(cut, 2 * cut), json.slice(2 * cut)]) if (p) delta({ type: "input_json_delta", partial_json: p });
      }
    }
    frames.push(frame({ type: "content_block_stop", index }));
  });
  frames.push(frame({ type: "message_delta", delta: stop, usage }));
  frames.push(frame({ type: "message_stop" }));
  return frames;
}

function rateLimitHeaders(): Record<string, string> {
  return {
    "request-id": nextId("req"),
    "anthropic-ratelimit-requests-limit": "1000",
    "anthropic-ratelimit-requests-remaining": "999",
    "anthropic-ratelimit-requests-reset": new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

async function messages(rec: RecordedRequest, state: FakeState & { replyWith: AnthropicFakeReply }, cutAfter?: number): Promise<Response> {
  const problem = validateMessagesRequest(rec.body);
  if (problem) return errorResponse(400, "invalid_request_error", problem);
  const req = rec.body as Json;
  const r = state.replyWith;
  const blocks = answerBlocks(req, r);
  const usage = usageOf(req, r, blocks);
  const stop = stopOf(req, r, blocks);
  const id = nextId("msg");
  if (!req.stream) {
    const content = blocks.map((b) => (b.type === "text" ? { type: "text", text: b.text } : b.type === "thinking" ? { type: "thinking", thinking: b.thinking, signature: b.signature } : { type: "tool_use", id: b.id, name: b.name, input: b.input }));
    const body = {
      id,
      type: "message",
      role: "assistant",
      model: req.model,
      content,
      ...stop,
      usage: { ...usage, cache_creation: { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 }, service_tier: "standard" },
    };
    return Response.json(body, { headers: rateLimitHeaders() });
  }
  const frames = streamFrames(id, req.model, blocks, usage, stop, r);
  return new Response(chunkedBody(frames, { delayMs: r.chunkDelayMs, cutAfter, holdLast: r.holdLast }), {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...rateLimitHeaders() },
  });
}

/** `count_tokens`: `{ input_tokens }` — a reply's `usage.input`, else the prompt's characters / 3
 *  (not lmrelay's estimate, so tests can tell the two apart). */
function countTokens(rec: RecordedRequest, r: AnthropicFakeReply): Response {
  const problem = validateCountTokensRequest(rec.body);
  if (problem) return errorResponse(400, "invalid_request_error", problem);
  const b = rec.body as Json;
  const input = r.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify([b.system ?? "", b.messages, b.tools ?? []]).length / 3));
  return Response.json({ input_tokens: input }, { headers: { "request-id": nextId("req") } });
}

function modelList(models: string[], query: URLSearchParams): Response {
  const limit = Math.min(1000, Math.max(1, Number(query.get("limit") ?? 20) || 20));
  const after = query.get("after_id");
  const start = after ? models.indexOf(after) + 1 : 0;
  const page = models.slice(start, start + limit);
  const data = page.map((id) => ({ type: "model", id, display_name: id, created_at: "2025-09-29T00:00:00Z" }));
  return Response.json({ data, has_more: start + limit < models.length, first_id: page[0] ?? null, last_id: page.at(-1) ?? null });
}

export async function startAnthropicFake(opts: AnthropicFakeOptions = {}): Promise<AnthropicFake> {
  const keys = new Set(opts.keys ?? [FAKE_ANTHROPIC_KEY]);
  const state: FakeState & { replyWith: AnthropicFakeReply } = { requests: [], faults: [], replyWith: {} };
  const fake = {
    models: opts.models ?? ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"],
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const rec = await record(request);
      state.requests.push(rec);
      const fault = await applyFault(state);
      if (fault instanceof Response) return fault;
      if (!request.headers.get("anthropic-version"))
        return errorResponse(400, "invalid_request_error", "anthropic-version: header is required");
      // SDKs before 1.0 send the key as x-api-key; 1.x sends it as a Bearer token. The API takes both.
      const bearer = /^Bearer (.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
      const key = request.headers.get("x-api-key") ?? bearer;
      if (!key || !keys.has(key)) return errorResponse(401, "authentication_error", "invalid x-api-key");
      const url = new URL(request.url);
      if (request.method === "POST" && url.pathname === "/v1/messages") return messages(rec, state, fault?.cutAfter);
      if (request.method === "POST" && url.pathname === "/v1/messages/count_tokens") return countTokens(rec, state.replyWith);
      if (request.method === "GET" && url.pathname === "/v1/models") return modelList(fake.models, url.searchParams);
      return errorResponse(404, "not_found_error", `Not found: ${request.method} ${url.pathname}`);
    },
  });
  return Object.assign(fake, fakeControls<AnthropicFakeReply>(server, state));
}
