import { lmrelayError } from "../../core/errors";
import type { ChatRequest, ContentPart, ImagePart, ToolCallPart, ToolResultPart } from "../../core/types";
import { requestToolArgumentsError, toolArgumentsObject } from "../../core/toolargs";
import type { InlineImage } from "../images";
import { FunctionNames } from "./names";
import { toGeminiParameters, toGeminiSchema } from "../../core/gemini-schema";
import { fitGeminiConfig, type GeminiRules, geminiRulesFor } from "./rules";
import type { GeminiContent, GeminiGenerationConfig, GeminiPart, GeminiRequest } from "./wire";

// Canonical request → generateContent body. Pure: images given by URL must be downloaded by the
// caller first (`imageUrlsToInline`) and handed in as `inlined`.

export interface EncodeOptions {
  /** Downloaded images by URL. */
  inlined?: ReadonlyMap<string, InlineImage>;
  /** Signature Gemini gave a call, for calls that come back without one (see signatures.ts). */
  signatureFor?: (toolCallId: string) => string | undefined;
  /** The target model's rules (rules.ts); looked up from `req.model` when absent. */
  rules?: GeminiRules;
}

export interface EncodedGeminiRequest {
  body: GeminiRequest;
  /** Function names rewritten for Gemini, to map the answer's calls back. */
  names: FunctionNames;
  /** Changes made so the model takes the request (rules.ts). */
  adjusted: string[];
}

/** Gemini 3 refuses a function-call turn without a signature; histories from other models carry
 *  none, and Google documents this value for exactly that case. */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";

/** Thinking budgets per effort level; high and max share the largest budget every 2.5 model accepts. */
/** Files uploaded through the Gemini Files API are referenced, not downloaded (they need the key). */
function isGeminiFileUri(url: string): boolean {
  return /^https:\/\/generativelanguage\.googleapis\.com\/v1(beta)?\/files\//.test(url);
}

/** URLs of images that must be downloaded and inlined before encoding. */
export function imageUrlsToInline(req: ChatRequest): string[] {
  const urls = new Set<string>();
  const visit = (p: ContentPart | ImagePart) => {
    if (p.type === "image" && p.source.kind === "url" && !isGeminiFileUri(p.source.url)) urls.add(p.source.url);
    else if (p.type === "tool_result") for (const c of p.content) visit(c);
  };
  for (const m of req.messages) for (const p of m.content) visit(p);
  return [...urls];
}

function imagePart(img: ImagePart, inlined: ReadonlyMap<string, InlineImage>): GeminiPart {
  const src = img.source;
  if (src.kind === "base64") return { inlineData: { mimeType: src.mediaType, data: src.data } };
  if (isGeminiFileUri(src.url)) return { fileData: { fileUri: src.url } };
  const got = inlined.get(src.url);
  if (!got) throw lmrelayError("internal", "image URL was not downloaded before encoding the Gemini request");
  return { inlineData: { mimeType: got.mediaType, data: got.data } };
}

/** A tool call of the conversation as Gemini's `args` object; other text is refused, never `{}`. */
function parseArgs(p: ToolCallPart): Record<string, unknown> {
  const args = toolArgumentsObject(p.arguments);
  if (!args) throw requestToolArgumentsError(p.name, p.arguments, "Gemini's functionCall args");
  return args;
}

/** `response` must be an object: a JSON object result is sent as is, other output under `output`
 *  (or `error` for failed calls — the keys Gemini's docs name). */
function functionResponseBody(part: ToolResultPart): Record<string, unknown> {
  const text = part.content
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
  let value: unknown = text;
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) {
    try {
      value = JSON.parse(text);
    } catch {}
  }
  if (part.isError) return { error: value };
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : { output: value };
}

/** A user turn's parts. Function responses lead the turn, right after the model's calls (a client
 *  may have put its own words first); the user's text and images follow them. */
function encodeUserParts(parts: ContentPart[], ctx: EncodeCtx): GeminiPart[] {
  const responses: GeminiPart[] = [];
  const out: GeminiPart[] = [];
  for (const p of parts) {
    switch (p.type) {
      case "text":
        if (p.text) out.push({ text: p.text });
        break;
      case "image":
        out.push(imagePart(p, ctx.inlined));
        break;
      case "document":
        out.push({ inlineData: { mimeType: p.mediaType, data: p.data } });
        break;
      case "tool_result": {
        const name = p.name ?? ctx.callNames.get(p.toolCallId);
        if (!name) throw lmrelayError("invalid_request", `tool result "${p.toolCallId}" answers no earlier tool call`);
        const fr: NonNullable<GeminiPart["functionResponse"]> = { name: ctx.names.toWire(name), response: functionResponseBody(p) };
        if (p.toolCallId) fr.id = p.toolCallId;
        responses.push({ functionResponse: fr });
        // Gemini's functionResponse holds no images: send them right after it in the same turn.
        for (const c of p.content) if (c.type === "image") responses.push(imagePart(c, ctx.inlined));
        break;
      }
      // Thinking and tool calls belong to assistant turns only.
    }
  }
  return responses.length ? [...responses, ...out] : out;
}

function encodeModelParts(parts: ContentPart[], ctx: EncodeCtx): GeminiPart[] {
  const out: GeminiPart[] = [];
  for (const p of parts) {
    if (p.type === "text") {
      if (p.text) out.push({ text: p.text });
    } else if (p.type === "tool_call") {
      const part: GeminiPart = { functionCall: { name: ctx.names.toWire(p.name), args: parseArgs(p), id: p.id } };
      const signature = p.signature ?? ctx.signatureFor?.(p.id);
      if (signature) part.thoughtSignature = signature;
      out.push(part);
    }
    // Thought summaries are not sent back: Gemini keeps its reasoning state in the signatures.
  }
  return out;
}

/** Every model turn that calls functions carries a signature on its first call. */
function ensureSignatures(contents: GeminiContent[]): void {
  for (const c of contents) {
    if (c.role !== "model") continue;
    const calls = c.parts.filter((p) => p.functionCall);
    if (calls.length && !calls.some((p) => p.thoughtSignature)) calls[0]!.thoughtSignature = SKIP_SIGNATURE;
  }
}

interface EncodeCtx {
  names: FunctionNames;
  /** Tool-call id → canonical function name, from the history's calls. */
  callNames: Map<string, string>;
  inlined: ReadonlyMap<string, InlineImage>;
  signatureFor?: (toolCallId: string) => string | undefined;
}

function encodeContents(req: ChatRequest, ctx: EncodeCtx): GeminiContent[] {
  const contents: GeminiContent[] = [];
  for (const m of req.messages) {
    if (m.role === "assistant") for (const p of m.content) if (p.type === "tool_call") ctx.callNames.set(p.id, p.name);
    const role = m.role === "assistant" ? "model" : "user";
    const parts = role === "model" ? encodeModelParts(m.content, ctx) : encodeUserParts(m.content, ctx);
    if (!parts.length) continue;
    // Gemini wants strict user/model alternation: consecutive same-role turns become one.
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  }
  ensureSignatures(contents);
  ensureResponses(contents);
  return contents;
}

/** Gemini refuses a function-call turn unless the next turn answers every call. A client that
 *  dropped a result gets a stub error response in its place (as the Anthropic adapter does). */
function ensureResponses(contents: GeminiContent[]): void {
  for (let i = 0; i < contents.length - 1; i++) {
    const turn = contents[i]!;
    if (turn.role !== "model") continue;
    const calls = turn.parts.flatMap((p) => (p.functionCall ? [p.functionCall] : []));
    if (!calls.length) continue;
    let next = contents[i + 1]!;
    if (next.role !== "user") {
      next = { role: "user", parts: [] };
      contents.splice(i + 1, 0, next);
    }
    const answered = new Set(next.parts.flatMap((p) => (p.functionResponse ? [p.functionResponse.id ?? p.functionResponse.name] : [])));
    const missing = calls.filter((c) => !answered.has(c.id ?? c.name) && !answered.has(c.name));
    const stubs: GeminiPart[] = missing.map((c) => ({
      functionResponse: { name: c.name, response: { error: "no result was provided for this call" }, ...(c.id ? { id: c.id } : {}) },
    }));
    if (stubs.length) next.parts.unshift(...stubs);
  }
}

function encodeGenerationConfig(req: ChatRequest, rules: GeminiRules, adjusted: string[]): GeminiGenerationConfig | undefined {
  const g: GeminiGenerationConfig = {};
  if (req.maxTokens !== undefined) g.maxOutputTokens = req.maxTokens;
  if (req.temperature !== undefined) g.temperature = req.temperature;
  if (req.topP !== undefined) g.topP = req.topP;
  if (req.topK !== undefined) g.topK = req.topK;
  if (req.stop?.length) g.stopSequences = req.stop;
  if (req.seed !== undefined) g.seed = req.seed;
  if (req.presencePenalty !== undefined) g.presencePenalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) g.frequencyPenalty = req.frequencyPenalty;
  if (req.responseFormat?.type === "json") {
    g.responseMimeType = "application/json";
    if (req.responseFormat.schema) {
      const schema = toGeminiSchema(req.responseFormat.schema);
      // An OBJECT without properties is refused; plain JSON mode says the same.
      if (!(schema.type === "OBJECT" && !schema.properties)) g.responseSchema = schema;
    }
  }
  adjusted.push(...fitGeminiConfig(g, req.reasoning, rules));
  return Object.keys(g).length ? g : undefined;
}

export function encodeGeminiRequest(req: ChatRequest, opts: EncodeOptions = {}): EncodedGeminiRequest {
  const names = new FunctionNames();
  const ctx: EncodeCtx = { names, callNames: new Map(), inlined: opts.inlined ?? new Map(), signatureFor: opts.signatureFor };
  const body: GeminiRequest = { contents: encodeContents(req, ctx) };

  const system = req.system.filter((p) => p.text).map((p) => ({ text: p.text }));
  if (system.length) body.systemInstruction = { parts: system };

  if (req.tools?.length) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => {
          const decl: { name: string; description?: string; parameters?: Record<string, unknown> } = { name: names.toWire(t.name) };
          if (t.description) decl.description = t.description;
          const parameters = toGeminiParameters(t.parameters);
          if (parameters) decl.parameters = parameters;
          return decl;
        }),
      },
    ];
    const choice = req.toolChoice;
    if (choice?.type === "auto") body.toolConfig = { functionCallingConfig: { mode: "AUTO" } };
    else if (choice?.type === "none") body.toolConfig = { functionCallingConfig: { mode: "NONE" } };
    else if (choice?.type === "required") body.toolConfig = { functionCallingConfig: { mode: "ANY" } };
    else if (choice?.type === "tool")
      body.toolConfig = { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [names.toWire(choice.name)] } };
  }

  const adjusted: string[] = [];
  const generationConfig = encodeGenerationConfig(req, opts.rules ?? geminiRulesFor({ type: "gemini" }, req.model), adjusted);
  if (generationConfig) body.generationConfig = generationConfig;
  // A Gemini client's own fields with no canonical meaning (safetySettings).
  if (req.passthrough?.protocol === "gemini") for (const [k, v] of Object.entries(req.passthrough.fields)) if (!(k in body)) (body as unknown as Record<string, unknown>)[k] = v;
  return { body, names, adjusted };
}
