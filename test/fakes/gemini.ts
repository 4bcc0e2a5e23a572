import { applyFault, chunkedBody, fakeControls, type FakeReply, type FakeState, type FakeUpstream, record } from "./common";
import { validateGenerateContent } from "./gemini-validate";

// A fake Gemini API (v1beta) on 127.0.0.1 in the exact wire format: generateContent, and
// streamGenerateContent as SSE (`?alt=sse`, each event a whole GenerateContentResponse, frames
// separated by CRLF CRLF, no [DONE]) or as one JSON array without it; embedContent,
// batchEmbedContents, the paginated model list. Keys go in `x-goog-api-key` (or `?key=`).

export const FAKE_GEMINI_KEY = "AIzaFakeGeminiKey0001";
/** The signature the fake puts on the first function call of an answer. */
export const FAKE_THOUGHT_SIGNATURE = "Q2lRQmZha2Utc2lnbmF0dXJl";

export interface GeminiFakeReply extends FakeReply {
  /** Thought summary, sent as `thought: true` parts when the request sets thinkingConfig.includeThoughts. */
  thinking?: string;
  /** Answer with no candidates and this `promptFeedback.blockReason`. */
  blockReason?: string;
  /** Leave `id` off function calls (most real answers carry none). */
  noCallIds?: boolean;
}

export interface GeminiFakeOptions {
  /** Accepted API keys (default [FAKE_GEMINI_KEY]). */
  keys?: string[];
  models?: string[];
}

export interface GeminiFake extends FakeUpstream {
  reply(r: GeminiFakeReply): void;
}

type Json = Record<string, any>;

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=UTF-8" } });

export function geminiErrorBody(code: number, status: string, message: string, details?: Json[]): Json {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}

const geminiError = (code: number, status: string, message: string, details?: Json[]) => json(geminiErrorBody(code, status, message, details), code);

const invalidKey = () =>
  geminiError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
    {
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "API_KEY_INVALID",
      domain: "googleapis.com",
      metadata: { service: "generativelanguage.googleapis.com" },
    },
  ]);

/** Splits after each run of whitespace, so the pieces concatenate back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

interface Answer {
  id: string;
  model: string;
  thought: string;
  text: string;
  calls: Json[];
  finishReason: string;
  usage: Json;
}

function buildAnswer(r: GeminiFakeReply, body: Json, model: string): Answer {
  const calls = (r.toolCalls ?? []).map((c, i) => {
    const part: Json = { functionCall: { name: c.name, args: c.arguments } };
    if (!r.noCallIds) part.functionCall.id = c.id ?? `fc${i}${Math.random().toString(36).slice(2, 10)}`;
    // Parallel calls: only the first one carries the signature.
    if (i === 0) part.thoughtSignature = FAKE_THOUGHT_SIGNATURE;
    return part;
  });
  const thought = body.generationConfig?.thinkingConfig?.includeThoughts ? (r.thinking ?? "") : "";
  const input = r.usage?.input ?? 12;
  const output = r.usage?.output ?? 5;
  const usage: Json = { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output };
  if (r.usage?.cached) usage.cachedContentTokenCount = r.usage.cached;
  if (thought) {
    usage.thoughtsTokenCount = pieces(thought).length;
    usage.totalTokenCount += usage.thoughtsTokenCount;
  }
  usage.promptTokensDetails = [{ modality: "TEXT", tokenCount: input }];
  return {
    id: Math.random().toString(36).slice(2, 14),
    model,
    thought,
    text: calls.length ? (r.text ?? "") : (r.text ?? "Hello from gemini fake"),
    calls,
    finishReason: r.finishReason ?? "STOP",
    usage,
  };
}

function response(a: Answer, parts: Json[], last: boolean): Json {
  const candidate: Json = { content: { parts, role: "model" }, index: 0 };
  if (last) candidate.finishReason = a.finishReason;
  // Every chunk reports usage so far; the last one carries the final counts.
  const usage = last ? a.usage : { promptTokenCount: a.usage.promptTokenCount, totalTokenCount: a.usage.promptTokenCount };
  return { candidates: [candidate], usageMetadata: usage, modelVersion: a.model, responseId: a.id };
}

function wholeAnswer(a: Answer): Json {
  const parts: Json[] = [];
  if (a.thought) parts.push({ text: a.thought, thought: true });
  if (a.text) parts.push({ text: a.text });
  parts.push(...a.calls);
  return response(a, parts, true);
}

function streamResponses(a: Answer): Json[] {
  const parts: Json[] = [
    ...pieces(a.thought).map((t) => ({ text: t, thought: true })),
    ...pieces(a.text).map((t) => ({ text: t })),
    ...a.calls,
  ];
  if (parts.length === 0) return [response(a, [], true)];
  return parts.map((p, i) => response(a, [p], i === parts.length - 1));
}

function blockedAnswer(model: string, reason: string): Json {
  return {
    promptFeedback: { blockReason: reason, safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "HIGH" }] },
    usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
    modelVersion: model,
    responseId: Math.random().toString(36).slice(2, 14),
  };
}

function vectorFor(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (let i = 0; i < text.length; i++) v[i % dims]! += text.charCodeAt(i) / 128;
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function embedOne(body: Json, at: string): number[] | string {
  const parts = body?.content?.parts;
  if (!Array.isArray(parts) || parts.length === 0) return `* ${at}content.parts: must not be empty`;
  const text = parts.map((p: Json) => p?.text ?? "").join("");
  const dims = body.outputDimensionality ?? 8;
  if (!Number.isInteger(dims) || dims < 1) return `* ${at}output_dimensionality: must be positive`;
  return vectorFor(text, dims);
}

function embedAnswer(method: string, model: string, body: Json): Response {
  if (method === "embedContent") {
    const v = embedOne(body, "EmbedContentRequest.");
    return typeof v === "string" ? geminiError(400, "INVALID_ARGUMENT", v) : json({ embedding: { values: v } });
  }
  const requests = body?.requests;
  if (!Array.isArray(requests) || requests.length === 0) return geminiError(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: must not be empty");
  if (requests.length > 100) return geminiError(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch");
  const embeddings: Json[] = [];
  for (let i = 0; i < requests.length; i++) {
    if (requests[i]?.model !== `models/${model}`)
      return geminiError(400, "INVALID_ARGUMENT", `* BatchEmbedContentsRequest.requests[${i}].model: the model must be models/${model}, as in the URL`);
    const v = embedOne(requests[i], `BatchEmbedContentsRequest.requests[${i}].`);
    if (typeof v === "string") return geminiError(400, "INVALID_ARGUMENT", v);
    embeddings.push({ values: v });
  }
  return json({ embeddings });
}

/**
 * `models.countTokens` (Gemini API reference, ai.google.dev/api/tokens): either `contents` or a
 * whole `generateContentRequest` — "you can either send Model + Contents or a
 * generateContentRequest, but never both" —; the latter names its model (`models/{model}`, its
 * required `model` field, as in the URL) and is checked like a generateContent body. Answers `totalTokens` and its per-modality `promptTokensDetails`; a reply's
 * `usage.input` sets the count, else the prompt's characters / 3 (not lmrelay's estimate, so tests
 * can tell the two apart).
 */
function countAnswer(model: string, body: Json, r: GeminiFakeReply): Response {
  const known = new Set(["contents", "generateContentRequest"]);
  for (const k of Object.keys(body)) if (!known.has(k)) return geminiError(400, "INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
  if ((body.contents === undefined) === (body.generateContentRequest === undefined))
    return geminiError(400, "INVALID_ARGUMENT", "* CountTokensRequest: exactly one of contents and generate_content_request must be set");
  let prompt: Json;
  if (body.generateContentRequest !== undefined) {
    const { model: named, ...rest } = body.generateContentRequest as Json;
    if (named !== `models/${model}`) return geminiError(400, "INVALID_ARGUMENT", `* GenerateContentRequest.model: the model must be models/${model}, as in the URL`);
    const problem = validateGenerateContent(rest, model);
    if (problem) return geminiError(400, "INVALID_ARGUMENT", problem);
    prompt = rest;
  } else {
    const problem = validateGenerateContent({ contents: body.contents }, model);
    if (problem) return geminiError(400, "INVALID_ARGUMENT", problem);
    prompt = { contents: body.contents };
  }
  const total = r.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify(prompt).length / 3));
  return json({ totalTokens: total, promptTokensDetails: [{ modality: "TEXT", tokenCount: total }] });
}

function modelInfo(name: string): Json {
  const methods = name.includes("embedding")
    ? ["embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"]
    : name.startsWith("imagen")
      ? ["predict"]
      : ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"];
  return { name: `models/${name}`, version: "001", displayName: name, description: `Fake ${name}`, inputTokenLimit: 1048576, outputTokenLimit: 65536, supportedGenerationMethods: methods };
}

function modelsAnswer(models: string[], url: URL): Response {
  const size = Math.min(Number(url.searchParams.get("pageSize") ?? "50") || 50, 1000);
  const token = url.searchParams.get("pageToken");
  const start = token ? Number(atob(token)) : 0;
  const body: Json = { models: models.slice(start, start + size).map(modelInfo) };
  if (start + size < models.length) body.nextPageToken = btoa(String(start + size));
  return json(body);
}

const CALL = /^\/v1(?:beta)?\/models\/([^/:]+):(\w+)$/;

export async function startGeminiFake(opts: GeminiFakeOptions = {}): Promise<GeminiFake> {
  const keys = new Set(opts.keys ?? [FAKE_GEMINI_KEY]);
  const state: FakeState & { replyWith: GeminiFakeReply } = { requests: [], faults: [], replyWith: {} };
  const fake = {
    models: opts.models ?? ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-embedding-001", "imagen-4.0-generate-001"],
  } as GeminiFake;

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
      const key = req.headers.get("x-goog-api-key") ?? url.searchParams.get("key");
      if (!key)
        return geminiError(
          403,
          "PERMISSION_DENIED",
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      if (!keys.has(key)) return invalidKey();

      if (req.method === "GET" && /^\/v1(beta)?\/models\/?$/.test(url.pathname)) return modelsAnswer(fake.models, url);
      const m = CALL.exec(url.pathname);
      if (req.method !== "POST" || !m) return geminiError(404, "NOT_FOUND", `Method not found: ${req.method} ${url.pathname}`);
      const [, model, method] = m as unknown as [string, string, string];
      if (!fake.models.includes(model))
        return geminiError(404, "NOT_FOUND", `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
      if (rec.body === undefined || typeof rec.body === "string") return geminiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
      if (method === "embedContent" || method === "batchEmbedContents") return embedAnswer(method, model, rec.body);
      if (method === "countTokens") return countAnswer(model, rec.body, state.replyWith);
      if (method !== "generateContent" && method !== "streamGenerateContent") return geminiError(404, "NOT_FOUND", `Method not found: ${method}`);

      const problem = validateGenerateContent(rec.body, model);
      if (problem) return geminiError(400, "INVALID_ARGUMENT", problem);
      const r = state.replyWith;
      const answer = buildAnswer(r, rec.body, model);
      const stream = method === "streamGenerateContent";
      const responses = r.blockReason ? [blockedAnswer(model, r.blockReason)] : stream ? streamResponses(answer) : [wholeAnswer(answer)];

      if (stream && url.searchParams.get("alt") === "sse") {
        const frames = responses.map((x) => `data: ${JSON.stringify(x)}\r\n\r\n`);
        return new Response(chunkedBody(frames, { delayMs: r.chunkDelayMs, cutAfter, holdLast: r.holdLast }), {
          headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
        });
      }
      // Without alt=sse the stream is one JSON array, written as it grows.
      const chunks = stream ? responses.map((x, i) => `${i === 0 ? "[" : ",\r\n"}${JSON.stringify(x)}${i === responses.length - 1 ? "]" : ""}`) : [JSON.stringify(responses[0])];
      if (cutAfter !== undefined && !stream) {
        const text = chunks[0]!;
        const size = Math.ceil(text.length / 4);
        const parts = [0, 1, 2, 3].map((i) => text.slice(i * size, (i + 1) * size));
        return new Response(chunkedBody(parts, { cutAfter }), { headers: { "content-type": "application/json; charset=UTF-8" } });
      }
      return new Response(chunkedBody(chunks, { delayMs: r.chunkDelayMs, cutAfter, holdLast: r.holdLast }), { headers: { "content-type": "application/json; charset=UTF-8" } });
    },
  });

  return Object.assign(fake, fakeControls<GeminiFakeReply>(server, state));
}
