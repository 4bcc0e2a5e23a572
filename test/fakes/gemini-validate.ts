// The request checks the real Gemini API (v1beta generateContent) makes and gateways trip over:
// unknown fields anywhere, roles, strict user/model alternation, empty text, function schemas in
// the OpenAPI subset, thought signatures on Gemini 3. Returns the API's 400 message, or undefined.

type Json = Record<string, any>;

const REQUEST_FIELDS = new Set(["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent", "model"]);
const PART_FIELDS = new Set([
  "text",
  "thought",
  "thoughtSignature",
  "inlineData",
  "fileData",
  "functionCall",
  "functionResponse",
  "executableCode",
  "codeExecutionResult",
  "videoMetadata",
  "mediaResolution",
  "partMetadata",
]);
const DATA_FIELDS = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"];
const GENERATION_FIELDS = new Set([
  "stopSequences",
  "responseMimeType",
  "responseSchema",
  "responseJsonSchema",
  "responseModalities",
  "candidateCount",
  "maxOutputTokens",
  "temperature",
  "topP",
  "topK",
  "seed",
  "presencePenalty",
  "frequencyPenalty",
  "responseLogprobs",
  "logprobs",
  "enableEnhancedCivicAnswers",
  "speechConfig",
  "thinkingConfig",
  "imageConfig",
  "mediaResolution",
]);
const SCHEMA_FIELDS = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum",
]);
const TYPES = new Set(["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"]);
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

const unknownField = (name: string, at: string) => `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`;

function checkFields(obj: Json, known: Set<string>, at: string): string | undefined {
  for (const k of Object.keys(obj)) if (!known.has(k)) return unknownField(k, at);
  return undefined;
}

export function checkSchema(s: unknown, at: string): string | undefined {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return `* ${at}: must be an object`;
  const schema = s as Json;
  const bad = checkFields(schema, SCHEMA_FIELDS, at);
  if (bad) return bad;
  const type = typeof schema.type === "string" ? schema.type.toUpperCase() : undefined;
  if (schema.type !== undefined && (!type || !TYPES.has(type))) return `Invalid value at '${at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(schema.type)}`;
  if (type === "STRING" && schema.format !== undefined && !["enum", "date-time"].includes(schema.format))
    return `* ${at}.format: only 'enum' and 'date-time' are supported for STRING type`;
  if (schema.enum !== undefined && (!Array.isArray(schema.enum) || schema.enum.some((v: unknown) => typeof v !== "string")))
    return `Invalid value at '${at}.enum' (TYPE_STRING), ${JSON.stringify(schema.enum)}`;
  if (type === "OBJECT" && schema.properties !== undefined && Object.keys(schema.properties).length === 0)
    return `* ${at}.properties: should be non-empty for OBJECT type`;
  if (type === "ARRAY" && schema.items === undefined) return `* ${at}.items: missing field.`;
  if (schema.type !== undefined && schema.anyOf !== undefined) return `* ${at}: type and any_of cannot be both set`;
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Json)) {
    const problem = checkSchema(sub, `${at}.properties[${name}].value`);
    if (problem) return problem;
  }
  for (const r of schema.required ?? [])
    if (!schema.properties || !(r in schema.properties)) return `* ${at}.required[${schema.required.indexOf(r)}]: property is not defined`;
  if (schema.items !== undefined) {
    const problem = checkSchema(schema.items, `${at}.items`);
    if (problem) return problem;
  }
  if (Array.isArray(schema.anyOf))
    for (let i = 0; i < schema.anyOf.length; i++) {
      const problem = checkSchema(schema.anyOf[i], `${at}.any_of[${i}]`);
      if (problem) return problem;
    }
  return undefined;
}

function checkPart(p: Json, at: string, role: string): string | undefined {
  if (typeof p !== "object" || p === null) return `* ${at}: must be an object`;
  const bad = checkFields(p, PART_FIELDS, at);
  if (bad) return bad;
  const data = DATA_FIELDS.filter((k) => p[k] !== undefined);
  if (data.length === 0) return `* ${at}: required oneof field 'data' must have one initialized field`;
  if (data.length > 1) return `Invalid value at '${at}' (oneof), oneof field 'data' is already set. Cannot set '${data[1]}'`;
  if (p.text !== undefined && typeof p.text !== "string") return `Invalid value at '${at}.text' (TYPE_STRING)`;
  if (p.text === "" && !p.thoughtSignature) return "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.";
  if (p.inlineData && (typeof p.inlineData.mimeType !== "string" || typeof p.inlineData.data !== "string"))
    return `* ${at}.inline_data: mime_type and data are required`;
  if (p.functionCall) {
    if (role !== "model") return `* ${at}.function_call: function calls are only allowed in model turns`;
    if (typeof p.functionCall.name !== "string" || !p.functionCall.name) return `* ${at}.function_call.name: Name cannot be empty.`;
    const args = p.functionCall.args;
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args)))
      return `Invalid value at '${at}.function_call.args' (type.googleapis.com/google.protobuf.Struct)`;
  }
  if (p.functionResponse) {
    if (typeof p.functionResponse.name !== "string" || !p.functionResponse.name) return `* ${at}.function_response.name: Name cannot be empty.`;
    const r = p.functionResponse.response;
    if (typeof r !== "object" || r === null || Array.isArray(r)) return `Invalid value at '${at}.function_response.response' (type.googleapis.com/google.protobuf.Struct)`;
  }
  return undefined;
}

function checkContents(contents: unknown, model: string): string | undefined {
  if (!Array.isArray(contents) || contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified";
  let previous: string | undefined;
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i] as Json;
    const at = `contents[${i}]`;
    const bad = checkFields(c ?? {}, new Set(["role", "parts"]), at);
    if (bad) return bad;
    const role = c.role ?? "user";
    if (role !== "user" && role !== "model") return "Please use a valid role: user, model.";
    if (!Array.isArray(c.parts) || c.parts.length === 0) return `* GenerateContentRequest.${at}.parts: contents.parts must not be empty.`;
    if (role === previous) return "Please ensure that multiturn requests alternate between user and model.";
    previous = role;
    for (let j = 0; j < c.parts.length; j++) {
      const problem = checkPart(c.parts[j], `${at}.parts[${j}]`, role);
      if (problem) return problem;
    }
    // Gemini 3 validates thought signatures: the first function call of each model turn needs one.
    if (role === "model" && model.startsWith("gemini-3")) {
      const first = c.parts.find((p: Json) => p.functionCall);
      if (first && !first.thoughtSignature)
        return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${first.functionCall.name}\` , position ${i + 1}.`;
    }
  }
  return undefined;
}

function checkTools(body: Json): string | undefined {
  const declared = new Set<string>();
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return "Invalid value at 'tools' (type.googleapis.com/google.ai.generativelanguage.v1beta.Tool)";
    for (let t = 0; t < body.tools.length; t++) {
      const tool = body.tools[t] as Json;
      const bad = checkFields(tool, new Set(["functionDeclarations", "googleSearch", "codeExecution", "urlContext"]), `tools[${t}]`);
      if (bad) return bad;
      for (let f = 0; f < (tool.functionDeclarations ?? []).length; f++) {
        const d = tool.functionDeclarations[f] as Json;
        const at = `tools[${t}].function_declarations[${f}]`;
        const badDecl = checkFields(d, new Set(["name", "description", "parameters", "parametersJsonSchema", "response", "behavior"]), at);
        if (badDecl) return badDecl;
        if (typeof d.name !== "string" || !FUNCTION_NAME.test(d.name))
          return `* GenerateContentRequest.${at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.`;
        declared.add(d.name);
        if (d.parameters !== undefined) {
          const problem = checkSchema(d.parameters, `GenerateContentRequest.${at}.parameters`);
          if (problem) return problem;
        }
      }
    }
  }
  const fc = body.toolConfig?.functionCallingConfig;
  if (fc !== undefined) {
    if (!["AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"].includes(fc.mode)) return `Invalid value at 'tool_config.function_calling_config.mode', ${JSON.stringify(fc.mode)}`;
    for (const name of fc.allowedFunctionNames ?? [])
      if (!declared.has(name)) return `* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: function "${name}" is not declared`;
  }
  return undefined;
}

export function validateGenerateContent(body: unknown, model: string): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "Invalid JSON payload received. Expected an object.";
  const b = body as Json;
  const bad = checkFields(b, REQUEST_FIELDS, "");
  if (bad) return bad;
  const contents = checkContents(b.contents, model);
  if (contents) return contents;
  if (b.systemInstruction !== undefined) {
    const parts = b.systemInstruction?.parts;
    if (!Array.isArray(parts) || parts.length === 0) return "* GenerateContentRequest.system_instruction.parts: must not be empty";
    for (let j = 0; j < parts.length; j++) {
      const problem = checkPart(parts[j], `system_instruction.parts[${j}]`, "user");
      if (problem) return problem;
    }
  }
  const tools = checkTools(b);
  if (tools) return tools;
  const g = b.generationConfig;
  if (g !== undefined) {
    const badGen = checkFields(g, GENERATION_FIELDS, "generation_config");
    if (badGen) return badGen;
    if (g.responseSchema !== undefined) {
      const problem = checkSchema(g.responseSchema, "GenerateContentRequest.generation_config.response_schema");
      if (problem) return problem;
    }
    if (g.stopSequences !== undefined && (!Array.isArray(g.stopSequences) || g.stopSequences.length > 5))
      return "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed";
    if (g.thinkingConfig !== undefined) {
      const badThink = checkFields(g.thinkingConfig, new Set(["thinkingBudget", "includeThoughts", "thinkingLevel"]), "generation_config.thinking_config");
      if (badThink) return badThink;
    }
    return refuseForModel(g, model);
  }
  return undefined;
}

// Per-model checks for the model names the tests use. Sources: Gemini API "Models" pages (output
// limits: 2.0 Flash 8,192; 2.5 Flash / Pro 65,536), "Gemini thinking" (2.0 Flash does not think;
// thinkingBudget ranges: 2.5 Pro 128–32768 and cannot be 0, 2.5 Flash 0–24576, -1 = dynamic;
// Gemini 3 takes thinkingLevel, and a request with both thinkingLevel and thinkingBudget is
// refused; 2.5 models take no thinkingLevel).
interface GeminiModelRules {
  maxOutput: number;
  /** undefined = no thinking. */
  budget?: [number, number];
  levels?: readonly string[];
}

const GEMINI_MODELS: readonly [RegExp, GeminiModelRules][] = [
  [/^gemini-2\.0-flash(-\d+)?$/, { maxOutput: 8192 }],
  [/^gemini-2\.5-pro/, { maxOutput: 65_536, budget: [128, 32_768] }],
  [/^gemini-2\.5-flash-lite/, { maxOutput: 65_536, budget: [512, 24_576] }],
  [/^gemini-2\.5-flash/, { maxOutput: 65_536, budget: [0, 24_576] }],
  [/^gemini-3(\.\d)?-(pro|flash)/, { maxOutput: 65_536, levels: ["low", "high"] }],
];

function refuseForModel(g: Json, model: string): string | undefined {
  const rules = GEMINI_MODELS.find(([re]) => re.test(model))?.[1];
  if (!rules) return undefined;
  if (typeof g.maxOutputTokens === "number" && g.maxOutputTokens > rules.maxOutput)
    return `Unable to submit request because it has a maxOutputTokens value of ${g.maxOutputTokens} but the supported range is from 1 (inclusive) to ${rules.maxOutput + 1} (exclusive). Update the value and try again.`;
  const t = g.thinkingConfig;
  if (t === undefined) return undefined;
  if (!rules.budget && !rules.levels && (t.thinkingBudget || t.thinkingLevel || t.includeThoughts)) return "Thinking is not supported for this model.";
  if (t.thinkingBudget !== undefined && t.thinkingLevel !== undefined) return "You can only set only one of thinking budget and thinking level.";
  // The REST docs write levels in lower case ("low"), the SDK enums in upper case ("LOW"): both are taken.
  if (t.thinkingLevel !== undefined && !rules.levels?.includes(String(t.thinkingLevel).toLowerCase())) return `Invalid value at 'generation_config.thinking_config.thinking_level' (${JSON.stringify(t.thinkingLevel)})`;
  if (t.thinkingBudget !== undefined && rules.budget && t.thinkingBudget !== -1) {
    const [min, max] = rules.budget;
    if (t.thinkingBudget < min || t.thinkingBudget > max) return `The thinking budget ${t.thinkingBudget} is invalid. Please choose a value between ${min} and ${max}.`;
  }
  return undefined;
}
