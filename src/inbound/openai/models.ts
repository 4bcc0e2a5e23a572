import type { ModelInfo } from "../../core/types";

// `GET /v1/models` and `GET /v1/models/{id}` bodies in OpenAI's shape.

export function openaiModel(m: ModelInfo) {
  return { id: m.id, object: "model" as const, created: m.created, owned_by: m.ownedBy };
}

export function openaiModelList(models: ModelInfo[]) {
  return { object: "list" as const, data: models.map(openaiModel) };
}

/** The model id of a `/v1/models/{id}` path. Ids hold a slash (`provider/model`); the SDK sends it encoded. */
export function modelIdFromPath(pathname: string): string {
  const raw = pathname.slice("/v1/models/".length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
