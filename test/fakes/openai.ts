import { applyFault, chunkedBody, fakeControls, type FakeReply, type FakeState, type FakeUpstream, record } from "./common";
import { refuseForModel, refuseStop } from "./openai-validate";

// A fake OpenAI API on 127.0.0.1 speaking the exact wire format (openai.md): Chat Completions JSON
// and SSE (role chunk, content pieces, tool-call fragments, empty-delta finish chunk, a `choices: []`
// usage chunk only when `stream_options.include_usage`, `data: [DONE]`), embeddings honouring
// `encoding_format`, the model list, and OpenAI-shaped errors. Routes match on the path's end, so
// any preset's base path (`/v1`, `/api/v1`, `/openai/v1`, `/v1/openai`…) reaches it.
// `startAzureFake` serves the same answers on Azure's URLs with Azure's auth and extra fields.

export interface OpenAIFakeReply extends FakeReply {
  /** Reasoning text, sent as `reasoning_content` before the answer (DeepSeek/vLLM style). */
  reasoning?: string;
  /** Mistral style: usage rides on the finish chunk whether or not `stream_options` asked for it. */
  usageInFinish?: boolean;
}

export interface OpenAIFakeOptions {
  /** Accepted keys (default `["sk-test"]`); an empty list accepts requests with no key. */
  keys?: string[];
  models?: string[];
  /** `bare`: the model list is a bare JSON array (Together-style) instead of `{object:"list",data}`. */
  modelsShape?: "list" | "bare";
}

export interface AzureFakeOptions {
  /** Accepted `api-key` values (default `["azure-test-key"]`). */
  keys?: string[];
  /** Known deployments; another name answers 404 DeploymentNotFound. Default: any. */
  deployments?: string[];
}

export interface OpenAIFake extends FakeUpstream {
  reply(r: OpenAIFakeReply): void;
}

interface Flavour {
  azure: boolean;
  keys: string[];
  deployments?: string[];
  modelsShape: "list" | "bare";
}

const json = (body: unknown, status = 200, headers?: Record<string, string>) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const openaiError = (status: number, message: string, type: string, param: string | null = null, code: string | null = null) =>
  json({ error: { message, type, param, code } }, status);

const azureError = (status: number, code: string, message: string) => json({ error: { code, message } }, status);

const FILTER_OK = {
  hate: { filtered: false, severity: "safe" },
  self_harm: { filtered: false, severity: "safe" },
  sexual: { filtered: false, severity: "safe" },
  violence: { filtered: false, severity: "safe" },
};

export function startOpenAIFake(opts: OpenAIFakeOptions = {}): Promise<OpenAIFake> {
  return startFake({ azure: false, keys: opts.keys ?? ["sk-test"], modelsShape: opts.modelsShape ?? "list" }, opts.models);
}

/** Azure OpenAI: `/openai/deployments/{d}/…?api-version=` (and the `/openai/v1/…` surface), `api-key` auth. */
export function startAzureFake(opts: AzureFakeOptions = {}): Promise<OpenAIFake> {
  return startFake({ azure: true, keys: opts.keys ?? ["azure-test-key"], deployments: opts.deployments, modelsShape: "list" }, opts.deployments);
}

async function startFake(flavour: Flavour, models?: string[]): Promise<OpenAIFake> {
  const state: FakeState & { replyWith: OpenAIFakeReply } = { requests: [], faults: [], replyWith: {} };
  const fake = { models: models ?? ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"] };
  let counter = 0;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const rec = await record(req);
      state.requests.push(rec);
      const fault = await applyFault(state);
      if (fault instanceof Response) return fault;
      const cutAfter = fault?.cutAfter;
      const url = new URL(req.url);
      const denied = checkAuth(flavour, req.headers);
      if (denied) return denied;
      let route = url.pathname;
      if (flavour.azure) {
        const azure = azureRoute(flavour, url);
        if (azure instanceof Response) return azure;
        route = azure;
      }
      if (req.method === "POST" && route.endsWith("/chat/completions")) {
        const invalid = validateChat(rec.body);
        if (invalid) return invalid;
        const id = `chatcmpl-fake${++counter}`;
        return chatAnswer(flavour, state.replyWith, rec.body, id, cutAfter);
      }
      if (req.method === "POST" && route.endsWith("/embeddings")) return embeddings(rec.body);
      if (req.method === "GET" && route.endsWith("/ai/models/search"))
        return json({ success: true, errors: [], messages: [], result: fake.models.map((name) => ({ id: crypto.randomUUID(), name })) });
      if (req.method === "GET" && route.endsWith("/models")) {
        const list = fake.models.map((id) => ({ id, object: "model", created: 1721172741, owned_by: "fake" }));
        return json(flavour.modelsShape === "bare" ? list : { object: "list", data: list });
      }
      const one = /\/models\/(.+)$/.exec(route);
      if (req.method === "GET" && one) {
        const id = decodeURIComponent(one[1]!);
        return fake.models.includes(id)
          ? json({ id, object: "model", created: 1721172741, owned_by: "fake" })
          : openaiError(404, `The model '${id}' does not exist`, "invalid_request_error", "model", "model_not_found");
      }
      return openaiError(404, `Unknown request URL: ${req.method} ${url.pathname}`, "invalid_request_error", null, "unknown_url");
    },
  });

  return Object.assign(fake, fakeControls<OpenAIFakeReply>(server, state));
}

function checkAuth(flavour: Flavour, headers: Headers): Response | undefined {
  if (flavour.keys.length === 0) return undefined;
  if (flavour.azure) {
    const key = headers.get("api-key") ?? "";
    if (flavour.keys.includes(key)) return undefined;
    return azureError(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
  }
  const auth = headers.get("authorization");
  if (!auth) return openaiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.", "invalid_request_error");
  const key = /^Bearer (.+)$/.exec(auth)?.[1] ?? "";
  if (flavour.keys.includes(key)) return undefined;
  return openaiError(401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", null, "invalid_api_key");
}

/** Maps Azure URLs onto the OpenAI routes, or answers what Azure answers to a wrong one. */
function azureRoute(flavour: Flavour, url: URL): string | Response {
  if (url.pathname.startsWith("/openai/v1/")) return url.pathname;
  const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(url.pathname);
  if (!m) return azureError(404, "404", "Resource not found");
  if (!url.searchParams.get("api-version")) return azureError(404, "404", "Resource not found");
  const deployment = decodeURIComponent(m[1]!);
  if (flavour.deployments && !flavour.deployments.includes(deployment))
    return azureError(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.");
  return `/${m[2]}`;
}

/** Rejects what the real API rejects (per-model rules: openai-validate.ts). */
function validateChat(body: any): Response | undefined {
  const bad = (message: string, param: string | null = null) => openaiError(400, message, "invalid_request_error", param);
  if (!body || typeof body !== "object") return bad("We could not parse the JSON body of your request.");
  if (typeof body.model !== "string" || !body.model) return bad("you must provide a model parameter", "model");
  if (!Array.isArray(body.messages) || body.messages.length === 0) return bad("[] is too short - 'messages'", "messages");
  const pending = new Set<string>();
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i];
    if (!["system", "developer", "user", "assistant", "tool"].includes(m?.role)) return bad(`Invalid value: '${m?.role}'.`, `messages[${i}].role`);
    if (m.role !== "tool" && pending.size > 0)
      return bad(`An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(", ")}`, "messages");
    if (m.role === "tool") {
      if (!pending.delete(m.tool_call_id)) return bad("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages.[${i}].role`);
    } else if (m.role === "assistant") {
      if ((m.content === null || m.content === undefined) && !m.tool_calls?.length) return bad(`Invalid value for 'content': expected a string, got null.`, `messages.[${i}].content`);
      for (const tc of m.tool_calls ?? []) pending.add(tc.id);
    } else if (m.content === undefined || m.content === null) return bad(`Missing required parameter: 'messages.[${i}].content'.`, `messages.[${i}].content`);
  }
  if (pending.size > 0) return bad(`An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(", ")}`, "messages");
  if (body.stream_options !== undefined && body.stream !== true) return bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
  const noTools = !Array.isArray(body.tools) || body.tools.length === 0;
  if (noTools && body.tool_choice !== undefined) return bad("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice");
  if (noTools && body.parallel_tool_calls !== undefined) return bad("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", "parallel_tool_calls");
  const refused = refuseStop(body) ?? refuseForModel(body);
  if (refused) return openaiError(400, refused.message, "invalid_request_error", refused.param, refused.code);
  return undefined;
}

interface Answer {
  reasoning?: string;
  usageInFinish?: boolean;
  text: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: Record<string, unknown>;
}

function buildAnswer(r: OpenAIFakeReply, body: any): Answer {
  const toolCalls = (r.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_fake${i}${Math.random().toString(36).slice(2, 10)}`, name: c.name, arguments: c.rawArguments ?? JSON.stringify(c.arguments) }));
  const text = r.text ?? (toolCalls.length > 0 ? "" : "Hello from openai-fake");
  const input = r.usage?.input ?? Math.ceil(JSON.stringify(body.messages).length / 4);
  const output = r.usage?.output ?? Math.max(1, Math.ceil((text.length + toolCalls.reduce((n, c) => n + c.arguments.length, 0)) / 4));
  return {
    reasoning: r.reasoning,
    usageInFinish: r.usageInFinish,
    text,
    toolCalls,
    finishReason: r.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
    usage: {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      prompt_tokens_details: { cached_tokens: r.usage?.cached ?? 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
  };
}

function chatAnswer(flavour: Flavour, r: OpenAIFakeReply, body: any, id: string, cutAfter?: number): Response {
  const a = buildAnswer(r, body);
  const created = Math.floor(Date.now() / 1000);
  const model: string = body.model;
  if (body.stream === true) {
    const chunks = streamChunks(flavour, a, { id, created, model, usage: body.stream_options?.include_usage === true });
    return new Response(chunkedBody(chunks, { delayMs: r.chunkDelayMs, cutAfter, holdLast: r.holdLast }), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }
  const message: Record<string, unknown> = { role: "assistant", content: a.toolCalls.length > 0 && !a.text ? null : a.text, refusal: null };
  if (a.reasoning) message.reasoning_content = a.reasoning;
  if (a.toolCalls.length > 0) message.tool_calls = a.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  const choice: Record<string, unknown> = { index: 0, message, logprobs: null, finish_reason: a.finishReason };
  const res: Record<string, unknown> = { id, object: "chat.completion", created, model, system_fingerprint: "fp_fake", choices: [choice], usage: a.usage, service_tier: "default" };
  if (flavour.azure) {
    res.prompt_filter_results = [{ prompt_index: 0, content_filter_results: FILTER_OK }];
    choice.content_filter_results = FILTER_OK;
  }
  const text = JSON.stringify(res);
  if (cutAfter === undefined) return json(res);
  const half = Math.floor(text.length / 2);
  return new Response(chunkedBody([text.slice(0, half), text.slice(half)], { cutAfter }), { headers: { "content-type": "application/json" } });
}

function streamChunks(flavour: Flavour, a: Answer, meta: { id: string; created: number; model: string; usage: boolean }): string[] {
  const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown) => {
    const choice: Record<string, unknown> = { index: 0, delta, logprobs: null, finish_reason: finish };
    if (flavour.azure) choice.content_filter_results = delta.content ? FILTER_OK : {};
    const c: Record<string, unknown> = { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, system_fingerprint: "fp_fake", choices: [choice] };
    if (usage) c.usage = usage;
    else if (meta.usage) c.usage = null;
    return frame(c);
  };
  const out: string[] = [];
  // Azure opens with prompt-filter results in a chunk with empty id, model and choices.
  if (flavour.azure)
    out.push(frame({ id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_OK }] }));
  const first: Record<string, unknown> = { role: "assistant", content: a.text || a.toolCalls.length === 0 ? "" : null, refusal: null };
  if (a.toolCalls.length > 0 && !a.text && !a.reasoning) {
    // As OpenAI does: the first tool fragment rides on the role chunk.
    const [c] = a.toolCalls;
    first.tool_calls = [{ index: 0, id: c!.id, type: "function", function: { name: c!.name, arguments: "" } }];
  }
  out.push(chunk(first));
  if (a.reasoning) for (const piece of pieces(a.reasoning)) out.push(chunk({ reasoning_content: piece }));
  for (const piece of pieces(a.text)) out.push(chunk({ content: piece }));
  a.toolCalls.forEach((c, i) => {
    if (!(i === 0 && first.tool_calls)) out.push(chunk({ tool_calls: [{ index: i, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
    const cut = Math.ceil(c.arguments.length / 2);
    for (const part of [c.arguments.slice(0, cut), c.arguments.slice(cut)]) if (part) out.push(chunk({ tool_calls: [{ index: i, function: { arguments: part } }] }));
  });
  out.push(chunk({}, a.finishReason, a.usageInFinish ? a.usage : undefined));
  if (meta.usage) out.push(frame({ id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, system_fingerprint: "fp_fake", choices: [], usage: a.usage }));
  out.push("data: [DONE]\n\n");
  return out;
}

/** Splits after each run of whitespace, so the pieces concatenate back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function embeddings(body: any): Response {
  if (!body || typeof body.model !== "string") return openaiError(400, "you must provide a model parameter", "invalid_request_error", "model");
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
  if (inputs.length === 0 || inputs.some((s) => typeof s !== "string" || s === ""))
    return openaiError(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "invalid_request_error");
  const format = body.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") return openaiError(400, `Invalid value: '${format}'. Supported values are: 'float' and 'base64'.`, "invalid_request_error", "encoding_format");
  const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
  // Like the real API (text-embedding-3-large tops out at 3072); also keeps a fuzzed size from allocating gigabytes here.
  if (!Number.isInteger(dims) || dims < 1 || dims > 3072) return openaiError(400, `Invalid 'dimensions': must be an integer from 1 to 3072, got ${dims}.`, "invalid_request_error", "dimensions");
  let tokens = 0;
  const data = (inputs as string[]).map((s, index) => {
    tokens += Math.ceil(s.length / 4);
    const v = new Float32Array(dims);
    for (let i = 0; i < s.length; i++) v[i % dims]! += s.charCodeAt(i) / 1024;
    const embedding = format === "base64" ? Buffer.from(v.buffer).toString("base64") : Array.from(v);
    return { object: "embedding", index, embedding };
  });
  return json({ object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}
