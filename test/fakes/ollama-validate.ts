// What a real Ollama server rejects, with its own messages (Go's JSON decoder and server/routes.go),
// so an adapter that sends the wrong shapes fails against the fake as it would against Ollama.

const ROLES = ["system", "user", "assistant", "tool"];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const jsonType = (v: unknown) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v === "object" ? "object" : typeof v);

function checkImages(images: unknown, where: string): string | undefined {
  if (images === undefined) return undefined;
  if (!Array.isArray(images)) return `json: cannot unmarshal ${jsonType(images)} into Go struct field ${where}.images of type []api.ImageData`;
  for (const img of images) {
    if (typeof img !== "string") return `json: cannot unmarshal ${jsonType(img)} into Go struct field ${where}.images of type api.ImageData`;
    if (!BASE64.test(img) || img.length % 4 === 1) return "illegal base64 data at input byte 4";
  }
  return undefined;
}

function checkOptions(options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (!isObject(options)) return `json: cannot unmarshal ${jsonType(options)} into Go struct field ChatRequest.options of type map[string]interface {}`;
  const numeric = ["temperature", "top_p", "top_k", "num_predict", "seed", "num_ctx", "presence_penalty", "frequency_penalty", "min_p", "repeat_penalty"];
  for (const k of numeric) if (options[k] !== undefined && typeof options[k] !== "number") return `option "${k}" must be of type number`;
  if (options.stop !== undefined && (!Array.isArray(options.stop) || !options.stop.every((s) => typeof s === "string")))
    return `option "stop" must be of an array of strings`;
  return undefined;
}

export function checkThink(think: unknown): string | undefined {
  if (think === undefined || typeof think === "boolean") return undefined;
  if (typeof think === "string" && ["high", "medium", "low"].includes(think)) return undefined;
  return `invalid think value: ${JSON.stringify(think)} (must be "high", "medium", "low", true, or false)`;
}

/** The first thing wrong with a `/api/chat` body, as Ollama would word it. */
export function validateChatBody(body: Record<string, unknown>): string | undefined {
  if (body.messages !== undefined && !Array.isArray(body.messages))
    return `json: cannot unmarshal ${jsonType(body.messages)} into Go struct field ChatRequest.messages of type []api.Message`;
  for (const m of (body.messages as unknown[]) ?? []) {
    if (!isObject(m)) return `json: cannot unmarshal ${jsonType(m)} into Go struct field ChatRequest.messages of type api.Message`;
    if (m.content !== undefined && typeof m.content !== "string")
      return `json: cannot unmarshal ${jsonType(m.content)} into Go struct field Message.messages.content of type string`;
    if (typeof m.role !== "string" || !ROLES.includes(m.role.toLowerCase())) return `invalid role: ${JSON.stringify(m.role)}`;
    const bad = checkImages(m.images, "Message.messages");
    if (bad) return bad;
    if (m.tool_calls !== undefined) {
      if (!Array.isArray(m.tool_calls)) return "json: cannot unmarshal into Go struct field Message.messages.tool_calls of type []api.ToolCall";
      for (const c of m.tool_calls) {
        if (!isObject(c) || !isObject(c.function) || typeof c.function.name !== "string")
          return "json: cannot unmarshal into Go struct field Message.messages.tool_calls of type api.ToolCall";
        if (c.function.arguments !== undefined && !isObject(c.function.arguments))
          return `json: cannot unmarshal ${jsonType(c.function.arguments)} into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments`;
      }
    }
  }
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return `json: cannot unmarshal ${jsonType(body.tools)} into Go struct field ChatRequest.tools of type api.Tools`;
    for (const t of body.tools)
      if (!isObject(t) || !isObject(t.function) || typeof t.function.name !== "string")
        return "json: cannot unmarshal into Go struct field ChatRequest.tools of type api.Tool";
  }
  if (body.format !== undefined && body.format !== "" && body.format !== "json" && !isObject(body.format))
    return `invalid format: ${JSON.stringify(body.format)}; expected "json" or a valid JSON Schema`;
  return checkOptions(body.options) ?? checkThink(body.think);
}

/** The first thing wrong with a `/api/generate` body. */
export function validateGenerateBody(body: Record<string, unknown>): string | undefined {
  if (body.prompt !== undefined && typeof body.prompt !== "string")
    return `json: cannot unmarshal ${jsonType(body.prompt)} into Go struct field GenerateRequest.prompt of type string`;
  return checkImages(body.images, "GenerateRequest") ?? checkOptions(body.options) ?? checkThink(body.think);
}
