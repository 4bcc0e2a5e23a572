import { lmrelayError } from "../../core/errors";
import type { ChatRequest, ContentPart, ImagePart, Message, Reasoning, ToolCallPart, ToolResultPart } from "../../core/types";
import { requestToolArgumentsError, toolArgumentsObject } from "../../core/toolargs";

// Canonical request → Ollama `/api/chat` body. Pure: images given by URL must have been downloaded
// beforehand (`collectImageUrls` + a map url → base64), because Ollama only takes raw base64.

export interface OllamaMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  images?: string[];
  thinking?: string;
  tool_calls?: { id?: string; function: { name: string; arguments: Record<string, unknown> } }[];
  tool_name?: string;
  tool_call_id?: string;
}

export type OllamaThink = boolean | "low" | "medium" | "high";

/** Image URLs the request holds (messages and tool results), each once. */
export function collectImageUrls(req: ChatRequest): string[] {
  const urls = new Set<string>();
  const visit = (parts: readonly ContentPart[]) => {
    for (const p of parts) {
      if (p.type === "image" && p.source.kind === "url") urls.add(p.source.url);
      else if (p.type === "tool_result") visit(p.content);
    }
  };
  for (const m of req.messages) visit(m.content);
  return [...urls];
}

export function encodeOllamaChat(
  req: ChatRequest,
  model: string,
  downloaded: ReadonlyMap<string, string> = new Map(),
): Record<string, unknown> {
  const extra = req.passthrough?.protocol === "ollama" ? req.passthrough.fields : undefined;
  // Same-protocol options with no canonical field (num_ctx, keep_alive…) go first so that the
  // canonical fields, which the router may have rewritten, win.
  const body: Record<string, unknown> = {};
  let options: Record<string, unknown> = {};
  if (extra)
    for (const [k, v] of Object.entries(extra)) {
      if (k === "options") {
        if (v && typeof v === "object" && !Array.isArray(v)) options = { ...(v as Record<string, unknown>) };
      } else body[k] = v;
    }
  body.model = model;
  body.messages = encodeMessages(req, downloaded);

  if (req.tools?.length && req.toolChoice?.type !== "none")
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description !== undefined && { description: t.description }),
        parameters: t.parameters,
      },
    }));
  if (req.responseFormat?.type === "json") body.format = req.responseFormat.schema ?? "json";

  if (req.temperature !== undefined) options.temperature = req.temperature;
  if (req.topP !== undefined) options.top_p = req.topP;
  if (req.topK !== undefined) options.top_k = req.topK;
  if (req.maxTokens !== undefined) options.num_predict = req.maxTokens;
  if (req.stop?.length) options.stop = req.stop;
  if (req.seed !== undefined) options.seed = req.seed;
  if (req.presencePenalty !== undefined) options.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) options.frequency_penalty = req.frequencyPenalty;
  if (Object.keys(options).length) body.options = options;

  const think = thinkFor(req.reasoning);
  if (think !== undefined) body.think = think;
  body.stream = req.stream;
  return body;
}

/** Ollama `think`: a level only where the client gave one (gpt-oss style), else a boolean. */
export function thinkFor(reasoning: Reasoning | undefined): OllamaThink | undefined {
  if (!reasoning) return undefined;
  if (!reasoning.enabled) return false;
  switch (reasoning.effort) {
    case "minimal":
    case "low":
      return "low";
    case "medium":
      return "medium";
    case "high":
    case "xhigh":
    case "max": // "max" is recent; "high" is understood by every Ollama that takes levels
      return "high";
    default:
      return true;
  }
}

function encodeMessages(req: ChatRequest, downloaded: ReadonlyMap<string, string>): OllamaMessage[] {
  const out: OllamaMessage[] = [];
  const system = req.system
    .map((p) => p.text)
    .filter((t) => t !== "")
    .join("\n");
  if (system) out.push({ role: "system", content: system });
  // Ollama tool results name their function; the canonical result may only carry the call id.
  const toolNames = new Map<string, string>();
  for (const m of req.messages)
    if (m.role === "assistant") for (const p of m.content) if (p.type === "tool_call") toolNames.set(p.id, p.name);
  const image = (p: ImagePart): string => {
    if (p.source.kind === "base64") return p.source.data;
    const data = downloaded.get(p.source.url);
    if (data === undefined) throw lmrelayError("internal", "image URL was not downloaded before encoding");
    return data;
  };
  for (const m of req.messages) {
    if (m.role === "assistant") encodeAssistant(m, out);
    else encodeUser(m, out, toolNames, image);
  }
  return out;
}

function encodeAssistant(m: Message, out: OllamaMessage[]): void {
  const texts: string[] = [];
  const thinking: string[] = [];
  const calls: NonNullable<OllamaMessage["tool_calls"]> = [];
  for (const p of m.content) {
    if (p.type === "text") {
      if (p.text) texts.push(p.text);
    } else if (p.type === "thinking" && p.text) thinking.push(p.text);
    else if (p.type === "tool_call") calls.push({ id: p.id, function: { name: p.name, arguments: argumentsObject(p) } });
  }
  if (!texts.length && !thinking.length && !calls.length) return;
  const msg: OllamaMessage = { role: "assistant", content: texts.join("\n") };
  if (thinking.length) msg.thinking = thinking.join("\n");
  if (calls.length) msg.tool_calls = calls;
  out.push(msg);
}

function encodeUser(
  m: Message,
  out: OllamaMessage[],
  toolNames: ReadonlyMap<string, string>,
  image: (p: ImagePart) => string,
): void {
  // Tool results must follow the assistant's calls directly: their `tool` messages go first, the
  // user's own words and images after them in one message (translation.md §4).
  const texts: string[] = [];
  const images: string[] = [];
  let results = 0;
  let ownParts = 0;
  for (const p of m.content) {
    switch (p.type) {
      case "text":
        ownParts++;
        if (p.text) texts.push(p.text);
        break;
      case "image":
        images.push(image(p));
        break;
      case "document":
        throw lmrelayError("invalid_request", "Ollama models cannot read document (PDF) parts; send the text instead", {
          param: "messages",
        });
      case "tool_result":
        results++;
        out.push(encodeToolResult(p, toolNames, image));
        break;
      default:
        break; // thinking and tool calls only exist in assistant turns
    }
  }
  // Empty text beside tool results is noise; an empty user turn on its own is still the user's
  // turn (without it a trailing assistant message would read as a prefill to continue).
  if (!texts.length && !images.length && (results > 0 || ownParts === 0)) return;
  const msg: OllamaMessage = { role: "user", content: texts.join("\n") };
  if (images.length) msg.images = images;
  out.push(msg);
}

function encodeToolResult(p: ToolResultPart, toolNames: ReadonlyMap<string, string>, image: (p: ImagePart) => string): OllamaMessage {
  const texts: string[] = [];
  const images: string[] = [];
  for (const c of p.content) {
    if (c.type === "text") texts.push(c.text);
    else images.push(image(c));
  }
  const content = texts.join("\n");
  // Ollama has no error flag on tool results: say it in the text the model reads.
  const msg: OllamaMessage = { role: "tool", content: p.isError ? `Error: ${content}` : content };
  if (images.length) msg.images = images;
  const name = p.name ?? toolNames.get(p.toolCallId);
  if (name) msg.tool_name = name;
  if (p.toolCallId) msg.tool_call_id = p.toolCallId;
  return msg;
}

/** A tool call of the conversation as Ollama's `arguments` object; other text is refused, never `{}`. */
function argumentsObject(p: ToolCallPart): Record<string, unknown> {
  const args = toolArgumentsObject(p.arguments);
  if (!args) throw requestToolArgumentsError(p.name, p.arguments, "Ollama's tool_calls arguments");
  return args;
}
