import type { EmbedRequest, EmbedResponse } from "../../core/types";
import { expectArray, expectObject, expectString, invalid, isObject, optionalInteger, typeName } from "../anthropic/fields";
import { modelName } from "./models";

// embedContent / batchEmbedContents ⇄ canonical embeddings. `taskType` and `title` tune Google's
// own embedding models only; they are accepted and not relayed (the vector is the same kind).

function contentText(value: unknown, path: string): string {
  const content = expectObject(value, path);
  const parts = expectArray(content.parts, `${path}.parts`);
  if (parts.length === 0) throw invalid(`${path}.parts`, "must not be empty");
  return parts.map((p, i) => expectString(expectObject(p, `${path}.parts.${i}`).text, `${path}.parts.${i}.text`)).join("");
}

export function decodeEmbedContent(body: unknown, model: string): EmbedRequest {
  if (!isObject(body)) throw invalid("", `request body must be a JSON object, got ${typeName(body)}`);
  const req: EmbedRequest = { model, input: [contentText(body.content, "content")] };
  const dims = optionalInteger(body.outputDimensionality, "outputDimensionality", 1);
  if (dims !== undefined) req.dimensions = dims;
  return req;
}

/** One canonical request for the whole batch: every entry must name the model of the path (as
 *  Google's API demands) and ask for the same dimensions. */
export function decodeBatchEmbedContents(body: unknown, model: string): EmbedRequest {
  if (!isObject(body)) throw invalid("", `request body must be a JSON object, got ${typeName(body)}`);
  const list = expectArray(body.requests, "requests");
  if (list.length === 0) throw invalid("requests", "must not be empty");
  const req: EmbedRequest = { model, input: [] };
  list.forEach((value, i) => {
    const r = expectObject(value, `requests.${i}`);
    if (r.model != null && modelName(expectString(r.model, `requests.${i}.model`)) !== model)
      throw invalid(`requests.${i}.model`, `must be models/${model}, the model of the path`);
    req.input.push(contentText(r.content, `requests.${i}.content`));
    const dims = optionalInteger(r.outputDimensionality, `requests.${i}.outputDimensionality`, 1);
    if (i === 0 && dims !== undefined) req.dimensions = dims;
    else if (dims !== req.dimensions) throw invalid(`requests.${i}.outputDimensionality`, "every request of a batch must ask for the same dimensions");
  });
  return req;
}

export function encodeEmbedContent(res: EmbedResponse): unknown {
  return { embedding: { values: res.vectors[0] ?? [] } };
}

export function encodeBatchEmbedContents(res: EmbedResponse): unknown {
  return { embeddings: res.vectors.map((values) => ({ values })) };
}
