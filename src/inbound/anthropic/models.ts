import { lmrelayError } from "../../core/errors";
import type { ModelInfo } from "../../core/types";

// Anthropic's model list: cursor pages (`after_id` / `before_id`, ids as cursors). Also used by the
// OpenAI module for `GET /v1/models` requests that carry an `anthropic-version` header.

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

/** One model object. `created` is seconds since the epoch (OpenAI semantics). */
export function anthropicModel(model: ModelInfo): unknown {
  return {
    type: "model",
    id: model.id,
    display_name: model.id,
    created_at: new Date(model.created * 1000).toISOString(),
  };
}

function parseLimit(raw: string | null): number {
  if (raw === null || raw === "") return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw lmrelayError("invalid_request", `limit: expected an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(raw)}`, { param: "limit" });
  }
  return limit;
}

function cursorIndex(models: ModelInfo[], id: string, param: string): number {
  const index = models.findIndex((m) => m.id === id);
  if (index === -1) throw lmrelayError("invalid_request", `${param}: no model with id ${JSON.stringify(id)}`, { param });
  return index;
}

export function anthropicModelList(models: ModelInfo[], query: URLSearchParams): unknown {
  const limit = parseLimit(query.get("limit"));
  const afterId = query.get("after_id");
  const beforeId = query.get("before_id");
  if (afterId && beforeId) throw lmrelayError("invalid_request", "after_id and before_id cannot be used together", { param: "before_id" });

  let start: number;
  let end: number;
  let hasMore: boolean;
  if (beforeId) {
    // The page just before the cursor; more remain when it does not reach the first model.
    end = cursorIndex(models, beforeId, "before_id");
    start = Math.max(0, end - limit);
    hasMore = start > 0;
  } else {
    start = afterId ? cursorIndex(models, afterId, "after_id") + 1 : 0;
    end = Math.min(models.length, start + limit);
    hasMore = end < models.length;
  }
  const page = models.slice(start, end);
  return {
    data: page.map(anthropicModel),
    has_more: hasMore,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
  };
}
