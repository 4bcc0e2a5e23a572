import type { OriginalRequest } from "../../core/types";
import type { Json } from "../openai/check";
import type { ResponsesBody } from "./decode";
import { newItemId } from "./encode";
import { openReasoning } from "./envelope";
import type { ItemLookup } from "./items";

// What a Responses request leaves behind and sends on: the input items kept with a stored response
// (references resolved, every item with an id, as `input_items` lists them), and the body an upstream
// serving the Responses API natively gets, with the history lmrelay keeps written out in full.

/** A response id is the one handle on a stored response: random (48 hex digits), not guessable. */
export function newResponseId(): string {
  // Buffer's hex is native: a byte-by-byte toString(16) cost ~1 µs a response.
  return `resp_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("hex")}`;
}

const ID_PREFIX: Record<string, string> = {
  message: "msg",
  function_call: "fc",
  function_call_output: "fco",
  custom_tool_call: "ctc",
  custom_tool_call_output: "ctco",
  reasoning: "rs",
};

/** The request's input items as stored: references resolved, ids given to items without one. */
export function storedInput(b: ResponsesBody, lookup: ItemLookup): Json[] {
  return b.items.map((item, i) => {
    if (item.type === "item_reference") return lookup(item.id as string, b.params[i]!);
    const out: Json = item.type === undefined ? { type: "message", ...item } : { ...item };
    if (typeof out.id !== "string") out.id = newItemId(ID_PREFIX[out.type as string] ?? "item");
    return out;
  });
}

/** Reasoning whose envelope is lmrelay's: meaningless to OpenAI, which would refuse it. */
function lmrelayReasoning(item: Json): boolean {
  return item.type === "reasoning" && openReasoning(item.encrypted_content) !== undefined;
}

/** The body for an upstream serving `/responses` itself: as received when it stands on its own;
 *  else with the stored history and referenced items written out (the upstream knows neither
 *  lmrelay's response ids nor its item ids) and lmrelay's reasoning envelopes left out. */
export function forwardedBody(b: ResponsesBody, text: string, history: Json[], lookup: ItemLookup): OriginalRequest {
  const needsRewrite = history.length > 0 || b.items.some((i) => i.type === "item_reference" || lmrelayReasoning(i));
  if (!needsRewrite) return { protocol: "responses", text, body: b.body };
  const input: Json[] = [];
  for (const item of history) if (!lmrelayReasoning(item)) input.push(item);
  b.items.forEach((item, i) => {
    const resolved = item.type === "item_reference" ? lookup(item.id as string, b.params[i]!) : item;
    if (!lmrelayReasoning(resolved)) input.push(resolved);
  });
  const { previous_response_id: _prev, ...rest } = b.body;
  const body = { ...rest, input };
  return { protocol: "responses", text: JSON.stringify(body), body };
}
