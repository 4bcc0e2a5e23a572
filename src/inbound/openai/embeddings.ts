import type { EmbedRequest, EmbedResponse } from "../../core/types";
import { invalidParam, missingParam, optionalInteger, optionalString, requiredString, unsupported, wrongType } from "./check";
import { requestObject } from "./decode";

// `POST /v1/embeddings`: request → canonical, canonical vectors → `float` arrays or `base64`
// (little-endian float32 bytes, which the Node SDK asks for by default and decodes itself).

export type EncodingFormat = "float" | "base64";

export function decodeEmbedRequest(body: unknown): { request: EmbedRequest; format: EncodingFormat } {
  const b = requestObject(body);
  const model = requiredString(b, "model");
  const raw = b.input;
  let input: string[];
  if (typeof raw === "string") input = [raw];
  else if (Array.isArray(raw)) {
    if (raw.length === 0) throw invalidParam("input", "must not be empty");
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      if (typeof v === "string") continue;
      if (typeof v === "number" || Array.isArray(v)) throw unsupported("input", "input as token ids (send text)");
      throw wrongType(`input[${i}]`, "a string", v);
    }
    input = raw as string[];
  } else if (raw === undefined || raw === null) throw missingParam("input");
  else throw wrongType("input", "a string or an array of strings", raw);
  const format = optionalString(b, "encoding_format") ?? "float";
  if (format !== "float" && format !== "base64") throw invalidParam("encoding_format", `must be "float" or "base64", got "${format}"`);
  const request: EmbedRequest = { model, input };
  const dimensions = optionalInteger(b, "dimensions", 1);
  if (dimensions !== undefined) request.dimensions = dimensions;
  return { request, format };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A vector as base64 of its little-endian float32 bytes. */
export function vectorToBase64(vector: number[]): string {
  const floats = Float32Array.from(vector);
  if (!LITTLE_ENDIAN) {
    const view = new DataView(floats.buffer);
    for (let i = 0; i < floats.length; i++) view.setFloat32(i * 4, vector[i]!, true);
  }
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64");
}

export function encodeEmbeddings(res: EmbedResponse, format: EncodingFormat, fallbackModel: string) {
  return {
    object: "list" as const,
    data: res.vectors.map((v, index) => ({
      object: "embedding" as const,
      index,
      embedding: format === "base64" ? vectorToBase64(v) : v,
    })),
    model: res.model || fallbackModel,
    usage: { prompt_tokens: res.usage.inputTokens, total_tokens: res.usage.inputTokens },
  };
}
