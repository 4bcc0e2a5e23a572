import type { ImagePart } from "../../core/types";
import { invalid } from "./fields";

// Ollama sends images as bare base64 with no media type; Anthropic, Gemini and OpenAI data URIs
// all need one, so it is read from the image's first bytes.

/** 24 base64 characters = the first 18 bytes, enough for every signature below. */
const SNIFF_CHARS = 24;

function sniffMediaType(base64: string): string | undefined {
  const b = Buffer.from(base64.slice(0, SNIFF_CHARS), "base64");
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 6 && b.toString("latin1", 0, 4) === "GIF8") return "image/gif";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return "image/webp";
  return undefined;
}

/** One entry of a message's `images`. Tolerates a `data:` URI, which some clients send anyway. */
export function decodeImage(value: unknown, param: string): ImagePart {
  if (typeof value !== "string") throw invalid(param, "expected a base64 string");
  let data = value;
  let declared: string | undefined;
  if (data.startsWith("data:")) {
    const comma = data.indexOf(",");
    const header = comma === -1 ? "" : data.slice(5, comma);
    if (!header.endsWith(";base64")) throw invalid(param, "only base64 data URIs are supported");
    declared = header.slice(0, -";base64".length);
    data = data.slice(comma + 1);
  }
  if (data === "") throw invalid(param, "image is empty");
  const mediaType = sniffMediaType(data) ?? (declared?.startsWith("image/") ? declared : undefined);
  if (!mediaType) throw invalid(param, "not a PNG, JPEG, GIF or WebP image (expected raw base64 image bytes)");
  return { type: "image", source: { kind: "base64", mediaType, data } };
}
