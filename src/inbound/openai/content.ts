import type { ContentPart, DocumentPart, ImagePart, ImageSource, TextPart } from "../../core/types";
import { type Json, invalidParam, isObject, missingParam, unsupported, wrongType } from "./check";

// OpenAI message content (a string or an array of typed parts) → canonical parts.

/** `data:<mime>;base64,<payload>` → its parts, or undefined when `url` is not a base64 data URI. */
export function parseDataUri(url: string): { mediaType: string; data: string } | undefined {
  if (!url.startsWith("data:")) return undefined;
  const comma = url.indexOf(",", 5);
  if (comma === -1) return undefined;
  const meta = url.slice(5, comma);
  if (!meta.endsWith(";base64")) return undefined;
  return { mediaType: meta.slice(0, -7) || "application/octet-stream", data: url.slice(comma + 1) };
}

export function imageSource(url: string, param: string): ImageSource {
  const data = parseDataUri(url);
  if (data) return { kind: "base64", mediaType: data.mediaType, data: data.data };
  if (url.startsWith("https://") || url.startsWith("http://")) return { kind: "url", url };
  if (url.startsWith("data:")) throw invalidParam(param, "must be a base64 data URI (data:<mime>;base64,...)");
  throw invalidParam(param, "must be an http(s) URL or a base64 data URI");
}

function decodeImage(part: Json, param: string): ImagePart {
  const img = part.image_url;
  // Some clients send the URL string directly instead of `{url}`.
  const url = typeof img === "string" ? img : isObject(img) ? img.url : undefined;
  if (url === undefined || url === null) throw missingParam(`${param}.image_url.url`);
  if (typeof url !== "string") throw wrongType(`${param}.image_url.url`, "a string", url);
  const out: ImagePart = { type: "image", source: imageSource(url, `${param}.image_url.url`) };
  if (isObject(img) && typeof img.detail === "string") out.detail = img.detail;
  return out;
}

function decodeFile(part: Json, param: string): DocumentPart {
  const file = part.file;
  if (!isObject(file)) throw wrongType(`${param}.file`, "an object", file);
  const fileData = file.file_data;
  if (typeof fileData !== "string") {
    if (file.file_id !== undefined) throw unsupported(`${param}.file.file_id`, "uploaded file references (file_id)");
    throw missingParam(`${param}.file.file_data`);
  }
  const data = parseDataUri(fileData);
  if (!data) throw invalidParam(`${param}.file.file_data`, "must be a base64 data URI (data:<mime>;base64,...)");
  return { type: "document", mediaType: data.mediaType, data: data.data };
}

function textOf(part: Json, param: string): string {
  const text = part.text;
  if (typeof text !== "string") throw wrongType(`${param}.text`, "a string", text);
  return text;
}

function partType(part: unknown, param: string): string {
  if (!isObject(part)) throw wrongType(param, "a content part object", part);
  const type = part.type;
  if (typeof type !== "string") throw wrongType(`${param}.type`, "a string", type);
  return type;
}

/** Content of system, developer and tool messages: text only. `null` or absent → no parts. */
export function decodeTextContent(content: unknown, param: string, out: TextPart[]): void {
  if (content === undefined || content === null) return;
  if (typeof content === "string") {
    out.push({ type: "text", text: content });
    return;
  }
  if (!Array.isArray(content)) throw wrongType(param, "a string or an array of text parts", content);
  for (let i = 0; i < content.length; i++) {
    const p = `${param}[${i}]`;
    const type = partType(content[i], p);
    if (type !== "text") throw invalidParam(`${p}.type`, `must be "text" here, got "${type}"`);
    out.push({ type: "text", text: textOf(content[i] as Json, p) });
  }
}

export type UserPart = TextPart | ImagePart | DocumentPart;

/** Content of a user message: text, images, PDF files. */
export function decodeUserContent(content: unknown, param: string): UserPart[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (content === undefined || content === null) throw missingParam(param);
  if (!Array.isArray(content)) throw wrongType(param, "a string or an array of content parts", content);
  const out: UserPart[] = [];
  for (let i = 0; i < content.length; i++) {
    const p = `${param}[${i}]`;
    const type = partType(content[i], p);
    const part = content[i] as Json;
    switch (type) {
      case "text":
        out.push({ type: "text", text: textOf(part, p) });
        break;
      case "image_url":
        out.push(decodeImage(part, p));
        break;
      case "file":
        out.push(decodeFile(part, p));
        break;
      case "input_audio":
        throw unsupported(`${p}.type`, "audio input");
      default:
        throw invalidParam(`${p}.type`, `must be one of "text", "image_url", "file", got "${type}"`);
    }
  }
  return out;
}

/** Content of a tool message: text, and images for the formats whose tool results can carry them. */
export function decodeToolContent(content: unknown, param: string): (TextPart | ImagePart)[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (content === undefined || content === null) return [];
  if (!Array.isArray(content)) throw wrongType(param, "a string or an array of text parts", content);
  const out: (TextPart | ImagePart)[] = [];
  for (let i = 0; i < content.length; i++) {
    const p = `${param}[${i}]`;
    const type = partType(content[i], p);
    if (type === "text") out.push({ type: "text", text: textOf(content[i] as Json, p) });
    else if (type === "image_url") out.push(decodeImage(content[i] as Json, p));
    else throw invalidParam(`${p}.type`, `must be "text" here, got "${type}"`);
  }
  return out;
}

/** Content of an assistant message: text and refusal parts, both kept as text. */
export function decodeAssistantText(content: unknown, param: string, out: ContentPart[]): void {
  if (content === undefined || content === null) return;
  if (typeof content === "string") {
    // Clients send `content: ""` beside tool calls; an empty text part is noise to every upstream.
    if (content !== "") out.push({ type: "text", text: content });
    return;
  }
  if (!Array.isArray(content)) throw wrongType(param, "a string, an array of text parts or null", content);
  for (let i = 0; i < content.length; i++) {
    const p = `${param}[${i}]`;
    const type = partType(content[i], p);
    const part = content[i] as Json;
    let text: unknown;
    if (type === "text") text = part.text;
    else if (type === "refusal") text = part.refusal;
    else throw invalidParam(`${p}.type`, `must be "text" or "refusal", got "${type}"`);
    if (typeof text !== "string") throw wrongType(`${p}.${type}`, "a string", text);
    if (text !== "") out.push({ type: "text", text });
  }
}
