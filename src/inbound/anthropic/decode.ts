import { ANTHROPIC_BETA_FIELD, type ChatRequest, type Message, type Reasoning, type ResponseFormat, type TextPart, type ToolChoice, type ToolDefinition } from "../../core/types";
import { decodeContent, decodeSystem } from "./content";
import {
  expectArray,
  expectObject,
  expectString,
  invalid,
  isObject,
  type Json,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalString,
  typeName,
} from "./fields";

// Anthropic Messages request → canonical ChatRequest. Pure: wire JSON in, canonical value out,
// every malformed field a 400 naming it.

/** Request fields with no canonical counterpart, forwarded untouched only to Anthropic upstreams. */
const PASSTHROUGH_FIELDS = ["service_tier", "cache_control", "container", "context_management", "inference_geo"] as const;

const EFFORTS = new Set(["minimal", "low", "medium", "high", "xhigh", "max"]);

export interface DecodeOptions {
  /** `/v1/messages` requires `max_tokens`; `/v1/messages/count_tokens` does not take it. */
  requireMaxTokens: boolean;
  /** The client's `anthropic-beta` header, forwarded to Anthropic upstreams only. */
  beta?: string | null;
}

export function decodeMessagesRequest(body: unknown, opts: DecodeOptions = { requireMaxTokens: true }): ChatRequest {
  if (!isObject(body)) throw invalid("", `request body must be a JSON object, got ${typeName(body)}`);

  if (body.model == null) throw invalid("model", "field required");
  const model = expectString(body.model, "model");
  if (model === "") throw invalid("model", "must not be empty");

  if (opts.requireMaxTokens && body.max_tokens == null) throw invalid("max_tokens", "field required");
  const maxTokens = optionalInteger(body.max_tokens, "max_tokens", 0);

  const system = decodeSystem(body.system, "system");
  const messages = decodeMessages(body.messages, system);

  const req: ChatRequest = { model, system, messages, stream: optionalBoolean(body.stream, "stream") ?? false };
  if (maxTokens !== undefined) req.maxTokens = maxTokens;

  const temperature = optionalNumber(body.temperature, "temperature");
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optionalNumber(body.top_p, "top_p");
  if (topP !== undefined) req.topP = topP;
  const topK = optionalInteger(body.top_k, "top_k", 0);
  if (topK !== undefined) req.topK = topK;

  const stop = decodeStopSequences(body.stop_sequences);
  if (stop) req.stop = stop;

  if (body.tools != null) {
    const tools = decodeTools(body.tools);
    if (tools.length > 0) req.tools = tools;
  }
  if (body.tool_choice != null) decodeToolChoice(body.tool_choice, req);

  if (body.metadata != null) {
    const metadata = expectObject(body.metadata, "metadata");
    const user = optionalString(metadata.user_id, "metadata.user_id");
    if (user) req.user = user;
  }

  const outputConfig = body.output_config == null ? undefined : expectObject(body.output_config, "output_config");
  const reasoning = decodeReasoning(body.thinking, outputConfig);
  if (reasoning) req.reasoning = reasoning;
  // `output_format` is the structured-outputs beta spelling of `output_config.format`.
  const format = outputConfig?.format ?? body.output_format;
  if (format != null) req.responseFormat = decodeFormat(format, outputConfig?.format != null ? "output_config.format" : "output_format");

  let passthrough: Json | undefined;
  for (const field of PASSTHROUGH_FIELDS) {
    if (body[field] == null) continue;
    passthrough ??= {};
    passthrough[field] = body[field];
  }
  if (opts.beta) (passthrough ??= {})[ANTHROPIC_BETA_FIELD] = opts.beta;
  if (passthrough) req.passthrough = { protocol: "anthropic", fields: passthrough };
  return req;
}

/** Turns; `role:"system"` messages (sent by current Claude Code) are hoisted into `system`. */
function decodeMessages(value: unknown, system: TextPart[]): Message[] {
  if (value == null) throw invalid("messages", "field required");
  const list = expectArray(value, "messages");
  const messages: Message[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = `messages.${i}`;
    const msg = expectObject(list[i], path);
    const role = msg.role;
    if (role === "system") {
      for (const part of decodeSystem(msg.content, `${path}.content`)) system.push(part);
      continue;
    }
    if (role !== "user" && role !== "assistant") {
      throw invalid(`${path}.role`, `expected "user", "assistant" or "system", got ${JSON.stringify(role)}`);
    }
    if (msg.content == null) throw invalid(`${path}.content`, "field required");
    messages.push({ role, content: decodeContent(msg.content, role, `${path}.content`) });
  }
  if (messages.length === 0) throw invalid("messages", "at least one user or assistant message is required");
  return messages;
}

function decodeStopSequences(value: unknown): string[] | undefined {
  if (value == null) return undefined;
  const list = expectArray(value, "stop_sequences");
  const stop = list.map((s, i) => expectString(s, `stop_sequences.${i}`));
  return stop.length > 0 ? stop : undefined;
}

function decodeTools(value: unknown): ToolDefinition[] {
  const list = expectArray(value, "tools");
  const tools: ToolDefinition[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const path = `tools.${i}`;
    const tool = expectObject(list[i], path);
    // Server tools (web_search_*, bash_*, code_execution_*…) run inside Anthropic's API; no other
    // upstream can execute them, so refusing beats silently answering without them.
    if (tool.input_schema == null && tool.type != null && tool.type !== "custom") {
      throw invalid(
        path,
        `server tool ${JSON.stringify(tool.name ?? tool.type)} (type ${JSON.stringify(tool.type)}) is not supported by lmrelay; only client tools with an input_schema are`,
      );
    }
    const name = expectString(tool.name, `${path}.name`);
    if (name === "") throw invalid(`${path}.name`, "must not be empty");
    if (tool.input_schema == null) throw invalid(`${path}.input_schema`, "field required");
    const def: ToolDefinition = { name, parameters: expectObject(tool.input_schema, `${path}.input_schema`) };
    const description = optionalString(tool.description, `${path}.description`);
    if (description !== undefined) def.description = description;
    if (tool.cache_control != null) def.cacheControl = tool.cache_control;
    tools[i] = def;
  }
  return tools;
}

function decodeToolChoice(value: unknown, req: ChatRequest): void {
  const choice = expectObject(value, "tool_choice");
  let toolChoice: ToolChoice;
  switch (choice.type) {
    case "auto":
      toolChoice = { type: "auto" };
      break;
    case "any":
      toolChoice = { type: "required" };
      break;
    case "none":
      toolChoice = { type: "none" };
      break;
    case "tool": {
      const name = expectString(choice.name, "tool_choice.name");
      toolChoice = { type: "tool", name };
      break;
    }
    default:
      throw invalid("tool_choice.type", `expected "auto", "any", "tool" or "none", got ${JSON.stringify(choice.type)}`);
  }
  req.toolChoice = toolChoice;
  if (optionalBoolean(choice.disable_parallel_tool_use, "tool_choice.disable_parallel_tool_use")) req.parallelToolCalls = false;
}

function decodeReasoning(thinking: unknown, outputConfig: Json | undefined): Reasoning | undefined {
  let reasoning: Reasoning | undefined;
  if (thinking != null) {
    const t = expectObject(thinking, "thinking");
    if (t.type === "enabled") {
      if (t.budget_tokens == null) throw invalid("thinking.budget_tokens", "field required");
      reasoning = { enabled: true, budgetTokens: optionalInteger(t.budget_tokens, "thinking.budget_tokens", 1) };
    } else if (t.type === "disabled") reasoning = { enabled: false };
    else if (t.type === "adaptive") reasoning = { enabled: true };
    else throw invalid("thinking.type", `expected "enabled", "disabled" or "adaptive", got ${JSON.stringify(t.type)}`);
  }
  const effort = outputConfig?.effort;
  if (effort != null) {
    if (typeof effort !== "string" || !EFFORTS.has(effort)) {
      throw invalid("output_config.effort", `expected "low", "medium", "high", "xhigh" or "max", got ${JSON.stringify(effort)}`);
    }
    reasoning ??= { enabled: true };
    reasoning.effort = effort as Reasoning["effort"];
  }
  return reasoning;
}

function decodeFormat(value: unknown, path: string): ResponseFormat {
  const format = expectObject(value, path);
  if (format.type !== "json_schema") throw invalid(`${path}.type`, `expected "json_schema", got ${JSON.stringify(format.type)}`);
  if (format.schema == null) return { type: "json" };
  return { type: "json", schema: expectObject(format.schema, `${path}.schema`) };
}
