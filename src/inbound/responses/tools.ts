import { lmrelayError } from "../../core/errors";
import type { ToolChoice, ToolDefinition } from "../../core/types";
import { type Json, invalidParam, isObject, missingParam, optionalString, requiredString, wrongType } from "../openai/check";

// Responses tools → canonical function tools. Function tools map one to one. A custom tool (freeform
// input, Codex's `apply_patch`) becomes a function with one string argument `input`, its grammar
// told to the model in the description; its calls go back as `custom_tool_call`. A `namespace`
// (Codex's `multi_agent_v1`) is flattened to `<namespace>__<tool>` names, mapped back on the way
// out. Hosted tools (web search, file search, …) run only at OpenAI: they are left out here and
// named as an adjustment (Codex offers `web_search` on every request).

export const NAMESPACE_SEPARATOR = "__";

/** What the answer encoder needs to give calls back their Responses form. */
export interface ToolNames {
  /** Canonical names of custom (freeform) tools. */
  custom: Set<string>;
  /** Canonical (flattened) name → namespace and the tool's own name. */
  namespaced: Map<string, { namespace: string; name: string }>;
}

export function flatName(namespace: string, name: string): string {
  return `${namespace}${NAMESPACE_SEPARATOR}${name}`;
}

/** Tool types only OpenAI runs itself. */
export const HOSTED_TOOLS = new Set([
  "web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11", "file_search",
  "code_interpreter", "computer_use_preview", "computer", "computer_use", "image_generation", "mcp", "local_shell",
  "shell", "apply_patch", "tool_search",
]);

export interface DecodedTools {
  tools: ToolDefinition[];
  names: ToolNames;
  /** Hosted tools left out, by type. */
  dropped: string[];
}

const CUSTOM_PARAMETERS = {
  type: "object",
  properties: { input: { type: "string", description: "The tool's whole input, as free text." } },
  required: ["input"],
  additionalProperties: false,
};

export function decodeTools(raw: unknown, param = "tools"): DecodedTools {
  const out: DecodedTools = { tools: [], names: { custom: new Set(), namespaced: new Map() }, dropped: [] };
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) throw wrongType(param, "an array", raw);
  for (let i = 0; i < raw.length; i++) decodeTool(raw[i], `${param}[${i}]`, out, undefined);
  return out;
}

function decodeTool(t: unknown, param: string, out: DecodedTools, namespace: string | undefined): void {
  if (!isObject(t)) throw wrongType(param, "a tool object", t);
  const type = t.type;
  if (typeof type !== "string") throw type === undefined ? missingParam(`${param}.type`) : wrongType(`${param}.type`, "a string", type);
  if (type === "namespace" && namespace === undefined) {
    const ns = requiredString(t, "name", `${param}.name`);
    const inner = t.tools;
    if (!Array.isArray(inner)) throw wrongType(`${param}.tools`, "an array", inner);
    for (let j = 0; j < inner.length; j++) decodeTool(inner[j], `${param}.tools[${j}]`, out, ns);
    return;
  }
  if (type !== "function" && type !== "custom") {
    if (HOSTED_TOOLS.has(type) && namespace === undefined) {
      out.dropped.push(type);
      return;
    }
    throw invalidParam(`${param}.type`, `must be "function", "custom", "namespace" or a hosted tool type, got ${JSON.stringify(type)}`);
  }
  const name = requiredString(t, "name", `${param}.name`);
  const canonical = namespace === undefined ? name : flatName(namespace, name);
  if (namespace !== undefined) out.names.namespaced.set(canonical, { namespace, name });
  let description = optionalString(t, "description", `${param}.description`);
  let parameters: Record<string, unknown>;
  if (type === "function") {
    const p = t.parameters;
    if (p !== undefined && p !== null && !isObject(p)) throw wrongType(`${param}.parameters`, "a JSON Schema object", p);
    parameters = p ?? { type: "object", properties: {} };
  } else {
    out.names.custom.add(canonical);
    parameters = CUSTOM_PARAMETERS;
    const hint = formatHint(t.format, `${param}.format`);
    if (hint) description = description ? `${description}\n\n${hint}` : hint;
  }
  const tool: ToolDefinition = { name: canonical, parameters };
  if (description !== undefined) tool.description = description;
  out.tools.push(tool);
}

/** What a custom tool's format asks of its input, said to the model (no upstream but OpenAI can
 *  constrain decoding to a grammar). */
function formatHint(format: unknown, param: string): string | undefined {
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) throw wrongType(param, "an object", format);
  if (format.type === "text") return undefined;
  if (format.type !== "grammar") throw invalidParam(`${param}.type`, `must be "text" or "grammar", got ${JSON.stringify(format.type)}`);
  const syntax = requiredString(format, "syntax", `${param}.syntax`);
  const definition = requiredString(format, "definition", `${param}.definition`);
  return `Put the tool's whole input in the "input" argument as plain text that matches this ${syntax} grammar:\n${definition}`;
}

/** `tool_choice`; a choice that forces a hosted tool cannot be honoured by a translated upstream. */
export function decodeToolChoice(raw: unknown, tools: DecodedTools): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === "auto" || raw === "none" || raw === "required") return { type: raw };
  if (typeof raw === "string") throw invalidParam("tool_choice", `must be "auto", "none", "required" or an object, got "${raw}"`);
  if (!isObject(raw)) throw wrongType("tool_choice", "a string or an object", raw);
  const type = raw.type;
  if (type === "function" || type === "custom") {
    const name = requiredString(raw, "name", "tool_choice.name");
    const ns = optionalString(raw, "namespace", "tool_choice.namespace");
    return { type: "tool", name: ns === undefined ? name : flatName(ns, name) };
  }
  if (type === "allowed_tools") {
    const list = raw.tools;
    if (!Array.isArray(list)) throw wrongType("tool_choice.tools", "an array", list);
    const names = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      if (!isObject(t)) throw wrongType(`tool_choice.tools[${i}]`, "an object", t);
      if (typeof t.name === "string") names.add(typeof t.namespace === "string" ? flatName(t.namespace, t.name) : t.name);
    }
    tools.tools = tools.tools.filter((t) => names.has(t.name) || [...names].some((n) => t.name.startsWith(`${n}${NAMESPACE_SEPARATOR}`)));
    const mode = raw.mode ?? "auto";
    if (mode !== "auto" && mode !== "required") throw invalidParam("tool_choice.mode", `must be "auto" or "required"`);
    return { type: mode };
  }
  if (typeof type === "string" && HOSTED_TOOLS.has(type))
    throw lmrelayError("invalid_request", `'tool_choice' forces the hosted tool "${type}", which only OpenAI runs; lmrelay serves this request through an upstream that has no such tool`, { param: "tool_choice" });
  throw invalidParam("tool_choice.type", `must be "function", "custom" or "allowed_tools", got ${JSON.stringify(type)}`);
}

export type { Json };
