import { applyFault, chunkedBody, fakeControls, type FakeReply, type FakeState, type FakeUpstream, record } from "./common";
import { validateChatBody, validateGenerateBody } from "./ollama-validate";

// A fake Ollama server on 127.0.0.1 speaking the exact native wire format: `/api/chat` and
// `/api/generate` stream NDJSON unless `stream:false`, tool calls arrive whole in a `done:false`
// line, the last line is `done:true` with `done_reason`, token counts and nanosecond durations.
// Faults apply to the inference endpoints (chat, generate, embed, embeddings) only, so that model
// discovery polling `/api/tags` does not swallow a fault a test queued for a chat.

export interface OllamaFakeReply extends FakeReply {
  /** Reasoning streamed as `message.thinking` when the request sets `think` on a thinking model. */
  thinking?: string;
}

export interface OllamaFakeOptions {
  /** Installed models (default `llama3.2:latest`, `qwen3:8b`, `gpt-oss:20b`, `all-minilm:latest`). */
  models?: string[];
  /** Require `Authorization: Bearer <one of these>` like the hosted API; absent = no auth, like a local Ollama. */
  keys?: string[];
  /** Length of the fake embedding vectors when the request does not ask for `dimensions` (default 8). */
  embeddingDimensions?: number;
  /** List each model's `capabilities` in `/api/tags` too, as newer servers do (default: only `/api/show`). */
  tagCapabilities?: boolean;
}

export interface OllamaFake extends FakeUpstream {
  reply(r: OllamaFakeReply): void;
  /** The next chat/generate answer sends `afterLines` normal lines, then `{"error": message}`. */
  failMidStream(message: string, afterLines?: number): void;
}

const VERSION = "0.13.5";
const DEFAULT_MODELS = ["llama3.2:latest", "qwen3:8b", "gpt-oss:20b", "all-minilm:latest"];

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
const ollamaError = (status: number, message: string) => json({ error: message }, status);

/** Ollama reads a name without a tag as `:latest` and compares names case-insensitively. */
function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.slice(lower.lastIndexOf("/") + 1).includes(":") ? lower : `${lower}:latest`;
}

const canThink = (model: string) => /qwen3|deepseek-r1|gpt-oss|magistral/i.test(model);
const takesThinkLevels = (model: string) => /gpt-oss/i.test(model);
const isEmbedding = (model: string) => /minilm|embed|bge/i.test(model);
/** Like the real library: gemma, llava and codellama templates declare no tools. */
const takesTools = (model: string) => !isEmbedding(model) && !/gemma|llava|codellama/i.test(model);

/** Splits after each run of whitespace, so the pieces concatenate back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function wordCount(value: unknown): number {
  if (typeof value === "string") return pieces(value).length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + wordCount(v), 0);
  if (value && typeof value === "object") return Object.values(value).reduce((n: number, v) => n + wordCount(v), 0);
  return 0;
}

/** A deterministic unit vector per text, so tests can compare embeddings. */
function embedding(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (let i = 0; i < text.length; i++) v[i % dims]! += ((text.charCodeAt(i) * (i + 1)) % 97) / 97;
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

interface Answer {
  model: string;
  thinking: string[];
  text: string[];
  toolCalls: { id?: string; function: { index: number; name: string; arguments: Record<string, unknown> } }[];
  doneReason: string;
  promptTokens: number;
  startedAt: number;
}

function buildAnswer(r: OllamaFakeReply, body: any, prompt: unknown): Answer {
  const toolCalls = (r.toolCalls ?? []).map((c, index) => ({
    ...(c.id !== undefined && { id: c.id }),
    function: { index, name: c.name, arguments: c.arguments },
  }));
  let text = pieces(r.text ?? (toolCalls.length ? "" : "Hello from Ollama fake"));
  let doneReason = r.finishReason ?? "stop";
  const limit = body.options?.num_predict;
  if (typeof limit === "number" && limit >= 0 && text.length > limit) {
    text = text.slice(0, limit);
    doneReason = "length";
  }
  const thinks = body.think !== undefined && body.think !== false;
  return {
    model: body.model,
    thinking: thinks ? pieces(r.thinking ?? "Let me think about that.") : [],
    text,
    toolCalls,
    doneReason,
    promptTokens: r.usage?.input ?? 10 + wordCount(prompt),
    startedAt: performance.now(),
  };
}

/** `done:true` metrics: counts plus durations in nanoseconds. */
function metrics(a: Answer, r: OllamaFakeReply) {
  const total = Math.max(1, Math.round((performance.now() - a.startedAt) * 1e6));
  return {
    total_duration: total + 1_500_000,
    load_duration: 1_000_000,
    prompt_eval_count: a.promptTokens,
    prompt_eval_duration: 400_000,
    eval_count: r.usage?.output ?? a.thinking.length + a.text.length + a.toolCalls.length,
    eval_duration: total,
  };
}

function chatLines(a: Answer, r: OllamaFakeReply): unknown[] {
  const line = (message: Record<string, unknown>) => ({
    model: a.model,
    created_at: new Date().toISOString(),
    message: { role: "assistant", content: "", ...message },
    done: false,
  });
  const lines: unknown[] = [];
  for (const t of a.thinking) lines.push(line({ thinking: t }));
  for (const t of a.text) lines.push(line({ content: t }));
  if (a.toolCalls.length) lines.push(line({ tool_calls: a.toolCalls }));
  lines.push({ ...line({}), done: true, done_reason: a.doneReason, ...metrics(a, r) });
  return lines;
}

function chatObject(a: Answer, r: OllamaFakeReply): unknown {
  const message: Record<string, unknown> = { role: "assistant", content: a.text.join("") };
  if (a.thinking.length) message.thinking = a.thinking.join("");
  if (a.toolCalls.length) message.tool_calls = a.toolCalls;
  return { model: a.model, created_at: new Date().toISOString(), message, done: true, done_reason: a.doneReason, ...metrics(a, r) };
}

function generateLines(a: Answer, r: OllamaFakeReply): unknown[] {
  const line = (fields: Record<string, unknown>) => ({ model: a.model, created_at: new Date().toISOString(), response: "", ...fields, done: false });
  const lines: unknown[] = [];
  for (const t of a.thinking) lines.push(line({ thinking: t }));
  for (const t of a.text) lines.push(line({ response: t }));
  lines.push({ ...line({}), done: true, done_reason: a.doneReason, context: [1, 2, 3], ...metrics(a, r) });
  return lines;
}

function generateObject(a: Answer, r: OllamaFakeReply): unknown {
  const out: Record<string, unknown> = { model: a.model, created_at: new Date().toISOString(), response: a.text.join("") };
  if (a.thinking.length) out.thinking = a.thinking.join("");
  return { ...out, done: true, done_reason: a.doneReason, context: [1, 2, 3], ...metrics(a, r) };
}

function modelEntry(name: string) {
  const family = name.split(/[:/]/)[0]!.replace(/[\d.]+$/, "") || "llama";
  return {
    name,
    model: name,
    modified_at: "2025-05-04T17:37:44.706015396-07:00",
    size: 2019393189,
    digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    details: { parent_model: "", format: "gguf", family, families: [family], parameter_size: "3.2B", quantization_level: "Q4_K_M" },
  };
}

function capabilities(model: string): string[] {
  if (isEmbedding(model)) return ["embedding"];
  const caps = ["completion"];
  if (takesTools(model)) caps.push("tools");
  if (canThink(model)) caps.push("thinking");
  if (/llava|vision|gemma3/i.test(model)) caps.push("vision");
  return caps;
}

export async function startOllamaFake(opts: OllamaFakeOptions = {}): Promise<OllamaFake> {
  const state: FakeState = { requests: [], faults: [], replyWith: {} };
  const midStream: { message: string; afterLines: number }[] = [];
  const dims = opts.embeddingDimensions ?? 8;

  const installed = (name: unknown): string | undefined =>
    typeof name === "string" ? fake.models.find((m) => canonicalName(m) === canonicalName(name)) : undefined;

  /** NDJSON (or one JSON object when `stream:false`), honouring cut faults and queued mid-stream errors. */
  const answer = (body: any, lines: unknown[], whole: unknown, cutAfter: number | undefined): Response => {
    const r = state.replyWith as OllamaFakeReply;
    const broken = midStream.shift();
    if (body.stream === false) {
      if (broken) return ollamaError(500, broken.message);
      return new Response(chunkedBody([JSON.stringify(whole)], { cutAfter }), { headers: { "content-type": "application/json; charset=utf-8" } });
    }
    let framed = lines.map((l) => `${JSON.stringify(l)}\n`);
    if (broken) framed = [...framed.slice(0, broken.afterLines), `${JSON.stringify({ error: broken.message })}\n`];
    return new Response(chunkedBody(framed, { delayMs: r.chunkDelayMs, cutAfter, holdLast: r.holdLast }), { headers: { "content-type": "application/x-ndjson" } });
  };

  const inference = async (path: string, body: any): Promise<Response> => {
    const fault = await applyFault(state);
    if (fault instanceof Response) return fault;
    const cutAfter = fault?.cutAfter;
    if (!body || typeof body !== "object" || Array.isArray(body)) return ollamaError(400, "invalid character looking for beginning of value");
    if (typeof body.model !== "string" || !body.model) return ollamaError(400, "model is required");
    const model = installed(body.model);
    if (!model) return ollamaError(404, `model '${body.model}' not found`);
    const r = state.replyWith as OllamaFakeReply;

    if (path === "/api/embed" || path === "/api/embeddings") {
      if (!isEmbedding(model)) return ollamaError(400, `"${body.model}" does not support embeddings`);
      if (path === "/api/embeddings") return json({ embedding: embedding(String(body.prompt ?? ""), dims) });
      const inputs: unknown[] = Array.isArray(body.input) ? body.input : body.input === undefined ? [] : [body.input];
      if (!inputs.every((s) => typeof s === "string")) return ollamaError(400, "invalid input type");
      const size = typeof body.dimensions === "number" && body.dimensions > 0 ? body.dimensions : dims;
      return json({
        model: body.model,
        embeddings: inputs.map((s) => embedding(s as string, size)),
        total_duration: 14_143_917,
        load_duration: 1_019_500,
        prompt_eval_count: r.usage?.input ?? inputs.reduce((n: number, s) => n + wordCount(s), 0),
      });
    }

    if (isEmbedding(model)) return ollamaError(400, `"${body.model}" does not support ${path === "/api/chat" ? "chat" : "generate"}`);
    const problem = path === "/api/chat" ? validateChatBody(body) : validateGenerateBody(body);
    if (problem) return ollamaError(400, problem);
    if (Array.isArray(body.tools) && body.tools.length > 0 && !takesTools(model)) return ollamaError(400, `"${body.model}" does not support tools`);
    if (body.think !== undefined && body.think !== false && !canThink(model))
      return ollamaError(400, `"${body.model}" does not support thinking`);
    // Older servers (the behaviour lmrelay must survive) accept think levels only for gpt-oss.
    if (typeof body.think === "string" && !takesThinkLevels(model))
      return ollamaError(400, `think value ${JSON.stringify(body.think)} is not supported for this model`);
    if (path === "/api/chat") {
      const a = buildAnswer(r, body, body.messages);
      return answer(body, chatLines(a, r), chatObject(a, r), cutAfter);
    }
    const a = buildAnswer({ ...r, toolCalls: undefined }, body, [body.system, body.prompt]);
    return answer(body, generateLines(a, r), generateObject(a, r), cutAfter);
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const rec = await record(req);
      state.requests.push(rec);
      const { method, path, body } = rec;
      if (path === "/" && (method === "GET" || method === "HEAD"))
        return new Response(method === "HEAD" ? null : "Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } });
      if (opts.keys && path.startsWith("/api/")) {
        const auth = rec.headers.authorization ?? "";
        if (!opts.keys.some((k) => auth === `Bearer ${k}`)) return ollamaError(401, "unauthorized");
      }
      if (method === "POST" && ["/api/chat", "/api/generate", "/api/embed", "/api/embeddings"].includes(path)) {
        if (typeof body === "string") return ollamaError(400, "invalid character looking for beginning of value");
        return inference(path, body);
      }
      if ((method === "GET" || method === "HEAD") && path === "/api/version") return json({ version: VERSION });
      if ((method === "GET" || method === "HEAD") && path === "/api/tags")
        return json({ models: fake.models.map((m) => (opts.tagCapabilities ? { ...modelEntry(m), capabilities: capabilities(m) } : modelEntry(m))) });
      if (method === "GET" && path === "/api/ps")
        return json({
          models: fake.models.slice(0, 1).map((m) => ({ ...modelEntry(m), expires_at: "2030-01-01T00:00:00Z", size_vram: 2019393189, context_length: 4096 })),
        });
      if (method === "POST" && path === "/api/show") {
        const requested = body?.model ?? body?.name;
        const model = installed(requested);
        if (!model) return ollamaError(404, `model '${requested}' not found`);
        const { details } = modelEntry(model);
        return json({
          license: "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
          modelfile: `# Modelfile generated by "ollama show"\nFROM ${model}\n`,
          parameters: 'stop                           "<|eot_id|>"',
          template: "{{ .Prompt }}",
          details,
          model_info: { "general.architecture": details.family, [`${details.family}.context_length`]: 131072 },
          capabilities: capabilities(model),
          modified_at: "2025-05-04T17:37:44.706015396-07:00",
        });
      }
      return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
    },
  });

  const fake: OllamaFake = {
    ...fakeControls<OllamaFakeReply>(server, state),
    models: opts.models ?? [...DEFAULT_MODELS],
    failMidStream(message: string, afterLines = 1) {
      midStream.push({ message, afterLines });
    },
  };
  return fake;
}
