import type { EmbedRequest, EmbedResponse } from "../../core/types";
import { bodyObject, invalid, optBool, optInteger, optString, requiredModel, stringArray } from "./fields";

// `/api/embed` (batch, current) and `/api/embeddings` (one prompt, legacy) ⇄ canonical embeddings.
// Like Ollama, an empty input is a model-load call answered with no vectors and no upstream.

export function decodeEmbedRequest(raw: unknown): EmbedRequest {
  const body = bodyObject(raw);
  const model = requiredModel(body);
  const v = body.input;
  let input: string[];
  if (v === undefined || v === null) input = [];
  else if (typeof v === "string") input = v === "" ? [] : [v];
  else if (Array.isArray(v)) input = stringArray(v, "input");
  else throw invalid("input", "expected a string or an array of strings");
  const request: EmbedRequest = { model, input };
  const truncate = optBool(body, "truncate", "truncate");
  if (truncate !== undefined) request.truncate = truncate;
  const dimensions = optInteger(body, "dimensions", "dimensions");
  if (dimensions !== undefined) {
    if (dimensions <= 0) throw invalid("dimensions", "expected a positive integer");
    request.dimensions = dimensions;
  }
  return request;
}

export function decodeEmbeddingsRequest(raw: unknown): EmbedRequest {
  const body = bodyObject(raw);
  const model = requiredModel(body);
  const prompt = optString(body, "prompt", "prompt") ?? "";
  return { model, input: prompt === "" ? [] : [prompt] };
}

/** `/api/embed` answer. Durations in nanoseconds; lmrelay loads nothing, so `load_duration` is 0. */
export function embedBody(model: string, res: EmbedResponse | undefined, elapsedMs: number): Record<string, unknown> {
  return {
    model,
    embeddings: res?.vectors ?? [],
    total_duration: Math.max(0, Math.round(elapsedMs * 1e6)),
    load_duration: 0,
    prompt_eval_count: res?.usage.inputTokens ?? 0,
  };
}

/** `/api/embeddings` answer. */
export function embeddingsBody(res: EmbedResponse | undefined): Record<string, unknown> {
  return { embedding: res?.vectors[0] ?? [] };
}
