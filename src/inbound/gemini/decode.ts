import { fromGeminiSchema, GeminiSchemaError } from "../../core/gemini-schema";
import type { ChatRequest, Reasoning, ToolChoice, ToolDefinition } from "../../core/types";
import { expectArray, expectObject, expectString, invalid, isObject, type Json, optionalBoolean, optionalInteger, optionalNumber, optionalString, typeName } from "../anthropic/fields";
import { decodeContents, decodeSystemInstruction } from "./parts";

// Gemini generateContent request → canonical ChatRequest. Pure: wire JSON in, canonical value out,
// every malformed field a 400 naming it by its path (`generationConfig.topK`).

export interface GeminiChatRequest {
  req: ChatRequest;
  /** `thinkingConfig.includeThoughts`: thought summaries are shown only when asked for. */
  includeThoughts: boolean;
}

/** Fields with no canonical meaning that a Gemini upstream still understands. */
const PASSTHROUGH_FIELDS = ["safetySettings"] as const;

const LEVELS: Record<string, NonNullable<Reasoning["effort"]>> = { MINIMAL: "minimal", LOW: "low", MEDIUM: "medium", HIGH: "high" };

/** Google's own tools run inside Google's API; no other upstream can run them. */
const GOOGLE_TOOLS = ["googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext", "retrieval", "computerUse", "fileSearch", "googleMaps", "enterpriseWebSearch"];

export function decodeGenerateContent(body: unknown, model: string, stream: boolean): GeminiChatRequest {
  if (!isObject(body)) throw invalid("", `request body must be a JSON object, got ${typeName(body)}`);
  if (!model) throw invalid("model", "the path names no model");
  if (body.cachedContent != null) throw invalid("cachedContent", "Gemini context caches are not supported by lmrelay; send the contents instead");
  const req: ChatRequest = { model, system: decodeSystemInstruction(body.systemInstruction), messages: decodeContents(body.contents), stream };
  if (body.tools != null) {
    const tools = decodeTools(body.tools);
    if (tools.length) req.tools = tools;
  }
  if (body.toolConfig != null) decodeToolConfig(body.toolConfig, req);
  let includeThoughts = false;
  if (body.generationConfig != null) includeThoughts = decodeGenerationConfig(expectObject(body.generationConfig, "generationConfig"), req);
  if (body.safetySettings != null) expectArray(body.safetySettings, "safetySettings");
  let fields: Json | undefined;
  for (const f of PASSTHROUGH_FIELDS) if (body[f] != null) (fields ??= {})[f] = body[f];
  if (fields) req.passthrough = { protocol: "gemini", fields };
  return { req, includeThoughts };
}

function decodeTools(value: unknown): ToolDefinition[] {
  const list = expectArray(value, "tools");
  const out: ToolDefinition[] = [];
  for (let t = 0; t < list.length; t++) {
    const tool = expectObject(list[t], `tools.${t}`);
    for (const key of Object.keys(tool)) {
      if (key === "functionDeclarations") continue;
      if (GOOGLE_TOOLS.includes(key)) throw invalid(`tools.${t}.${key}`, "Google's built-in tools run inside Google's API and are not supported by lmrelay; declare functions instead");
      throw invalid(`tools.${t}.${key}`, "unknown tool kind; lmrelay relays functionDeclarations");
    }
    if (tool.functionDeclarations == null) continue;
    const decls = expectArray(tool.functionDeclarations, `tools.${t}.functionDeclarations`);
    for (let f = 0; f < decls.length; f++) out.push(decodeDeclaration(decls[f], `tools.${t}.functionDeclarations.${f}`));
  }
  return out;
}

function decodeDeclaration(value: unknown, path: string): ToolDefinition {
  const decl = expectObject(value, path);
  const name = expectString(decl.name, `${path}.name`);
  if (!name) throw invalid(`${path}.name`, "must not be empty");
  if (decl.parameters != null && decl.parametersJsonSchema != null) throw invalid(path, "parameters and parametersJsonSchema cannot both be set");
  let parameters: Record<string, unknown> = { type: "object", properties: {} };
  if (decl.parametersJsonSchema != null) parameters = expectObject(decl.parametersJsonSchema, `${path}.parametersJsonSchema`);
  else if (decl.parameters != null) parameters = schemaFrom(decl.parameters, `${path}.parameters`);
  const def: ToolDefinition = { name, parameters };
  const description = optionalString(decl.description, `${path}.description`);
  if (description) def.description = description;
  return def;
}

function schemaFrom(value: unknown, path: string): Record<string, unknown> {
  try {
    return fromGeminiSchema(value, path);
  } catch (e) {
    if (e instanceof GeminiSchemaError) throw invalid(e.path, e.message);
    throw e;
  }
}

function decodeToolConfig(value: unknown, req: ChatRequest): void {
  const config = expectObject(value, "toolConfig");
  if (config.functionCallingConfig == null) return;
  const fc = expectObject(config.functionCallingConfig, "toolConfig.functionCallingConfig");
  const names = fc.allowedFunctionNames == null ? [] : expectArray(fc.allowedFunctionNames, "toolConfig.functionCallingConfig.allowedFunctionNames").map((n, i) => expectString(n, `toolConfig.functionCallingConfig.allowedFunctionNames.${i}`));
  const mode = fc.mode ?? "AUTO";
  let choice: ToolChoice;
  switch (mode) {
    case "AUTO":
    case "MODE_UNSPECIFIED":
    // VALIDATED constrains calls to the schemas; every upstream lmrelay reaches checks them anyway.
    case "VALIDATED":
      choice = { type: "auto" };
      break;
    case "NONE":
      choice = { type: "none" };
      break;
    case "ANY":
      choice = names.length === 1 ? { type: "tool", name: names[0]! } : { type: "required" };
      break;
    default:
      throw invalid("toolConfig.functionCallingConfig.mode", `expected "AUTO", "ANY", "NONE" or "VALIDATED", got ${JSON.stringify(mode)}`);
  }
  if (names.length && mode !== "NONE") {
    const declared = new Set((req.tools ?? []).map((t) => t.name));
    for (const n of names) if (!declared.has(n)) throw invalid("toolConfig.functionCallingConfig.allowedFunctionNames", `function ${JSON.stringify(n)} is not declared`);
    // Only the allowed functions may be called: the others are not offered at all.
    req.tools = req.tools!.filter((t) => names.includes(t.name));
  }
  req.toolChoice = choice;
}

/** Fills the sampling, output and thinking fields; returns `includeThoughts`. */
function decodeGenerationConfig(g: Json, req: ChatRequest): boolean {
  const at = (k: string) => `generationConfig.${k}`;
  const temperature = optionalNumber(g.temperature, at("temperature"));
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optionalNumber(g.topP, at("topP"));
  if (topP !== undefined) req.topP = topP;
  const topK = optionalNumber(g.topK, at("topK"));
  if (topK !== undefined) req.topK = Math.round(topK);
  const maxTokens = optionalInteger(g.maxOutputTokens, at("maxOutputTokens"), 1);
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  if (g.stopSequences != null) {
    const stop = expectArray(g.stopSequences, at("stopSequences")).map((s, i) => expectString(s, `${at("stopSequences")}.${i}`));
    if (stop.length) req.stop = stop;
  }
  const candidates = optionalInteger(g.candidateCount, at("candidateCount"), 1);
  if (candidates !== undefined && candidates !== 1) throw invalid(at("candidateCount"), `lmrelay answers one candidate; got ${candidates}`);
  const seed = optionalInteger(g.seed, at("seed"), Number.MIN_SAFE_INTEGER);
  if (seed !== undefined) req.seed = seed;
  const presence = optionalNumber(g.presencePenalty, at("presencePenalty"));
  if (presence !== undefined) req.presencePenalty = presence;
  const frequency = optionalNumber(g.frequencyPenalty, at("frequencyPenalty"));
  if (frequency !== undefined) req.frequencyPenalty = frequency;
  if (g.responseModalities != null) {
    const modalities = expectArray(g.responseModalities, at("responseModalities"));
    if (modalities.some((m) => m !== "TEXT")) throw invalid(at("responseModalities"), "lmrelay answers text only (TEXT)");
  }
  decodeResponseFormat(g, req);
  return decodeThinking(g.thinkingConfig, req);
}

function decodeResponseFormat(g: Json, req: ChatRequest): void {
  const mime = optionalString(g.responseMimeType, "generationConfig.responseMimeType");
  if (mime !== undefined && mime !== "text/plain" && mime !== "application/json")
    throw invalid("generationConfig.responseMimeType", `expected "text/plain" or "application/json", got ${JSON.stringify(mime)}`);
  if (g.responseSchema != null && g.responseJsonSchema != null) throw invalid("generationConfig", "responseSchema and responseJsonSchema cannot both be set");
  const schema =
    g.responseJsonSchema != null
      ? expectObject(g.responseJsonSchema, "generationConfig.responseJsonSchema")
      : g.responseSchema != null
        ? schemaFrom(g.responseSchema, "generationConfig.responseSchema")
        : undefined;
  if (mime === "application/json" || schema) req.responseFormat = schema ? { type: "json", schema } : { type: "json" };
}

function decodeThinking(value: unknown, req: ChatRequest): boolean {
  if (value == null) return false;
  const t = expectObject(value, "generationConfig.thinkingConfig");
  const includeThoughts = optionalBoolean(t.includeThoughts, "generationConfig.thinkingConfig.includeThoughts") ?? false;
  const budget = optionalInteger(t.thinkingBudget, "generationConfig.thinkingConfig.thinkingBudget", -1);
  const level = optionalString(t.thinkingLevel, "generationConfig.thinkingConfig.thinkingLevel");
  if (level !== undefined && level !== "THINKING_LEVEL_UNSPECIFIED" && !LEVELS[level])
    throw invalid("generationConfig.thinkingConfig.thinkingLevel", `expected "MINIMAL", "LOW", "MEDIUM" or "HIGH", got ${JSON.stringify(level)}`);
  // Budget 0 switches thinking off, -1 leaves it to the model; a level is an effort.
  if (budget === 0) req.reasoning = { enabled: false };
  else if (budget !== undefined && budget > 0) req.reasoning = { enabled: true, budgetTokens: budget };
  else if (budget === -1 || (level && LEVELS[level]) || includeThoughts) req.reasoning = { enabled: true };
  if (level && LEVELS[level] && req.reasoning?.enabled) req.reasoning.effort = LEVELS[level];
  return includeThoughts;
}
