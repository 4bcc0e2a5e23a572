import type { ContentPart, DocumentPart, ImagePart, Message, TextPart, ToolCallPart, ToolResultPart } from "../../core/types";
import { expectArray, expectObject, expectString, invalid, isObject, type Json, optionalString, typeName } from "../anthropic/fields";

// Gemini `contents` → canonical turns. Roles `user` / `model`; function calls live in model turns,
// their responses in the next user turn. Gemini often leaves call ids out: a call without one gets
// a synthesized id, and a response without one pairs with the first unanswered call of its name in
// the preceding model turn (the order Gemini itself answers in).

/** Data parts only Google's own tools produce; lmrelay refuses those tools, so it refuses these. */
const GOOGLE_TOOL_PARTS = ["executableCode", "codeExecutionResult"] as const;

interface PendingCall {
  id: string;
  name: string;
  answered: boolean;
}

/** Decodes `contents`; the canonical turns keep their order (consecutive same-role turns stay apart). */
export function decodeContents(value: unknown): Message[] {
  if (value == null) throw invalid("contents", "field required");
  const list = expectArray(value, "contents");
  if (list.length === 0) throw invalid("contents", "must hold at least one content");
  const messages: Message[] = [];
  let pending: PendingCall[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = `contents.${i}`;
    const content = expectObject(list[i], path);
    const role = content.role ?? "user";
    if (role !== "user" && role !== "model") throw invalid(`${path}.role`, `expected "user" or "model", got ${JSON.stringify(role)}`);
    if (content.parts == null) throw invalid(`${path}.parts`, "field required");
    const parts = expectArray(content.parts, `${path}.parts`);
    if (role === "model") {
      const decoded = parts.flatMap((p, j) => decodeModelPart(p, `${path}.parts.${j}`, `${i}_${j}`));
      pending = decoded.filter((p): p is ToolCallPart => p.type === "tool_call").map((c) => ({ id: c.id, name: c.name, answered: false }));
      if (decoded.length) messages.push({ role: "assistant", content: decoded });
    } else {
      const decoded = parts.flatMap((p, j) => decodeUserPart(p, `${path}.parts.${j}`, pending));
      if (decoded.length) messages.push({ role: "user", content: decoded });
    }
  }
  if (messages.length === 0) throw invalid("contents", "holds no text, image, function call or function response");
  return messages;
}

/** System instruction text. The REST API takes a Content; a bare string is taken too. */
export function decodeSystemInstruction(value: unknown): TextPart[] {
  if (value == null) return [];
  if (typeof value === "string") return value ? [{ type: "text", text: value }] : [];
  const content = expectObject(value, "systemInstruction");
  if (content.parts == null) return [];
  const parts = expectArray(content.parts, "systemInstruction.parts");
  const out: TextPart[] = [];
  for (let j = 0; j < parts.length; j++) {
    const path = `systemInstruction.parts.${j}`;
    const part = expectObject(parts[j], path);
    if (part.text == null) throw invalid(path, "only text parts can be part of a system instruction");
    const text = expectString(part.text, `${path}.text`);
    if (text) out.push({ type: "text", text });
  }
  return out;
}

function decodeModelPart(value: unknown, path: string, seq: string): ContentPart[] {
  const part = expectObject(value, path);
  refuseGoogleToolParts(part, path);
  if (part.functionCall != null) {
    const call = expectObject(part.functionCall, `${path}.functionCall`);
    const name = expectString(call.name, `${path}.functionCall.name`);
    if (!name) throw invalid(`${path}.functionCall.name`, "must not be empty");
    const args = call.args == null ? {} : expectObject(call.args, `${path}.functionCall.args`);
    const id = optionalString(call.id, `${path}.functionCall.id`) || `call_gemini_${seq}`;
    const out: ToolCallPart = { type: "tool_call", id, name, arguments: JSON.stringify(args) };
    const signature = optionalString(part.thoughtSignature, `${path}.thoughtSignature`);
    // The signature Gemini gave this call; it travels back to a Gemini upstream untouched.
    if (signature) out.signature = signature;
    return [out];
  }
  if (part.functionResponse != null) throw invalid(`${path}.functionResponse`, "function responses belong in user turns");
  if (part.text != null) {
    const text = expectString(part.text, `${path}.text`);
    if (!text) return [];
    // Thought summaries go back as unsigned thinking: upstreams that verify thinking leave it out.
    return part.thought === true ? [{ type: "thinking", text }] : [{ type: "text", text }];
  }
  // Media a model produced (image generation) has no place in a canonical assistant turn.
  if (part.inlineData != null || part.fileData != null) return [];
  // A part carrying only a thought signature (Gemini 3 sends these) has nothing to relay.
  if (part.thoughtSignature != null) return [];
  throw invalid(path, "expected one of text, functionCall, inlineData or fileData");
}

function decodeUserPart(value: unknown, path: string, pending: PendingCall[]): ContentPart[] {
  const part = expectObject(value, path);
  refuseGoogleToolParts(part, path);
  if (part.functionResponse != null) return [decodeFunctionResponse(expectObject(part.functionResponse, `${path}.functionResponse`), `${path}.functionResponse`, pending)];
  if (part.functionCall != null) throw invalid(`${path}.functionCall`, "function calls belong in model turns");
  if (part.text != null) {
    const text = expectString(part.text, `${path}.text`);
    return text && part.thought !== true ? [{ type: "text", text }] : [];
  }
  if (part.inlineData != null) return [decodeInlineData(part.inlineData, `${path}.inlineData`)];
  if (part.fileData != null) return [decodeFileData(part.fileData, `${path}.fileData`)];
  if (part.thoughtSignature != null) return [];
  throw invalid(path, "expected one of text, inlineData, fileData or functionResponse");
}

function refuseGoogleToolParts(part: Json, path: string): void {
  for (const key of GOOGLE_TOOL_PARTS)
    if (part[key] != null) throw invalid(`${path}.${key}`, "code execution runs inside Google's API and is not supported by lmrelay");
}

/** Images stay images, PDFs become documents, text files become text; other media cannot travel. */
function decodeInlineData(value: unknown, path: string): ImagePart | DocumentPart | TextPart {
  const blob = expectObject(value, path);
  const mimeType = expectString(blob.mimeType, `${path}.mimeType`).toLowerCase();
  const data = expectString(blob.data, `${path}.data`);
  if (mimeType.startsWith("image/")) return { type: "image", source: { kind: "base64", mediaType: mimeType, data } };
  if (mimeType === "application/pdf") return { type: "document", mediaType: mimeType, data };
  if (mimeType.startsWith("text/")) return { type: "text", text: Buffer.from(data, "base64").toString("utf8") };
  throw invalid(`${path}.mimeType`, `${mimeType} is not supported; lmrelay relays images, PDFs and text`);
}

/** A file by URI: an image at an http(s) URL (fetched by the upstream or by lmrelay), or a file of
 *  Google's Files API (which only a Gemini upstream can read). */
function decodeFileData(value: unknown, path: string): ImagePart {
  const file = expectObject(value, path);
  const uri = expectString(file.fileUri, `${path}.fileUri`);
  const mimeType = optionalString(file.mimeType, `${path}.mimeType`)?.toLowerCase();
  if (!/^https?:\/\//i.test(uri)) throw invalid(`${path}.fileUri`, "only http(s) URIs are supported");
  if (mimeType !== undefined && !mimeType.startsWith("image/")) throw invalid(`${path}.mimeType`, `${mimeType} is not supported by URI; lmrelay relays images by URL`);
  return { type: "image", source: { kind: "url", url: uri } };
}

function decodeFunctionResponse(fr: Json, path: string, pending: PendingCall[]): ToolResultPart {
  const name = expectString(fr.name, `${path}.name`);
  if (!name) throw invalid(`${path}.name`, "must not be empty");
  const id = optionalString(fr.id, `${path}.id`);
  const call = id ? pending.find((c) => c.id === id) : pending.find((c) => !c.answered && c.name === name);
  if (!call && !id) throw invalid(path, `answers no call of ${JSON.stringify(name)} in the preceding model turn`);
  if (call) call.answered = true;
  const response = fr.response == null ? {} : fr.response;
  if (!isObject(response)) throw invalid(`${path}.response`, `expected an object, got ${typeName(response)}`);
  const result: ToolResultPart = { type: "tool_result", toolCallId: call?.id ?? id!, name, content: [] };
  // `{output}` and `{error}` are the keys Google's docs name; anything else is relayed as JSON.
  const keys = Object.keys(response);
  if (keys.length === 1 && typeof response.output === "string") result.content.push({ type: "text", text: response.output });
  else if ("error" in response) {
    result.isError = true;
    const err = response.error;
    result.content.push({ type: "text", text: typeof err === "string" ? err : JSON.stringify(err) });
  } else result.content.push({ type: "text", text: JSON.stringify(response) });
  // Multimodal function responses carry images as their own parts.
  if (fr.parts != null)
    expectArray(fr.parts, `${path}.parts`).forEach((p, k) => {
      const inline = expectObject(p, `${path}.parts.${k}`).inlineData;
      if (inline == null) throw invalid(`${path}.parts.${k}`, "expected inlineData");
      const decoded = decodeInlineData(inline, `${path}.parts.${k}.inlineData`);
      if (decoded.type === "document") throw invalid(`${path}.parts.${k}.inlineData.mimeType`, "a function response carries images or text only");
      result.content.push(decoded);
    });
  return result;
}
