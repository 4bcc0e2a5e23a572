import type { ChatRequest, ContentPart, ImagePart, Message, TextPart, ToolCallPart, ToolDefinition, ToolResultPart } from "../../core/types";
import {
  bodyObject,
  expectObject,
  invalid,
  isObject,
  type JsonObject,
  optArray,
  optString,
  requiredModel,
  streamFlag,
} from "./fields";
import { decodeImage } from "./images";
import { decodeSampling, isUnload } from "./options";

// Ollama `/api/chat` and `/api/generate` bodies → the canonical ChatRequest. A request with nothing
// to generate is Ollama's "load the model" call, answered without any upstream.

export type DecodedGeneration =
  | { kind: "generate"; request: ChatRequest }
  /** Empty chat/prompt: Ollama loads (or, with `keep_alive: 0`, unloads) the model and answers at once. */
  | { kind: "load"; model: string; unload: boolean };

export function decodeChatRequest(raw: unknown): DecodedGeneration {
  const body = bodyObject(raw);
  const model = requiredModel(body);
  const list = optArray(body, "messages", "messages");
  if (!list || list.length === 0) return { kind: "load", model, unload: isUnload(body.keep_alive) };
  const system: TextPart[] = [];
  const messages = decodeMessages(list, system);
  if (messages.length === 0) throw invalid("messages", "no user or assistant message has any content");
  const request: ChatRequest = { model, system, messages, stream: streamFlag(body), ...decodeSampling(body) };
  const tools = optArray(body, "tools", "tools");
  if (tools && tools.length > 0) request.tools = tools.map((t, i) => decodeTool(t, `tools[${i}]`));
  return { kind: "generate", request };
}

export function decodeGenerateRequest(raw: unknown): DecodedGeneration {
  const body = bodyObject(raw);
  const model = requiredModel(body);
  const prompt = optString(body, "prompt", "prompt") ?? "";
  const images = optArray(body, "images", "images") ?? [];
  // Fill-in-the-middle has no equivalent in the other protocols; answering without the suffix
  // would silently produce the wrong completion.
  if (optString(body, "suffix", "suffix")) throw invalid("suffix", "fill-in-the-middle (suffix) is not supported by lmrelay");
  if (prompt === "" && images.length === 0) return { kind: "load", model, unload: isUnload(body.keep_alive) };
  const content: ContentPart[] = images.map((img, i) => decodeImage(img, `images[${i}]`));
  if (prompt !== "") content.push({ type: "text", text: prompt });
  const systemText = optString(body, "system", "system");
  const request: ChatRequest = {
    model,
    system: systemText ? [{ type: "text", text: systemText }] : [],
    messages: [{ role: "user", content }],
    stream: streamFlag(body),
    legacyCompletion: true,
    ...decodeSampling(body),
  };
  return { kind: "generate", request };
}

interface PendingCall {
  id: string;
  name: string;
  answered: boolean;
}

/**
 * Ollama turns → canonical turns. System messages are hoisted (in order) into `system`. Consecutive
 * tool messages become one user turn of tool results. Messages left with no content are dropped
 * (upstreams such as Anthropic reject empty turns).
 */
function decodeMessages(list: unknown[], system: TextPart[]): Message[] {
  const out: Message[] = [];
  /** Tool calls of the latest assistant turn, for results that carry no id. */
  let pending: PendingCall[] = [];
  /** The user turn collecting the current run of tool results. */
  let toolTurn: Message | undefined;
  for (let i = 0; i < list.length; i++) {
    const param = `messages[${i}]`;
    const m = expectObject(list[i], param);
    const role = optString(m, "role", `${param}.role`)?.toLowerCase();
    const text = optString(m, "content", `${param}.content`) ?? "";
    const images = optArray(m, "images", `${param}.images`) ?? [];
    const imageParts = (): ImagePart[] => images.map((img, j) => decodeImage(img, `${param}.images[${j}]`));
    switch (role) {
      case "system":
        if (text) system.push({ type: "text", text });
        continue;
      case "user": {
        toolTurn = undefined;
        const content: ContentPart[] = imageParts();
        if (text) content.push({ type: "text", text });
        if (content.length) out.push({ role: "user", content });
        continue;
      }
      case "assistant": {
        toolTurn = undefined;
        if (images.length) throw invalid(`${param}.images`, "images are only accepted on user and tool messages");
        const content: ContentPart[] = [];
        const thinking = optString(m, "thinking", `${param}.thinking`);
        if (thinking) content.push({ type: "thinking", text: thinking });
        if (text) content.push({ type: "text", text });
        const calls = optArray(m, "tool_calls", `${param}.tool_calls`) ?? [];
        pending = [];
        for (let j = 0; j < calls.length; j++) {
          const call = decodeToolCall(calls[j], `${param}.tool_calls[${j}]`);
          pending.push({ id: call.id, name: call.name, answered: false });
          content.push(call);
        }
        if (content.length) out.push({ role: "assistant", content });
        continue;
      }
      case "tool": {
        const result = pairToolResult(m, param, pending);
        result.content = imageParts();
        if (text) result.content.push({ type: "text", text });
        if (toolTurn) toolTurn.content.push(result);
        else {
          toolTurn = { role: "user", content: [result] };
          out.push(toolTurn);
        }
        continue;
      }
      default:
        throw invalid(`${param}.role`, `expected "system", "user", "assistant" or "tool", got ${JSON.stringify(m.role ?? null)}`);
    }
  }
  return out;
}

/**
 * Ollama tool results carry no call id (newer clients send `tool_call_id`). Without one, a result
 * answers the first unanswered call of the latest assistant turn with the same `tool_name`, else
 * the first unanswered call in order.
 */
function pairToolResult(m: JsonObject, param: string, pending: PendingCall[]): ToolResultPart {
  const callId = optString(m, "tool_call_id", `${param}.tool_call_id`);
  const toolName = optString(m, "tool_name", `${param}.tool_name`) || optString(m, "name", `${param}.name`);
  let match: PendingCall | undefined;
  if (callId) match = pending.find((c) => c.id === callId);
  else {
    if (toolName) match = pending.find((c) => !c.answered && c.name === toolName);
    match ??= pending.find((c) => !c.answered);
  }
  if (match) match.answered = true;
  // An orphan result keeps a fresh id: the upstream then judges the history as the client wrote it.
  const result: ToolResultPart = { type: "tool_result", toolCallId: callId || match?.id || newCallId(), content: [] };
  const name = toolName || match?.name;
  if (name) result.name = name;
  return result;
}

function decodeToolCall(v: unknown, param: string): ToolCallPart {
  const call = expectObject(v, param);
  const fn = expectObject(call.function, `${param}.function`);
  const name = optString(fn, "name", `${param}.function.name`);
  if (!name) throw invalid(`${param}.function.name`, "tool call name is required");
  return {
    type: "tool_call",
    id: optString(call, "id", `${param}.id`) || newCallId(),
    name,
    arguments: argumentsText(fn.arguments, `${param}.function.arguments`),
  };
}

/** Ollama sends an arguments object; a JSON string (what OpenAI-minded clients send) is accepted too. */
function argumentsText(v: unknown, param: string): string {
  if (v === undefined || v === null) return "{}";
  if (isObject(v)) return JSON.stringify(v);
  if (typeof v === "string") {
    if (v.trim() === "") return "{}";
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw invalid(param, "expected an object (or a JSON object string)");
    }
    if (isObject(parsed)) return v;
  }
  throw invalid(param, "expected an object");
}

function decodeTool(v: unknown, param: string): ToolDefinition {
  const tool = expectObject(v, param);
  const type = optString(tool, "type", `${param}.type`);
  if (type !== undefined && type !== "function") throw invalid(`${param}.type`, `expected "function"`);
  const fn = expectObject(tool.function, `${param}.function`);
  const name = optString(fn, "name", `${param}.function.name`);
  if (!name) throw invalid(`${param}.function.name`, "tool name is required");
  const def: ToolDefinition = { name, parameters: { type: "object", properties: {} } };
  const description = optString(fn, "description", `${param}.function.description`);
  if (description) def.description = description;
  if (fn.parameters !== undefined && fn.parameters !== null) def.parameters = expectObject(fn.parameters, `${param}.function.parameters`);
  return def;
}

export function newCallId(): string {
  return `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}
