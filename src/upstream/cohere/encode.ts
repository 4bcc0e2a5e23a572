import { lmrelayError } from "../../core/errors";
import type { ChatRequest, ContentPart, ImagePart, Message, Reasoning, TextPart } from "../../core/types";

// Canonical request → Cohere v2 `/v2/chat` body (wire names are snake_case). Pure: no I/O.
// Cohere takes images as OpenAI-style `image_url` parts (data URI or URL), so nothing is downloaded.

type CohereContent =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: string } }
  | { type: "thinking"; thinking: string };

export interface CohereToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type CohereMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | CohereContent[] }
  | { role: "assistant"; content?: string | CohereContent[]; tool_plan?: string; tool_calls?: CohereToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

const IMAGE_DETAILS = new Set(["auto", "low", "high"]);

/** Token budgets for an effort level when the client gave no explicit budget (same scale as the
 *  Anthropic adapter); `max` leaves the budget to the model. */
const EFFORT_BUDGET: Record<string, number | undefined> = { minimal: 512, low: 1024, medium: 2048, high: 4096 };

/** Cohere rejects `p` outside 0.01–0.99 and `k` above 500; OpenAI clients routinely send top_p 1. */
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function imageContent(part: ImagePart): CohereContent {
  const url = part.source.kind === "base64" ? `data:${part.source.mediaType};base64,${part.source.data}` : part.source.url;
  const image_url: { url: string; detail?: string } = { url };
  if (part.detail && IMAGE_DETAILS.has(part.detail)) image_url.detail = part.detail;
  return { type: "image_url", image_url };
}

/** One text part is sent as a plain string (what Cohere's own examples do); several as parts. */
function compactContent(parts: CohereContent[]): string | CohereContent[] {
  return parts.length === 1 && parts[0]!.type === "text" ? parts[0]!.text : parts;
}

function documentText(part: Extract<ContentPart, { type: "document" }>, providerId: string): CohereContent {
  // Cohere chat has no file parts; plain-text documents can still be read as text.
  if (part.mediaType.startsWith("text/")) return { type: "text", text: Buffer.from(part.data, "base64").toString("utf8") };
  throw lmrelayError("invalid_request", `${providerId} (cohere) cannot take ${part.mediaType} documents in chat messages`, {
    provider: providerId,
    param: "messages",
  });
}

/** A user turn: tool results become `tool` messages first (they must follow the assistant's calls),
 *  then the rest of the turn — including images returned by tools, which tool messages cannot hold. */
function encodeUserTurn(msg: Message, providerId: string, out: CohereMessage[]): void {
  const rest: CohereContent[] = [];
  const toolImages: CohereContent[] = [];
  for (const part of msg.content) {
    switch (part.type) {
      case "text":
        if (part.text) rest.push({ type: "text", text: part.text });
        break;
      case "image":
        rest.push(imageContent(part));
        break;
      case "document":
        rest.push(documentText(part, providerId));
        break;
      case "tool_result": {
        const texts: string[] = [];
        for (const c of part.content) {
          if (c.type === "text") texts.push(c.text);
          else toolImages.push(imageContent(c));
        }
        let text = texts.join("\n");
        if (part.isError) text = `Error: ${text}`;
        // An empty tool message is rejected; "{}" reads as "no output" (Cohere wants JSON-ish results).
        out.push({ role: "tool", tool_call_id: part.toolCallId, content: text || "{}" });
        break;
      }
      default:
        break; // thinking and tool calls belong to assistant turns
    }
  }
  const content = [...toolImages, ...rest];
  if (content.length > 0) out.push({ role: "user", content: compactContent(content) });
}

/** An assistant turn: with tool calls, its text is the `tool_plan` (the decoder maps tool_plan
 *  back to text, so the round trip is exact). Thinking is echoed only to reasoning requests. */
function encodeAssistantTurn(msg: Message, withThinking: boolean, out: CohereMessage[]): void {
  const texts: TextPart[] = [];
  const thinking: CohereContent[] = [];
  const calls: CohereToolCall[] = [];
  for (const part of msg.content) {
    if (part.type === "text") {
      if (part.text) texts.push(part);
    } else if (part.type === "thinking") {
      if (withThinking && part.text && !part.redacted) thinking.push({ type: "thinking", thinking: part.text });
    } else if (part.type === "tool_call") {
      calls.push({ id: part.id, type: "function", function: { name: part.name, arguments: part.arguments || "{}" } });
    }
  }
  if (calls.length > 0) {
    const m: CohereMessage = { role: "assistant", tool_calls: calls };
    if (texts.length) m.tool_plan = texts.map((t) => t.text).join("");
    if (thinking.length) m.content = thinking;
    out.push(m);
    return;
  }
  const content: CohereContent[] = [...thinking, ...texts.map((t): CohereContent => ({ type: "text", text: t.text }))];
  if (content.length > 0) out.push({ role: "assistant", content: compactContent(content) });
}

function encodeThinking(r: Reasoning): Record<string, unknown> {
  if (!r.enabled) return { type: "disabled" };
  const budget = r.budgetTokens ?? (r.effort ? EFFORT_BUDGET[r.effort] : undefined);
  return budget === undefined ? { type: "enabled" } : { type: "enabled", token_budget: budget };
}

export function encodeCohereMessages(req: ChatRequest, providerId: string): CohereMessage[] {
  const out: CohereMessage[] = [];
  // Cohere allows a single system turn, and only first.
  const system = req.system
    .map((p) => p.text)
    .filter((t) => t)
    .join("\n\n");
  if (system) out.push({ role: "system", content: system });
  const withThinking = req.reasoning?.enabled === true;
  for (const msg of req.messages) {
    if (msg.role === "user") encodeUserTurn(msg, providerId, out);
    else encodeAssistantTurn(msg, withThinking, out);
  }
  return out;
}

/** The whole `/v2/chat` body for `model` (the upstream's name for it). */
export function encodeCohereChat(req: ChatRequest, model: string, providerId: string): Record<string, unknown> {
  const body: Record<string, unknown> = { model, messages: encodeCohereMessages(req, providerId), stream: req.stream };

  let tools = req.tools;
  const choice = req.toolChoice;
  if (tools && tools.length > 0) {
    if (choice?.type === "tool") {
      // Cohere cannot force one named tool: offer only that tool and require a call.
      tools = tools.filter((t) => t.name === choice.name);
      if (tools.length === 0)
        throw lmrelayError("invalid_request", `tool_choice names "${choice.name}", which is not among the tools`, {
          param: "tool_choice",
        });
      body.tool_choice = "REQUIRED";
    } else if (choice?.type === "required") body.tool_choice = "REQUIRED";
    else if (choice?.type === "none") body.tool_choice = "NONE";
    body.tools = tools.map((t) => ({
      type: "function",
      function: t.description
        ? { name: t.name, description: t.description, parameters: t.parameters }
        : { name: t.name, parameters: t.parameters },
    }));
  }

  const rf = req.responseFormat;
  if (rf?.type === "json") body.response_format = rf.schema ? { type: "json_object", json_schema: rf.schema } : { type: "json_object" };
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.p = clamp(req.topP, 0.01, 0.99);
  if (req.topK !== undefined) body.k = clamp(Math.round(req.topK), 0, 500);
  if (req.stop && req.stop.length > 0) body.stop_sequences = req.stop;
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  if (req.reasoning) body.thinking = encodeThinking(req.reasoning);
  return body;
}
