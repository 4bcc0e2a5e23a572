import { invalidParam } from "../openai/check";
import type { Json } from "../openai/check";

// `GET /v1/responses/{id}/input_items`: OpenAI's cursor list (`limit` 1–100, default 20; `order`
// `desc` by default; `after`/`before` an item id).

export function listInputItems(items: Json[], query: URLSearchParams): Json {
  const limitText = query.get("limit");
  const limit = limitText === null ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidParam("limit", `must be an integer from 1 to 100, got ${JSON.stringify(limitText)}`);
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw invalidParam("order", `must be "asc" or "desc", got ${JSON.stringify(order)}`);
  let list = order === "desc" ? [...items].reverse() : items;
  const after = query.get("after");
  if (after) {
    const at = list.findIndex((i) => i.id === after);
    list = at < 0 ? [] : list.slice(at + 1);
  }
  const before = query.get("before");
  if (before) {
    const at = list.findIndex((i) => i.id === before);
    if (at >= 0) list = list.slice(0, at);
  }
  const data = list.slice(0, limit);
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: list.length > limit };
}
