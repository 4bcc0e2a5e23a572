import { lmrelayError } from "../../core/errors";
import type {
  ChatRequest,
  ContentPart,
  Message,
  Reasoning,
  ResponseFormat,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
  ToolResultPart,
} from "../../core/types";
import {
  type Json,
  includeUsage,
  invalidParam,
  isObject,
  missingParam,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalStop,
  optionalString,
  rejectMultipleChoices,
  requiredString,
  unsupported,
  wrongType,
} from "./check";
import { decodeAssistantText, decodeTextContent, decodeToolContent, decodeUserContent } from "./content";

// OpenAI chat-completions and legacy completions requests → the canonical ChatRequest.

/** Fields decoded into canonical ones; every other field travels as passthrough to OpenAI-wire upstreams
 *  (vLLM's `min_p`, OpenAI's `logit_bias`, `service_tier`…). */
const CHAT_FIELDS = new Set([
  "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
  "max_completion_tokens", "max_tokens", "temperature", "top_p", "top_k", "stop", "seed",
  "presence_penalty", "frequency_penalty", "reasoning_effort", "user", "stream", "stream_options", "n",
]);

/** `reasoning_effort` (Chat Completions) and `reasoning.effort` (Responses) values. */
export const EFFORTS = new Map<string, Reasoning>([
  ["none", { enabled: false }],
  ["minimal", { enabled: true, effort: "minimal" }],
  ["low", { enabled: true, effort: "low" }],
  ["medium", { enabled: true, effort: "medium" }],
  ["high", { enabled: true, effort: "high" }],
  ["xhigh", { enabled: true, effort: "xhigh" }],
  ["max", { enabled: true, effort: "max" }],
]);

export function requestObject(body: unknown): Json {
  if (!isObject(body)) throw lmrelayError("invalid_request", "request body must be a JSON object");
  return body;
}

export function decodeChatRequest(body: unknown): ChatRequest {
  const b = requestObject(body);
  const model = requiredString(b, "model");
  const { system, messages } = decodeMessages(b.messages);
  const stream = optionalBoolean(b, "stream") ?? false;
  const req: ChatRequest = { model, system, messages, stream };
  rejectMultipleChoices(b, "n");
  decodeSampling(b, req);
  const maxTokens = optionalInteger(b, "max_completion_tokens", 0) ?? optionalInteger(b, "max_tokens", 0);
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  const tools = decodeTools(b.tools);
  if (tools) req.tools = tools;
  const toolChoice = decodeToolChoice(b.tool_choice, req);
  if (toolChoice) req.toolChoice = toolChoice;
  const parallel = optionalBoolean(b, "parallel_tool_calls");
  if (parallel !== undefined) req.parallelToolCalls = parallel;
  const format = decodeResponseFormat(b.response_format);
  if (format) req.responseFormat = format;
  const effort = optionalString(b, "reasoning_effort");
  if (effort !== undefined) {
    const reasoning = EFFORTS.get(effort);
    if (!reasoning) throw invalidParam("reasoning_effort", `must be one of ${[...EFFORTS.keys()].join(", ")}, got "${effort}"`);
    req.reasoning = { ...reasoning };
  }
  if (stream && includeUsage(b)) req.includeUsage = true;
  let passthrough: Json | undefined;
  for (const key in b) {
    if (CHAT_FIELDS.has(key) || b[key] === null || key === "__proto__") continue;
    (passthrough ??= {})[key] = b[key];
  }
  if (passthrough) req.passthrough = { protocol: "openai", fields: passthrough };
  return req;
}

/** Legacy `/v1/completions`: `prompt` becomes one user turn and the answer is plain text. */
export function decodeCompletionRequest(body: unknown): ChatRequest {
  const b = requestObject(body);
  const model = requiredString(b, "model");
  const prompt = b.prompt;
  const content: TextPart[] = [];
  if (typeof prompt === "string") content.push({ type: "text", text: prompt });
  else if (Array.isArray(prompt)) {
    for (let i = 0; i < prompt.length; i++) {
      const p = prompt[i];
      if (typeof p === "string") content.push({ type: "text", text: p });
      else if (typeof p === "number" || Array.isArray(p)) throw unsupported("prompt", "a prompt of token ids");
      else throw wrongType(`prompt[${i}]`, "a string", p);
    }
    if (content.length === 0) throw invalidParam("prompt", "must not be empty");
  } else if (prompt === undefined || prompt === null) throw missingParam("prompt");
  else throw wrongType("prompt", "a string or an array of strings", prompt);
  const stream = optionalBoolean(b, "stream") ?? false;
  const req: ChatRequest = { model, system: [], messages: [{ role: "user", content }], stream, legacyCompletion: true };
  rejectMultipleChoices(b, "n");
  rejectMultipleChoices(b, "best_of");
  if (b.echo === true) throw unsupported("echo", "echo: true");
  decodeSampling(b, req);
  const maxTokens = optionalInteger(b, "max_tokens", 0);
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  if (stream && includeUsage(b)) req.includeUsage = true;
  return req;
}

/** Parameters the chat and legacy forms share. */
function decodeSampling(b: Json, req: ChatRequest): void {
  const temperature = optionalNumber(b, "temperature");
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optionalNumber(b, "top_p");
  if (topP !== undefined) req.topP = topP;
  const topK = optionalInteger(b, "top_k", 0);
  if (topK !== undefined) req.topK = topK;
  const stop = optionalStop(b);
  if (stop) req.stop = stop;
  const seed = optionalInteger(b, "seed", Number.MIN_SAFE_INTEGER);
  if (seed !== undefined) req.seed = seed;
  const presence = optionalNumber(b, "presence_penalty");
  if (presence !== undefined) req.presencePenalty = presence;
  const frequency = optionalNumber(b, "frequency_penalty");
  if (frequency !== undefined) req.frequencyPenalty = frequency;
  const user = optionalString(b, "user");
  if (user !== undefined) req.user = user;
}

function decodeMessages(raw: unknown): { system: TextPart[]; messages: Message[] } {
  if (raw === undefined || raw === null) throw missingParam("messages");
  if (!Array.isArray(raw)) throw wrongType("messages", "an array of messages", raw);
  if (raw.length === 0) throw invalidParam("messages", "must contain at least one message");
  const system: TextPart[] = [];
  const messages: Message[] = [];
  // Tool results carry only the call id; formats like Gemini and Ollama also need the function name.
  const toolNames = new Map<string, string>();
  // Consecutive `tool` messages become one user turn of tool results, as Anthropic requires.
  let toolTurn: Message | undefined;
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i];
    const param = `messages[${i}]`;
    if (!isObject(m)) throw wrongType(param, "a message object", m);
    const role = m.role;
    switch (role) {
      case "system":
      case "developer":
        decodeTextContent(m.content, `${param}.content`, system);
        break;
      case "user":
        messages.push({ role: "user", content: decodeUserContent(m.content, `${param}.content`) });
        toolTurn = undefined;
        break;
      case "assistant":
        messages.push(decodeAssistant(m, param, toolNames));
        toolTurn = undefined;
        break;
      case "tool": {
        const part = decodeToolResult(m, param, toolNames);
        if (toolTurn) toolTurn.content.push(part);
        else messages.push((toolTurn = { role: "user", content: [part] }));
        break;
      }
      case "function":
        throw unsupported(`${param}.role`, 'the deprecated "function" role (use tools and "tool" messages)');
      case undefined:
      case null:
        throw missingParam(`${param}.role`);
      default:
        throw invalidParam(`${param}.role`, `must be one of system, developer, user, assistant, tool, got ${JSON.stringify(role)}`);
    }
  }
  return { system, messages };
}

function decodeAssistant(m: Json, param: string, toolNames: Map<string, string>): Message {
  const content: ContentPart[] = [];
  // DeepSeek/vLLM-style reasoning in history, as lmrelay itself answers it.
  const reasoning = m.reasoning_content;
  if (typeof reasoning === "string" && reasoning !== "") content.push({ type: "thinking", text: reasoning });
  decodeAssistantText(m.content, `${param}.content`, content);
  const calls = m.tool_calls;
  if (calls !== undefined && calls !== null) {
    if (!Array.isArray(calls)) throw wrongType(`${param}.tool_calls`, "an array", calls);
    for (let j = 0; j < calls.length; j++) {
      const part = decodeToolCall(calls[j], `${param}.tool_calls[${j}]`);
      toolNames.set(part.id, part.name);
      content.push(part);
    }
  }
  return { role: "assistant", content };
}

function decodeToolCall(call: unknown, param: string): ToolCallPart {
  if (!isObject(call)) throw wrongType(param, "a tool call object", call);
  const id = requiredString(call, "id", `${param}.id`);
  const fn = call.function;
  if (!isObject(fn)) throw wrongType(`${param}.function`, "an object", fn);
  const name = requiredString(fn, "name", `${param}.function.name`);
  const args = fn.arguments;
  let text: string;
  if (args === undefined || args === null || args === "") text = "{}";
  // Kept verbatim (even when not valid JSON) so an OpenAI upstream sees exactly what the client sent;
  // adapters to object-based formats parse with a fallback.
  else if (typeof args === "string") text = args;
  else if (isObject(args)) text = JSON.stringify(args); // lenient: some clients send the object itself
  else throw wrongType(`${param}.function.arguments`, "a JSON string", args);
  return { type: "tool_call", id, name, arguments: text };
}

function decodeToolResult(m: Json, param: string, toolNames: Map<string, string>): ToolResultPart {
  const toolCallId = requiredString(m, "tool_call_id", `${param}.tool_call_id`);
  const part: ToolResultPart = { type: "tool_result", toolCallId, content: decodeToolContent(m.content, `${param}.content`) };
  const name = toolNames.get(toolCallId) ?? (typeof m.name === "string" ? m.name : undefined);
  if (name !== undefined) part.name = name;
  return part;
}

function decodeTools(raw: unknown): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw wrongType("tools", "an array", raw);
  const tools: ToolDefinition[] = [];
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    const param = `tools[${i}]`;
    if (!isObject(t)) throw wrongType(param, "a tool object", t);
    if (t.type !== "function") {
      if (t.type === undefined) throw missingParam(`${param}.type`);
      throw unsupported(`${param}.type`, `tools of type ${JSON.stringify(t.type)} (only "function")`);
    }
    const fn = t.function;
    if (!isObject(fn)) throw wrongType(`${param}.function`, "an object", fn);
    const tool: ToolDefinition = { name: requiredString(fn, "name", `${param}.function.name`), parameters: { type: "object", properties: {} } };
    const description = optionalString(fn, "description", `${param}.function.description`);
    if (description !== undefined) tool.description = description;
    const parameters = fn.parameters;
    if (isObject(parameters)) tool.parameters = parameters;
    else if (parameters !== undefined && parameters !== null) throw wrongType(`${param}.function.parameters`, "a JSON Schema object", parameters);
    tools.push(tool);
  }
  return tools;
}

function functionName(v: unknown, param: string): string {
  if (!isObject(v)) throw wrongType(param, "an object", v);
  const fn = v.function;
  if (!isObject(fn)) throw wrongType(`${param}.function`, "an object", fn);
  return requiredString(fn, "name", `${param}.function.name`);
}

function decodeToolChoice(raw: unknown, req: ChatRequest): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === "auto" || raw === "none" || raw === "required") return { type: raw };
  if (typeof raw === "string") throw invalidParam("tool_choice", `must be "auto", "none", "required" or an object, got "${raw}"`);
  if (!isObject(raw)) throw wrongType("tool_choice", "a string or an object", raw);
  if (raw.type === "function") return { type: "tool", name: functionName(raw, "tool_choice") };
  if (raw.type === "allowed_tools") {
    // No canonical field: narrow the request's tools to the allowed ones and keep the mode.
    const allowed = raw.allowed_tools;
    if (!isObject(allowed)) throw wrongType("tool_choice.allowed_tools", "an object", allowed);
    const list = allowed.tools;
    if (!Array.isArray(list)) throw wrongType("tool_choice.allowed_tools.tools", "an array", list);
    const names = new Set(list.map((t, i) => functionName(t, `tool_choice.allowed_tools.tools[${i}]`)));
    if (req.tools) req.tools = req.tools.filter((t) => names.has(t.name));
    const mode = allowed.mode ?? "auto";
    if (mode !== "auto" && mode !== "required") throw invalidParam("tool_choice.allowed_tools.mode", `must be "auto" or "required"`);
    return { type: mode };
  }
  throw invalidParam("tool_choice.type", `must be "function" or "allowed_tools", got ${JSON.stringify(raw.type)}`);
}

function decodeResponseFormat(raw: unknown): ResponseFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw wrongType("response_format", "an object", raw);
  switch (raw.type) {
    case "text":
      return { type: "text" };
    case "json_object":
      return { type: "json" };
    case "json_schema": {
      const js = raw.json_schema;
      if (!isObject(js)) throw wrongType("response_format.json_schema", "an object", js);
      return jsonSchemaFormat(js, "response_format.json_schema");
    }
    case undefined:
      throw missingParam("response_format.type");
    default:
      throw invalidParam("response_format.type", `must be "text", "json_object" or "json_schema", got ${JSON.stringify(raw.type)}`);
  }
}

/** A JSON-schema answer format (`name`, `schema`, `strict`), as Chat Completions'
 *  `response_format.json_schema` and the Responses API's `text.format` both write it; `at` names
 *  the field in errors. */
export function jsonSchemaFormat(js: Json, at: string): ResponseFormat {
  const format: ResponseFormat = { type: "json", name: requiredString(js, "name", `${at}.name`) };
  if (js.schema !== undefined && js.schema !== null) {
    if (!isObject(js.schema)) throw wrongType(`${at}.schema`, "an object", js.schema);
    format.schema = js.schema;
  }
  const strict = optionalBoolean(js, "strict", `${at}.strict`);
  if (strict !== undefined) format.strict = strict;
  return format;
}
