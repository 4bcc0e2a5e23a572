import { lmrelayError } from "../../core/errors";
import type { ContentPart, DocumentPart, ImagePart, Message, TextPart, ToolCallPart, ToolResultPart } from "../../core/types";
import { type Json, invalidParam, isObject, missingParam, requiredString, unsupported, wrongType } from "../openai/check";
import { imageSource, parseDataUri } from "../openai/content";
import { envelopeParts, openReasoning } from "./envelope";
import { flatName } from "./tools";

// Responses input items → the canonical system prompt and turns. Consecutive assistant-side items
// (reasoning, assistant messages, function and custom tool calls) form one assistant turn; user
// messages and tool outputs form user turns; system and developer messages join the system prompt.

/** Items produced by OpenAI's hosted tools: they only ever come from OpenAI itself, and no other
 *  upstream could read them, so a translated request leaves them out (named as an adjustment). */
const HOSTED_ITEMS = new Set([
  "web_search_call", "file_search_call", "code_interpreter_call", "computer_call", "computer_call_output",
  "image_generation_call", "local_shell_call", "local_shell_call_output", "mcp_call", "mcp_list_tools",
  "mcp_approval_request", "mcp_approval_response", "shell_call", "shell_call_output", "apply_patch_call",
  "apply_patch_call_output", "tool_search_call", "tool_search_output", "compaction",
]);

export interface DecodedItems {
  system: TextPart[];
  messages: Message[];
  /** Hosted-tool items and foreign reasoning left out, one note each kind. */
  dropped: Set<string>;
}

/** An item_reference's target, resolved by the caller (404 when unknown). */
export type ItemLookup = (id: string, param: string) => Json;

export function decodeItems(items: Json[], params: string[], lookup: ItemLookup): DecodedItems {
  const out: DecodedItems = { system: [], messages: [], dropped: new Set() };
  const names = new Map<string, string>();
  /** Gemini signatures from reasoning envelopes, for the calls that follow them. */
  const callSignatures = new Map<string, { signature: string; origin: string }>();
  for (let i = 0; i < items.length; i++) {
    let item = items[i]!;
    let param = params[i]!;
    if (item.type === "item_reference") {
      const id = requiredString(item, "id", `${param}.id`);
      item = lookup(id, param);
      param = `${param} (item ${id})`;
    }
    decodeItem(item, param, out, names, callSignatures);
  }
  return out;
}

function turn(out: DecodedItems, role: "user" | "assistant"): ContentPart[] {
  const last = out.messages.at(-1);
  if (last?.role === role) return last.content;
  const m: Message = { role, content: [] };
  out.messages.push(m);
  return m.content;
}

function decodeItem(item: Json, param: string, out: DecodedItems, names: Map<string, string>, sigs: Map<string, { signature: string; origin: string }>): void {
  const type = item.type ?? (item.role !== undefined ? "message" : undefined);
  switch (type) {
    case "message":
      return decodeMessage(item, param, out);
    case "function_call":
    case "custom_tool_call": {
      const id = requiredString(item, "call_id", `${param}.call_id`);
      const own = requiredString(item, "name", `${param}.name`);
      const ns = item.namespace;
      const name = typeof ns === "string" && ns !== "" ? flatName(ns, own) : own;
      let args: string;
      if (type === "custom_tool_call") {
        const input = item.input;
        if (typeof input !== "string") throw wrongType(`${param}.input`, "a string", input);
        args = JSON.stringify({ input });
      } else {
        const a = item.arguments;
        if (typeof a !== "string") throw a === undefined ? missingParam(`${param}.arguments`) : wrongType(`${param}.arguments`, "a JSON string", a);
        args = a === "" ? "{}" : a;
      }
      const part: ToolCallPart = { type: "tool_call", id, name, arguments: args };
      const sig = sigs.get(id);
      if (sig) ((part.signature = sig.signature), (part.signatureOrigin = sig.origin));
      names.set(id, name);
      turn(out, "assistant").push(part);
      return;
    }
    case "function_call_output":
    case "custom_tool_call_output": {
      const toolCallId = requiredString(item, "call_id", `${param}.call_id`);
      const part: ToolResultPart = { type: "tool_result", toolCallId, content: toolOutput(item.output, `${param}.output`) };
      const name = names.get(toolCallId);
      if (name !== undefined) part.name = name;
      const content = turn(out, "user");
      // Tool results lead their turn (Anthropic wants them before any text of the same turn).
      let at = 0;
      while (at < content.length && content[at]!.type === "tool_result") at++;
      content.splice(at, 0, part);
      return;
    }
    case "reasoning": {
      const env = openReasoning(item.encrypted_content);
      if (!env) {
        // OpenAI's own encrypted reasoning or a bare summary: nothing a translated upstream can verify.
        out.dropped.add("reasoning items not produced through lmrelay");
        return;
      }
      const parts = envelopeParts(env);
      if (parts.length > 0) turn(out, "assistant").push(...parts);
      for (const [id, signature] of Object.entries(env.callSignatures ?? {})) sigs.set(id, { signature, origin: env.provider });
      return;
    }
    case "additional_tools":
      // Tools, not conversation: read with the request's tools (decode.ts).
      return;
    case "item_reference":
      throw invalidParam(`${param}.type`, "an item_reference may not point at another item_reference");
    case undefined:
      throw missingParam(`${param}.type`);
    default:
      if (typeof type === "string" && HOSTED_ITEMS.has(type)) {
        out.dropped.add(`${type} items`);
        return;
      }
      throw invalidParam(`${param}.type`, `is not a known input item type: ${JSON.stringify(type)}`);
  }
}

function decodeMessage(item: Json, param: string, out: DecodedItems): void {
  const role = item.role;
  const content = item.content;
  switch (role) {
    case "system":
    case "developer":
      for (const p of textParts(content, `${param}.content`, ["input_text", "text"])) out.system.push(p);
      return;
    case "assistant": {
      const parts = textParts(content, `${param}.content`, ["output_text", "refusal", "input_text", "text"]).filter((p) => p.text !== "");
      if (parts.length > 0) turn(out, "assistant").push(...parts);
      return;
    }
    case "user": {
      const parts = userParts(content, `${param}.content`);
      if (parts.length > 0) turn(out, "user").push(...parts);
      return;
    }
    case undefined:
      throw missingParam(`${param}.role`);
    default:
      throw invalidParam(`${param}.role`, `must be one of user, assistant, system, developer, got ${JSON.stringify(role)}`);
  }
}

function partsArray(content: unknown, param: string): Json[] {
  if (content === undefined || content === null) throw missingParam(param);
  if (!Array.isArray(content)) throw wrongType(param, "a string or an array of content parts", content);
  return content.map((p, i) => {
    if (!isObject(p)) throw wrongType(`${param}[${i}]`, "a content part object", p);
    return p;
  });
}

function textParts(content: unknown, param: string, allowed: string[]): TextPart[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return partsArray(content, param).map((p, i) => {
    const type = p.type;
    if (typeof type !== "string" || !allowed.includes(type)) throw invalidParam(`${param}[${i}].type`, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(type)}`);
    const key = type === "refusal" ? "refusal" : "text";
    const text = p[key];
    if (typeof text !== "string") throw wrongType(`${param}[${i}].${key}`, "a string", text);
    return { type: "text", text };
  });
}

type UserPart = TextPart | ImagePart | DocumentPart;

function userParts(content: unknown, param: string): UserPart[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return partsArray(content, param).map((p, i) => userPart(p, `${param}[${i}]`));
}

function userPart(p: Json, param: string): UserPart {
  switch (p.type) {
    case "input_text":
    case "text":
    case "output_text": {
      const text = p.text;
      if (typeof text !== "string") throw wrongType(`${param}.text`, "a string", text);
      return { type: "text", text };
    }
    case "input_image": {
      const url = p.image_url;
      if (typeof url !== "string") {
        if (p.file_id !== undefined && p.file_id !== null) throw unsupported(`${param}.file_id`, "uploaded file references (file_id)");
        throw url === undefined || url === null ? missingParam(`${param}.image_url`) : wrongType(`${param}.image_url`, "a string", url);
      }
      const part: ImagePart = { type: "image", source: imageSource(url, `${param}.image_url`) };
      if (typeof p.detail === "string" && p.detail !== "auto") part.detail = p.detail;
      return part;
    }
    case "input_file": {
      const data = p.file_data;
      if (typeof data !== "string") {
        if (p.file_id !== undefined && p.file_id !== null) throw unsupported(`${param}.file_id`, "uploaded file references (file_id)");
        if (p.file_url !== undefined && p.file_url !== null) throw unsupported(`${param}.file_url`, "files by URL (send file_data)");
        throw missingParam(`${param}.file_data`);
      }
      const uri = parseDataUri(data);
      // The API also takes bare base64; without a media type it can only be a PDF.
      if (uri) return { type: "document", mediaType: uri.mediaType, data: uri.data };
      if (!/^[A-Za-z0-9+/=\s]+$/.test(data)) throw invalidParam(`${param}.file_data`, "must be a base64 data URI (data:<mime>;base64,...)");
      return { type: "document", mediaType: "application/pdf", data };
    }
    case "input_audio":
      throw unsupported(`${param}.type`, "audio input");
    default:
      throw invalidParam(`${param}.type`, `must be one of input_text, input_image, input_file, got ${JSON.stringify(p.type)}`);
  }
}

function toolOutput(output: unknown, param: string): (TextPart | ImagePart)[] {
  if (typeof output === "string") return output === "" ? [] : [{ type: "text", text: output }];
  if (output === undefined || output === null) throw missingParam(param);
  return partsArray(output, param).map((p, i) => {
    const part = userPart(p, `${param}[${i}]`);
    if (part.type === "document") throw unsupported(`${param}[${i}].type`, "files inside tool output");
    return part;
  });
}

/** 404 for an item_reference or previous_response_id that names nothing this client stored. */
export function unknownId(what: string, id: string, param: string) {
  return lmrelayError("not_found", `${what} ${JSON.stringify(id)} not found (unknown, expired, deleted, stored with store: false, or another client's)`, { param });
}
