import type { ContentPart, DocumentPart, ImagePart, TextPart, ToolResultPart } from "../../core/types";
import { expectArray, expectObject, expectString, invalid, isObject, type Json, optionalBoolean, optionalString, typeName } from "./fields";

// Anthropic content blocks → canonical parts. Server-tool blocks (web search results, code
// execution…) only make sense to Anthropic's own servers, so they are refused with a clear message.

type Role = "user" | "assistant";

function withCache<T extends { cacheControl?: unknown }>(part: T, block: Json): T {
  if (block.cache_control != null) part.cacheControl = block.cache_control;
  return part;
}

export function decodeTextBlock(block: Json, path: string): TextPart {
  return withCache<TextPart>({ type: "text", text: expectString(block.text, `${path}.text`) }, block);
}

function decodeImageBlock(block: Json, path: string): ImagePart {
  const source = expectObject(block.source, `${path}.source`);
  const kind = source.type;
  if (kind === "base64") {
    return withCache<ImagePart>(
      {
        type: "image",
        source: {
          kind: "base64",
          mediaType: expectString(source.media_type, `${path}.source.media_type`),
          data: expectString(source.data, `${path}.source.data`),
        },
      },
      block,
    );
  }
  if (kind === "url") {
    return withCache<ImagePart>({ type: "image", source: { kind: "url", url: expectString(source.url, `${path}.source.url`) } }, block);
  }
  throw invalid(`${path}.source.type`, `image source type ${JSON.stringify(kind)} is not supported by lmrelay; use "base64" or "url"`);
}

/** A document: base64 (PDF) stays a document; a plain-text source is just text. */
function decodeDocumentBlock(block: Json, path: string): DocumentPart | TextPart {
  const source = expectObject(block.source, `${path}.source`);
  if (source.type === "base64") {
    return withCache<DocumentPart>(
      {
        type: "document",
        mediaType: expectString(source.media_type, `${path}.source.media_type`),
        data: expectString(source.data, `${path}.source.data`),
      },
      block,
    );
  }
  if (source.type === "text") return withCache<TextPart>({ type: "text", text: expectString(source.data, `${path}.source.data`) }, block);
  throw invalid(`${path}.source.type`, `document source type ${JSON.stringify(source.type)} is not supported by lmrelay; use "base64" or "text"`);
}

function decodeToolResultContent(content: unknown, path: string): (TextPart | ImagePart)[] {
  if (content == null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  const blocks = expectArray(content, path);
  const parts: (TextPart | ImagePart)[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const at = `${path}.${i}`;
    const block = expectObject(blocks[i], at);
    if (block.type === "text") parts.push(decodeTextBlock(block, at));
    else if (block.type === "image") parts.push(decodeImageBlock(block, at));
    else if (block.type === "document") {
      const doc = decodeDocumentBlock(block, at);
      if (doc.type !== "text") throw invalid(`${at}.type`, "a base64 document inside tool_result is not supported by lmrelay; send it as a block of the user message");
      parts.push(doc);
    } else throw invalid(`${at}.type`, `block type ${JSON.stringify(block.type)} is not supported inside tool_result; expected "text" or "image"`);
  }
  return parts;
}

function decodeToolResult(block: Json, path: string): ToolResultPart {
  const part: ToolResultPart = {
    type: "tool_result",
    toolCallId: expectString(block.tool_use_id, `${path}.tool_use_id`),
    content: decodeToolResultContent(block.content, `${path}.content`),
  };
  if (optionalBoolean(block.is_error, `${path}.is_error`)) part.isError = true;
  return withCache(part, block);
}

function decodeBlock(value: unknown, role: Role, path: string): ContentPart {
  const block = expectObject(value, path);
  switch (block.type) {
    case "text":
      return decodeTextBlock(block, path);
    case "image":
      return decodeImageBlock(block, path);
    case "document":
      return decodeDocumentBlock(block, path);
    case "tool_use": {
      if (role !== "assistant") throw invalid(`${path}.type`, "tool_use blocks may only appear in assistant messages");
      const input = block.input ?? {};
      if (!isObject(input)) throw invalid(`${path}.input`, `expected an object, got ${typeName(input)}`);
      return {
        type: "tool_call",
        id: expectString(block.id, `${path}.id`),
        name: expectString(block.name, `${path}.name`),
        arguments: JSON.stringify(input),
      };
    }
    case "tool_result":
      if (role !== "user") throw invalid(`${path}.type`, "tool_result blocks may only appear in user messages");
      return decodeToolResult(block, path);
    case "thinking": {
      const signature = optionalString(block.signature, `${path}.signature`);
      const text = expectString(block.thinking, `${path}.thinking`);
      return signature ? { type: "thinking", text, signature } : { type: "thinking", text };
    }
    case "redacted_thinking":
      return { type: "thinking", text: "", redacted: expectString(block.data, `${path}.data`) };
    default:
      if (typeof block.type !== "string") throw invalid(`${path}.type`, `expected a string, got ${typeName(block.type)}`);
      throw invalid(`${path}.type`, `content block type ${JSON.stringify(block.type)} is not supported by lmrelay`);
  }
}

/** A message's `content`: a string or an array of blocks. */
export function decodeContent(content: unknown, role: Role, path: string): ContentPart[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw invalid(path, `expected a string or an array of content blocks, got ${typeName(content)}`);
  const parts: ContentPart[] = new Array(content.length);
  for (let i = 0; i < content.length; i++) parts[i] = decodeBlock(content[i], role, `${path}.${i}`);
  return parts;
}

/** `system` (top-level or a `role:"system"` message): a string or text blocks. */
export function decodeSystem(system: unknown, path: string): TextPart[] {
  if (system == null) return [];
  if (typeof system === "string") return system === "" ? [] : [{ type: "text", text: system }];
  if (!Array.isArray(system)) throw invalid(path, `expected a string or an array of text blocks, got ${typeName(system)}`);
  const parts: TextPart[] = [];
  for (let i = 0; i < system.length; i++) {
    const at = `${path}.${i}`;
    const block = expectObject(system[i], at);
    if (block.type !== "text") throw invalid(`${at}.type`, `system blocks must be of type "text", got ${JSON.stringify(block.type)}`);
    parts.push(decodeTextBlock(block, at));
  }
  return parts;
}
