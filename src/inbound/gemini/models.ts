import { lmrelayError } from "../../core/errors";
import type { ModelInfo } from "../../core/types";

// The model list in Google's shape: `models/<name>` resource names, the methods each serves, token
// limits. lmrelay knows no per-model limits here, so it states the largest a Gemini model takes;
// a smaller target's own limit still applies when the request is relayed.

const INPUT_TOKEN_LIMIT = 1_048_576;
const OUTPUT_TOKEN_LIMIT = 65_536;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

const CHAT_METHODS = ["generateContent", "streamGenerateContent", "countTokens"];
const EMBED_METHODS = ["embedContent", "batchEmbedContents", "countTokens"];

/** Whether a model name reads as an embeddings model (the list has no capability flags). */
function looksLikeEmbeddings(id: string): boolean {
  return /embed/i.test(id);
}

export function geminiModel(m: ModelInfo): Record<string, unknown> {
  return {
    name: `models/${m.id}`,
    baseModelId: m.id,
    version: "001",
    displayName: m.id,
    description: m.provider ? `${m.id} served by lmrelay through provider ${m.provider}` : `${m.id}: an lmrelay alias`,
    inputTokenLimit: INPUT_TOKEN_LIMIT,
    outputTokenLimit: OUTPUT_TOKEN_LIMIT,
    supportedGenerationMethods: looksLikeEmbeddings(m.id) ? EMBED_METHODS : CHAT_METHODS,
  };
}

/** `pageSize` / `pageToken` paging, as the API does it (the token is an opaque offset). */
export function geminiModelList(models: ModelInfo[], query: URLSearchParams): Record<string, unknown> {
  const rawSize = query.get("pageSize");
  const size = rawSize === null || rawSize === "" ? DEFAULT_PAGE : Number(rawSize);
  if (!Number.isInteger(size) || size < 0) throw lmrelayError("invalid_request", `pageSize: expected a non-negative integer, got ${JSON.stringify(rawSize)}`);
  const pageSize = Math.min(size || DEFAULT_PAGE, MAX_PAGE);
  const token = query.get("pageToken");
  let start = 0;
  if (token) {
    start = Number(Buffer.from(token, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0 || start > models.length) throw lmrelayError("invalid_request", "pageToken: not a token this list gave out");
  }
  const body: Record<string, unknown> = { models: models.slice(start, start + pageSize).map(geminiModel) };
  if (start + pageSize < models.length) body.nextPageToken = Buffer.from(String(start + pageSize)).toString("base64url");
  return body;
}

/** `models/x`, `x`, `tunedModels/x`… → the name lmrelay routes (`models/` dropped). */
export function modelName(raw: string): string {
  return raw.startsWith("models/") ? raw.slice("models/".length) : raw;
}
