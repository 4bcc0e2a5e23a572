import type { ChatRequest, ContentPart, DocumentPart, ImagePart, Message, ToolChoice, ToolResultPart } from "../../core/types";
import type { OpenAIQuirks } from "../presets";
import { NineCharToolIds } from "./toolIds";

// Canonical ChatRequest → OpenAI Chat Completions request body (openai.md, translation.md §1–5),
// bent to the preset's quirks (openai-compatible.md). Pure: no I/O.

export interface EncodedChat {
  body: Record<string, unknown>;
  /** Present when tool ids were rewritten; maps the answer's ids back. */
  toolIds?: NineCharToolIds;
}

type OpenAIPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: string } }
  | { type: "file"; file: { file_data: string; filename: string } };

type OpenAIMessage = Record<string, unknown>;

export function encodeChatRequest(req: ChatRequest, model: string, quirks: OpenAIQuirks = {}): EncodedChat {
  const toolIds = quirks.nineCharToolIds ? new NineCharToolIds() : undefined;
  const mapId = toolIds ? (id: string) => toolIds.toUpstream(id) : (id: string) => id;

  const messages: OpenAIMessage[] = [];
  const system = joinTexts(req.system.map((p) => p.text), "\n\n");
  if (system) messages.push({ role: "system", content: system });
  for (const m of req.messages) {
    if (m.role === "assistant") pushAssistant(messages, m, mapId);
    else pushUser(messages, m, mapId);
  }

  const body: Record<string, unknown> = { model, messages };
  const hasTools = !!req.tools && req.tools.length > 0;
  if (hasTools) {
    body.tools = req.tools!.map((t) => ({
      type: "function",
      function: t.description ? { name: t.name, description: t.description, parameters: t.parameters } : { name: t.name, parameters: t.parameters },
    }));
    // OpenAI rejects tool_choice / parallel_tool_calls when no tools are given.
    if (req.toolChoice) body.tool_choice = encodeToolChoice(req.toolChoice, quirks);
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.responseFormat) {
    const f = req.responseFormat;
    if (f.type === "text") body.response_format = { type: "text" };
    else if (!f.schema) body.response_format = { type: "json_object" };
    else {
      const jsonSchema: Record<string, unknown> = { name: f.name ?? "response", schema: f.schema };
      if (f.strict !== undefined) jsonSchema.strict = f.strict;
      body.response_format = { type: "json_schema", json_schema: jsonSchema };
    }
  }
  if (req.maxTokens !== undefined) body[quirks.maxTokensField ?? "max_completion_tokens"] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.topK !== undefined && quirks.topK) body.top_k = req.topK;
  if (req.stop && req.stop.length > 0) body.stop = req.stop;
  if (req.seed !== undefined) body[quirks.seedField ?? "seed"] = req.seed;
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  // Only an effort the client expressed: an Anthropic thinking budget says nothing a non-reasoning
  // OpenAI model would accept.
  if (req.reasoning?.enabled !== false && req.reasoning?.effort) body.reasoning_effort = req.reasoning.effort;
  if (req.user !== undefined) body.user = req.user;
  if (req.stream) {
    body.stream = true;
    // Usage is always wanted (accounting), whatever the client asked.
    if (!quirks.noStreamOptions) body.stream_options = { include_usage: true };
  }
  if (req.passthrough?.protocol === "openai") {
    for (const [k, v] of Object.entries(req.passthrough.fields)) if (!(k in body)) body[k] = v;
  }
  if (quirks.dropFields) for (const f of quirks.dropFields) delete body[f];
  return toolIds ? { body, toolIds } : { body };
}

function encodeToolChoice(choice: ToolChoice, quirks: OpenAIQuirks): unknown {
  switch (choice.type) {
    case "auto":
    case "none":
      return choice.type;
    case "required":
      return quirks.requiredToolChoice ?? "required";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

function pushAssistant(out: OpenAIMessage[], m: Message, mapId: (id: string) => string): void {
  const texts: string[] = [];
  const toolCalls: unknown[] = [];
  for (const p of m.content) {
    if (p.type === "text") texts.push(p.text);
    else if (p.type === "tool_call")
      toolCalls.push({ id: mapId(p.id), type: "function", function: { name: p.name, arguments: p.arguments || "{}" } });
    // Thinking has no OpenAI input form; images/documents cannot be assistant content.
  }
  const text = joinTexts(texts, "");
  if (!text && toolCalls.length === 0) return; // never send an empty message
  const msg: OpenAIMessage = { role: "assistant", content: text || null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  out.push(msg);
}

/** Tool results become `tool` messages ahead of the rest of the user's turn (translation.md §4). */
function pushUser(out: OpenAIMessage[], m: Message, mapId: (id: string) => string): void {
  const parts: OpenAIPart[] = [];
  for (const p of m.content) {
    if (p.type === "tool_result") {
      out.push({ role: "tool", tool_call_id: mapId(p.toolCallId), content: toolResultText(p) });
      // A tool message holds text only: its images follow in the user message.
      for (const c of p.content) if (c.type === "image") parts.push(encodeImage(c));
    } else {
      const part = encodeUserPart(p);
      if (part) parts.push(part);
    }
  }
  if (parts.length === 0) return;
  // Text-only turns go as a string: some local servers reject part arrays for text models.
  const textOnly = parts.every((p) => p.type === "text");
  out.push({ role: "user", content: textOnly ? parts.map((p) => (p as { text: string }).text).join("\n") : parts });
}

function encodeUserPart(p: ContentPart): OpenAIPart | undefined {
  switch (p.type) {
    case "text":
      return p.text ? { type: "text", text: p.text } : undefined;
    case "image":
      return encodeImage(p);
    case "document":
      return encodeDocument(p);
    default:
      return undefined; // thinking / tool calls have no place in a user turn
  }
}

function encodeImage(p: ImagePart): OpenAIPart {
  const url = p.source.kind === "base64" ? `data:${p.source.mediaType};base64,${p.source.data}` : p.source.url;
  return { type: "image_url", image_url: p.detail ? { url, detail: p.detail } : { url } };
}

function encodeDocument(p: DocumentPart): OpenAIPart {
  const ext = p.mediaType.split("/")[1]?.replace(/[^a-z0-9]/gi, "") || "bin";
  return { type: "file", file: { file_data: `data:${p.mediaType};base64,${p.data}`, filename: `document.${ext}` } };
}

function toolResultText(p: ToolResultPart): string {
  const text = joinTexts(
    p.content.flatMap((c) => (c.type === "text" ? [c.text] : [])),
    "\n",
  );
  // OpenAI has no error flag on tool results; say it in the text so the model still knows.
  return p.isError ? (text ? `Error: ${text}` : "Error") : text;
}

function joinTexts(texts: string[], sep: string): string {
  let out = "";
  for (const t of texts) {
    if (!t) continue;
    out = out ? out + sep + t : t;
  }
  return out;
}
