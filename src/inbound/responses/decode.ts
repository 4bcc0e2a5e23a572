import type { ChatRequest, Reasoning, ResponseFormat } from "../../core/types";
import {
  type Json,
  invalidParam,
  isObject,
  missingParam,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalString,
  requiredString,
  unsupported,
  wrongType,
} from "../openai/check";
import { EFFORTS, jsonSchemaFormat } from "../openai/decode";
import { decodeItems, type ItemLookup } from "./items";
import { decodeToolChoice, decodeTools, type ToolNames } from "./tools";

// A Responses API request body → the canonical ChatRequest. Done in two steps because the input may
// lean on stored responses: `readResponsesBody` checks the body and says which stored responses and
// items it needs; `decodeResponsesRequest` builds the request once the caller has loaded them.
//
// Accepted and not translated (README "Protocol notes"): `store` (lmrelay's own store), `include`
// (reasoning envelopes are always returned), `prompt_cache_key` and `service_tier` (forwarded as they
// are only to upstreams serving the Responses API natively), `truncation` (lmrelay does not drop
// history; the upstream's context limit answers), `text.verbosity`, `metadata` (echoed back),
// `max_tool_calls`, `top_logprobs`, `stream_options`.

export interface ResponsesBody {
  body: Json;
  model: string;
  stream: boolean;
  /** Keep the response for later reference (default true). */
  store: boolean;
  previousResponseId?: string;
  /** The request's own input items (a string input becomes one user message). */
  items: Json[];
  /** `input[i]`, for error messages. */
  params: string[];
}

export function readResponsesBody(raw: unknown): ResponsesBody {
  if (!isObject(raw)) throw invalidParam("body", "must be a JSON object");
  const body = raw;
  const model = requiredString(body, "model");
  const stream = optionalBoolean(body, "stream") ?? false;
  const store = optionalBoolean(body, "store") ?? true;
  const previousResponseId = optionalString(body, "previous_response_id");
  if (optionalBoolean(body, "background")) throw unsupported("background", "background responses");
  if (body.conversation !== undefined && body.conversation !== null) throw unsupported("conversation", "conversations (use previous_response_id)");
  if (body.prompt !== undefined && body.prompt !== null) throw unsupported("prompt", "stored prompt templates");
  const input = body.input;
  const items: Json[] = [];
  const params: string[] = [];
  if (typeof input === "string") {
    items.push({ type: "message", role: "user", content: input });
    params.push("input");
  } else if (Array.isArray(input)) {
    for (let i = 0; i < input.length; i++) {
      if (!isObject(input[i])) throw wrongType(`input[${i}]`, "an input item object", input[i]);
      items.push(input[i] as Json);
      params.push(`input[${i}]`);
    }
  } else if (input !== undefined && input !== null) throw wrongType("input", "a string or an array of input items", input);
  const out: ResponsesBody = { body, model, stream, store, items, params };
  if (previousResponseId !== undefined) out.previousResponseId = previousResponseId;
  return out;
}

/** Ids of the item_reference items in the input, for the caller to load. */
export function referencedIds(b: ResponsesBody): string[] {
  const ids: string[] = [];
  b.items.forEach((item, i) => {
    if (item.type === "item_reference") ids.push(requiredString(item, "id", `${b.params[i]}.id`));
  });
  return ids;
}

export interface DecodedResponses {
  req: ChatRequest;
  names: ToolNames;
  /** What was left out for a translated upstream (hosted tools, foreign items), for `x-lmrelay-adjusted`. */
  adjusted: string[];
}

/** `history`: the items of the previous response chain (its inputs and outputs, oldest first). */
export function decodeResponsesRequest(b: ResponsesBody, history: Json[], lookup: ItemLookup): DecodedResponses {
  const { body } = b;
  const items = history.length > 0 ? [...history, ...b.items] : b.items;
  const params = history.length > 0 ? [...history.map((_, i) => `previous_response_id (item ${i})`), ...b.params] : b.params;
  const decoded = decodeItems(items, params, lookup);
  const system = decoded.system;
  const instructions = body.instructions;
  if (typeof instructions === "string") {
    if (instructions !== "") system.unshift({ type: "text", text: instructions });
  } else if (instructions !== undefined && instructions !== null) throw wrongType("instructions", "a string", instructions);
  if (decoded.messages.length === 0) throw missingParam("input");
  const req: ChatRequest = { model: b.model, system, messages: decoded.messages, stream: b.stream };
  const tools = decodeTools(body.tools);
  // Codex (code mode) delivers tools as `additional_tools` input items rather than in `tools`.
  items.forEach((item, i) => {
    if (item.type !== "additional_tools") return;
    const more = decodeTools(item.tools, `${params[i]}.tools`);
    tools.tools.push(...more.tools);
    tools.dropped.push(...more.dropped);
    for (const n of more.names.custom) tools.names.custom.add(n);
    for (const [k, v] of more.names.namespaced) tools.names.namespaced.set(k, v);
  });
  const choice = decodeToolChoice(body.tool_choice, tools);
  if (tools.tools.length > 0) req.tools = tools.tools;
  if (choice) req.toolChoice = choice;
  const parallel = optionalBoolean(body, "parallel_tool_calls");
  if (parallel !== undefined) req.parallelToolCalls = parallel;
  const maxTokens = optionalInteger(body, "max_output_tokens", 1);
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  const temperature = optionalNumber(body, "temperature");
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optionalNumber(body, "top_p");
  if (topP !== undefined) req.topP = topP;
  const user = optionalString(body, "user") ?? optionalString(body, "safety_identifier");
  if (user !== undefined) req.user = user;
  const format = decodeTextFormat(body.text);
  if (format) req.responseFormat = format;
  const reasoning = decodeReasoning(body.reasoning);
  if (reasoning) req.reasoning = reasoning;
  if (body.metadata !== undefined && body.metadata !== null && !isObject(body.metadata)) throw wrongType("metadata", "an object", body.metadata);
  if (body.include !== undefined && body.include !== null && !Array.isArray(body.include)) throw wrongType("include", "an array", body.include);
  const adjusted = tools.dropped.map((t) => `tools.${t} dropped (hosted tool)`);
  for (const d of decoded.dropped) adjusted.push(`input ${d} dropped`);
  return { req, names: tools.names, adjusted };
}

function decodeTextFormat(text: unknown): ResponseFormat | undefined {
  if (text === undefined || text === null) return undefined;
  if (!isObject(text)) throw wrongType("text", "an object", text);
  const f = text.format;
  if (f === undefined || f === null) return undefined;
  if (!isObject(f)) throw wrongType("text.format", "an object", f);
  switch (f.type) {
    case "text":
      return undefined;
    case "json_object":
      return { type: "json" };
    case "json_schema":
      return jsonSchemaFormat(f, "text.format");
    case undefined:
      throw missingParam("text.format.type");
    default:
      throw invalidParam("text.format.type", `must be "text", "json_object" or "json_schema", got ${JSON.stringify(f.type)}`);
  }
}

function decodeReasoning(r: unknown): Reasoning | undefined {
  if (r === undefined || r === null) return undefined;
  if (!isObject(r)) throw wrongType("reasoning", "an object", r);
  const effort = optionalString(r, "effort", "reasoning.effort");
  const summary = optionalString(r, "summary", "reasoning.summary") ?? optionalString(r, "generate_summary", "reasoning.generate_summary");
  if (summary !== undefined && !["auto", "concise", "detailed"].includes(summary)) throw invalidParam("reasoning.summary", `must be "auto", "concise" or "detailed", got "${summary}"`);
  if (effort === undefined) return undefined;
  const reasoning = EFFORTS.get(effort);
  if (!reasoning) throw invalidParam("reasoning.effort", `must be one of ${[...EFFORTS.keys()].join(", ")}, got "${effort}"`);
  return { ...reasoning };
}
