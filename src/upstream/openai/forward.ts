import type { ResolvedKey, ResolvedProvider } from "../../config/resolve";
import type { ChatRequest, StreamEvent } from "../../core/types";
import { jsonPostHeaders } from "../headers";
import { DEFAULT_MAX_UPSTREAM_BODY_BYTES, endpointOf, failureFromThrown, readBoundedText, sendUpstream, type UpstreamEndpoint, upstreamError } from "../http";
import type { OpenAIQuirks } from "../presets";
import type { ChatReply, UpstreamCall } from "../types";
import { decodeChatResponse, decodeUsage } from "./decode";
import { rawStream } from "./forward-stream";
import { openaiBodyFits } from "./rules";

// Same-format passthrough, the OpenAI adapter's `forward`: an OpenAI Chat Completions request bound
// for a plain OpenAI-wire upstream (openai, openai-compatible, presets whose quirks this body does
// not trigger) is sent as the client's own bytes with only the needed edits (model name,
// max-tokens field name, usage asked for on streams), and the upstream's answer bytes go back as
// `raw` events. The canonical request is still decoded (validation, routing, governance), and
// every answer is still decoded alongside (usage, time to first token, errors), so failover, audit
// and health see exactly what the translated path would; what is saved is the request encoding and
// the answer re-encoding. The router treats the reply like any other (one commit rule: the first
// content).

/** The forwarded reply, or undefined when this request must be translated for this provider. */
export function forwardChat(req: ChatRequest, call: UpstreamCall, quirks: OpenAIQuirks): Promise<ChatReply> | undefined {
  const body = forwardBody(req, call.target.provider, quirks, call.target.model);
  return body && sendForward(req, call, body);
}

const PLAIN_EFFORTS = new Set(["minimal", "low", "medium", "high"]);

/** The upstream body to send, or undefined when this request must be translated for this provider. */
export function forwardBody(req: ChatRequest, provider: ResolvedProvider, q: OpenAIQuirks, model: string): { text: string; injectedUsage: boolean } | undefined {
  const original = req.original;
  if (!original || original.protocol !== "openai") return undefined;
  const b = original.body;
  if (q.nineCharToolIds) return undefined;
  if (q.dropFields?.some((f) => f in b)) return undefined;
  if (q.requiredToolChoice && b.tool_choice === "required") return undefined;
  if (q.seedField && "seed" in b) return undefined;
  if (!q.topK && "top_k" in b) return undefined;
  if (!Array.isArray(b.messages) || !plainHistory(b.messages, q.noDeveloperRole === true)) return undefined;
  // The translation maps these efforts to others (or drops them): keep its behaviour.
  if (b.reasoning_effort != null && !PLAIN_EFFORTS.has(b.reasoning_effort as string)) return undefined;
  const stream = b.stream === true;
  const so = b.stream_options;
  if (so != null && (!stream || typeof so !== "object" || Array.isArray(so))) return undefined;
  if (stream && q.noStreamOptions) return undefined;
  const hasMax = "max_tokens" in b;
  const hasCompletion = "max_completion_tokens" in b;
  if (hasMax && hasCompletion) return undefined;
  const wantMax = q.maxTokensField ?? "max_completion_tokens";
  // The model's own rules (output limit, refused parameters, stop count): anything to change
  // goes through the translation, which names the change.
  if (!openaiBodyFits(b, provider, model, wantMax)) return undefined;

  const edits: Edit[] = [];
  const need = new Set<string>();
  if (b.model !== model) need.add("model");
  const injectedUsage = stream && (so as { include_usage?: unknown } | null | undefined)?.include_usage !== true;
  if (injectedUsage && so != null) need.add("stream_options");
  if (hasMax && wantMax !== "max_tokens") need.add("max_tokens");
  if (hasCompletion && wantMax !== "max_completion_tokens") need.add("max_completion_tokens");
  if (need.size > 0) {
    const spans = topLevelSpans(original.text, need);
    if (!spans) return undefined;
    for (const [key, s] of spans) {
      if (key === "model") edits.push({ from: s.valueStart, to: s.valueEnd, text: JSON.stringify(model) });
      else if (key === "stream_options") edits.push({ from: s.valueStart, to: s.valueEnd, text: JSON.stringify({ ...(so as object), include_usage: true }) });
      else edits.push({ from: s.keyStart, to: s.keyEnd, text: JSON.stringify(wantMax) });
    }
  }
  if (injectedUsage && so == null) {
    const open = original.text.indexOf("{");
    edits.push({ from: open + 1, to: open + 1, text: '"stream_options":{"include_usage":true},' });
  }
  return { text: applyEdits(original.text, edits), injectedUsage };
}

/** False when the translation would change the history: empty text (dropped, never sent) or a
 *  `developer` turn for a server that does not know the role. */
function plainHistory(messages: unknown[], noDeveloperRole: boolean): boolean {
  for (const m of messages) {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (content === "" || (noDeveloperRole && role === "developer")) return false;
    if (Array.isArray(content)) for (const p of content) if ((p as { type?: unknown })?.type === "text" && !(p as { text?: unknown }).text) return false;
  }
  return true;
}

interface Edit {
  from: number;
  to: number;
  text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  if (edits.length === 0) return text;
  edits.sort((a, b) => a.from - b.from);
  let out = "";
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.from) + e.text;
    at = e.to;
  }
  return out + text.slice(at);
}

interface Span {
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** Where the wanted top-level keys and their values sit in a JSON object's text (the text is known
 *  to parse). Strings are skipped with native `indexOf`, so the walk costs little per byte. Stops
 *  once every wanted key is found; a key written twice takes its last place, as JSON.parse does. */
export function topLevelSpans(text: string, want: ReadonlySet<string>): Map<string, Span> | undefined {
  const found = new Map<string, Span>();
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 123 /* { */) return undefined;
  i = skipWs(text, i + 1);
  while (i < text.length && text.charCodeAt(i) === 34 /* " */) {
    const keyStart = i;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const raw = text.slice(keyStart + 1, keyEnd - 1);
    const key = raw.includes("\\") ? (JSON.parse(text.slice(keyStart, keyEnd)) as string) : raw;
    i = skipWs(text, keyEnd);
    if (text.charCodeAt(i) !== 58 /* : */) return undefined;
    const valueStart = skipWs(text, i + 1);
    const valueEnd = valueEndAt(text, valueStart);
    if (valueEnd < 0) return undefined;
    if (want.has(key)) found.set(key, { keyStart, keyEnd, valueStart, valueEnd });
    i = skipWs(text, valueEnd);
    if (text.charCodeAt(i) !== 44 /* , */) break;
    i = skipWs(text, i + 1);
  }
  return found.size === want.size ? found : undefined;
}

function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/** Index just past the string starting at `i` (a quote), or -1. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return -1;
    let slashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === 92 /* \ */; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the value starting at `i`, or -1. */
function valueEndAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) return stringEnd(text, i);
  if (c !== 123 && c !== 91 /* [ */) {
    let j = i;
    for (;;) {
      const d = text.charCodeAt(j);
      if (Number.isNaN(d) || d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9) return j;
      j++;
    }
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === 34) {
      j = stringEnd(text, j) - 1;
      if (j < 0) return -1;
    } else if (d === 123 || d === 91) depth++;
    else if (d === 125 || d === 93) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}

/** The key as the forwarded request carries it (the OpenAI wire's own). */
const bearer = (key: ResolvedKey | undefined): Record<string, string> => (key ? { authorization: `Bearer ${key.secret}` } : {});

/** Sends the forwarded body; the reply's events are `raw` (the client's bytes) plus the canonical
 *  events decoded from them, which only lmrelay's bookkeeping reads. */
async function sendForward(req: ChatRequest, call: UpstreamCall, body: { text: string; injectedUsage: boolean }): Promise<ChatReply> {
  const ep = endpointOf(call);
  const { provider, key } = call.target;
  const headers = jsonPostHeaders(provider, key, req.stream ? "text/event-stream" : "application/json", bearer, "forward");
  const res = await sendUpstream(ep, `${provider.baseUrl}/chat/completions`, { method: "POST", headers, body: body.text });
  const isJson = (res.headers.get("content-type") ?? "").includes("application/json");
  if (req.stream && !isJson) return { events: rawStream(ep, res, body.injectedUsage && !req.includeUsage), headers: res.headers, raw: true };
  const text = await readAnswer(ep, res);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw upstreamError(ep, "upstream_error", `answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`, { code: "bad_response" });
  }
  const events = decodeChatResponse(json, { ep });
  // A server that ignored `stream: true` answered whole (the client wants a stream), or an answer
  // missing its finish reason or usage (the translation supplies them): translate.
  if (req.stream || !completeAnswer(json)) return { events: fromArray(events), headers: res.headers };
  return { events: fromArray([{ type: "raw", data: text, content: false, chars: 0 }, ...events]), headers: res.headers, raw: true };
}

async function readAnswer(ep: UpstreamEndpoint, res: Response): Promise<string> {
  try {
    return await readBoundedText(ep, res, ep.maxBodyBytes ?? DEFAULT_MAX_UPSTREAM_BODY_BYTES);
  } catch (err) {
    throw failureFromThrown(ep, err);
  }
}

function completeAnswer(json: any): boolean {
  const choice = json.choices?.[0];
  return json.choices.length === 1 && typeof choice?.finish_reason === "string" && choice.finish_reason !== "" && decodeUsage(json.usage) !== undefined;
}

async function* fromArray(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}
