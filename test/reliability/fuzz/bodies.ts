import fc from "fast-check";

// Request bodies for every inbound endpoint, generated from each protocol's request schema
// (openai.md, anthropic.md, ollama.md): mostly well-formed, with every optional field sometimes
// present, so mutations start from something that reaches deep into the decoders and the router.

/** Model names the fuzz gateway serves (`echo`, and `up`: a fake OpenAI upstream) and some it does not. */
export const SERVED_MODELS = ["echo/echo-1", "up/gpt-4o-mini", "fast"] as const;

const modelName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...SERVED_MODELS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "echo/", "/", "up/../../etc/passwd", "up/gpt-4o-mini\r\nx-injected: 1", "a".repeat(5000), "echo/echo-1\u0000", "💥/🙂", "up/%2e%2e"),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

/** Text with the characters that break naive code: NUL, CR/LF, lone surrogates, RTL marks, emoji. */
export const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "a\u0000b", "\r\n\r\n", "data: [DONE]\n\n", "\ud800", "\udfff\ud800", "\u202e", "{\"", "</s>", "\\u0000") },
);

const num = fc.oneof(
  fc.integer({ min: -5, max: 5000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, 0.5, 2, 1e308, -1e308, 2 ** 53 + 1, 4294967297, 1e-320),
);

const dataUri = fc.constantFrom(
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "data:image/png;base64,!!!not base64",
  "data:image/svg+xml,<svg/>",
  "data:,",
  "data:image/jpeg;base64,",
);
// Only literal private addresses: lmrelay refuses them before any connection, so the fuzz never
// reaches out of 127.0.0.1 (a host name would need DNS).
const imageUrl = fc.oneof(dataUri, fc.constantFrom("http://127.0.0.1:1/x.png", "http://10.0.0.1/a.jpg", "file:///etc/passwd", "ftp://127.0.0.1/x", "http://[::1]/x.png", "not a url"));

const jsonSchema = fc.oneof(
  fc.constant({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }),
  fc.constant({}),
  fc.jsonValue({ maxDepth: 3 }),
);

const toolName = fc.oneof(fc.constantFrom("get_weather", "f", "a-b_c"), fc.string({ maxLength: 80 }));
const argumentsText = fc.oneof(fc.constant('{"city":"Paris"}'), fc.json({ maxDepth: 2 }), text);

// ---- OpenAI ---------------------------------------------------------------------------------

const openaiPart = fc.oneof(
  fc.record({ type: fc.constant("text"), text }),
  fc.record({ type: fc.constant("image_url"), image_url: fc.record({ url: imageUrl, detail: fc.constantFrom("auto", "low", "high", "weird") }, { requiredKeys: ["url"] }) }),
  fc.record({ type: fc.constant("input_audio"), input_audio: fc.record({ data: fc.base64String({ maxLength: 40 }), format: fc.constantFrom("wav", "mp3") }) }),
  fc.record({ type: fc.constantFrom("file", "refusal", "unknown"), text }),
);
const openaiContent = fc.oneof({ weight: 3, arbitrary: text }, { weight: 2, arbitrary: fc.array(openaiPart, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant(null) });
const openaiToolCall = fc.record({
  id: fc.oneof(fc.constantFrom("call_1", "call_2"), fc.string({ maxLength: 20 })),
  type: fc.constant("function"),
  function: fc.record({ name: toolName, arguments: argumentsText }),
});
const openaiMessage = fc.oneof(
  fc.record({ role: fc.constantFrom("system", "developer"), content: openaiContent, name: fc.string({ maxLength: 10 }) }, { requiredKeys: ["role", "content"] }),
  fc.record({ role: fc.constant("user"), content: openaiContent, name: fc.string({ maxLength: 10 }) }, { requiredKeys: ["role", "content"] }),
  fc.record(
    { role: fc.constant("assistant"), content: openaiContent, tool_calls: fc.array(openaiToolCall, { maxLength: 2 }), refusal: fc.option(text), reasoning_content: text },
    { requiredKeys: ["role"] },
  ),
  fc.record({ role: fc.constant("tool"), tool_call_id: fc.constantFrom("call_1", "call_2", "nope"), content: openaiContent }),
  fc.record({ role: fc.constantFrom("function", "model", ""), content: text }),
);
const openaiTool = fc.record(
  {
    type: fc.constantFrom("function", "function", "custom"),
    function: fc.record({ name: toolName, description: text, parameters: jsonSchema, strict: fc.boolean() }, { requiredKeys: ["name"] }),
  },
  { requiredKeys: ["type", "function"] },
);
const openaiCommon = {
  model: modelName,
  stream: fc.boolean(),
  stream_options: fc.record({ include_usage: fc.boolean() }),
  temperature: num,
  top_p: num,
  max_tokens: num,
  n: fc.constantFrom(1, 2, 0),
  stop: fc.oneof(text, fc.array(text, { maxLength: 5 })),
  seed: num,
  user: text,
  presence_penalty: num,
  frequency_penalty: num,
  logit_bias: fc.dictionary(fc.string({ maxLength: 6 }), num, { maxKeys: 3 }),
};

export const openaiChat = fc.record(
  {
    ...openaiCommon,
    messages: fc.array(openaiMessage, { minLength: 1, maxLength: 5 }),
    max_completion_tokens: num,
    tools: fc.array(openaiTool, { maxLength: 3 }),
    tool_choice: fc.oneof(fc.constantFrom("auto", "none", "required", "any"), fc.record({ type: fc.constant("function"), function: fc.record({ name: toolName }) })),
    parallel_tool_calls: fc.boolean(),
    response_format: fc.oneof(
      fc.record({ type: fc.constantFrom("text", "json_object") }),
      fc.record({ type: fc.constant("json_schema"), json_schema: fc.record({ name: fc.string({ maxLength: 10 }), schema: jsonSchema, strict: fc.boolean() }) }),
    ),
    reasoning_effort: fc.constantFrom("minimal", "low", "medium", "high", "xhigh", "none", "max"),
    logprobs: fc.boolean(),
    top_logprobs: num,
    modalities: fc.array(fc.constantFrom("text", "audio")),
    metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
    store: fc.boolean(),
  },
  { requiredKeys: ["model", "messages"] },
);

export const openaiCompletion = fc.record(
  {
    ...openaiCommon,
    prompt: fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.array(fc.integer({ min: -1, max: 100_000 }), { maxLength: 10 }), fc.array(fc.array(fc.nat(), { maxLength: 3 }), { maxLength: 2 })),
    echo: fc.boolean(),
    suffix: text,
    best_of: num,
    logprobs: num,
  },
  { requiredKeys: ["model", "prompt"] },
);

const embeddingInput = fc.oneof(text, fc.array(text, { maxLength: 4 }), fc.array(fc.integer({ min: -1, max: 100_000 }), { maxLength: 5 }), fc.array(fc.array(fc.nat(), { maxLength: 3 }), { maxLength: 2 }));

export const openaiEmbeddings = fc.record(
  {
    model: modelName,
    input: embeddingInput,
    encoding_format: fc.constantFrom("float", "base64", "int8"),
    dimensions: fc.oneof(fc.integer({ min: -2, max: 64 }), fc.constantFrom(1e9, 2 ** 31, 0.5)),
    user: text,
  },
  { requiredKeys: ["model", "input"] },
);

// ---- Anthropic ------------------------------------------------------------------------------

const anthropicImageSource = fc.oneof(
  fc.record({ type: fc.constant("base64"), media_type: fc.constantFrom("image/png", "image/jpeg", "text/plain"), data: fc.oneof(fc.base64String({ maxLength: 40 }), text) }),
  fc.record({ type: fc.constant("url"), url: imageUrl }),
  fc.record({ type: fc.constantFrom("file", "text"), file_id: text }),
);
const cacheControl = fc.record({ type: fc.constantFrom("ephemeral", "other"), ttl: fc.constantFrom("5m", "1h") }, { requiredKeys: ["type"] });
const anthropicBlock = fc.oneof(
  fc.record({ type: fc.constant("text"), text, cache_control: cacheControl }, { requiredKeys: ["type", "text"] }),
  fc.record({ type: fc.constant("image"), source: anthropicImageSource }),
  fc.record({ type: fc.constant("tool_use"), id: fc.constantFrom("toolu_1", "toolu_2"), name: toolName, input: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record(
    { type: fc.constant("tool_result"), tool_use_id: fc.constantFrom("toolu_1", "toolu_2", "x"), content: fc.oneof(text, fc.array(fc.record({ type: fc.constant("text"), text }), { maxLength: 2 })), is_error: fc.boolean() },
    { requiredKeys: ["type", "tool_use_id"] },
  ),
  fc.record({ type: fc.constant("thinking"), thinking: text, signature: text }),
  fc.record({ type: fc.constant("redacted_thinking"), data: text }),
  fc.record({ type: fc.constantFrom("document", "server_tool_use", "search_result", "bogus"), text }),
);
const anthropicMessage = fc.record({
  role: fc.oneof({ weight: 8, arbitrary: fc.constantFrom("user", "assistant") }, { weight: 1, arbitrary: fc.constantFrom("system", "tool", "") }),
  content: fc.oneof(text, fc.array(anthropicBlock, { maxLength: 3 })),
});
const anthropicTool = fc.oneof(
  fc.record({ name: toolName, description: text, input_schema: jsonSchema, cache_control: cacheControl }, { requiredKeys: ["name", "input_schema"] }),
  fc.record({ type: fc.constantFrom("web_search_20250305", "bash_20250124", "text_editor_20250124", "custom"), name: toolName }),
);

const anthropicBase = {
  model: modelName,
  messages: fc.array(anthropicMessage, { minLength: 1, maxLength: 5 }),
  system: fc.oneof(text, fc.array(fc.record({ type: fc.constant("text"), text, cache_control: cacheControl }, { requiredKeys: ["type", "text"] }), { maxLength: 2 })),
  tools: fc.array(anthropicTool, { maxLength: 3 }),
  tool_choice: fc.oneof(
    fc.record({ type: fc.constantFrom("auto", "any", "none") }),
    fc.record({ type: fc.constant("tool"), name: toolName }),
    fc.record({ type: fc.constant("auto"), disable_parallel_tool_use: fc.boolean() }),
  ),
  thinking: fc.oneof(fc.record({ type: fc.constant("enabled"), budget_tokens: num }), fc.record({ type: fc.constantFrom("disabled", "adaptive") })),
};

export const anthropicMessages = fc.record(
  {
    ...anthropicBase,
    max_tokens: fc.oneof(fc.integer({ min: 1, max: 4096 }), num),
    stream: fc.boolean(),
    temperature: num,
    top_p: num,
    top_k: num,
    stop_sequences: fc.array(text, { maxLength: 4 }),
    metadata: fc.record({ user_id: text }),
    service_tier: fc.constantFrom("auto", "standard_only"),
  },
  { requiredKeys: ["model", "messages", "max_tokens"] },
);

export const anthropicCountTokens = fc.record(anthropicBase, { requiredKeys: ["model", "messages"] });

// ---- Ollama ---------------------------------------------------------------------------------

const ollamaOptions = fc.record(
  {
    temperature: num,
    num_predict: num,
    num_ctx: num,
    top_k: num,
    top_p: num,
    seed: num,
    stop: fc.array(text, { maxLength: 3 }),
    repeat_penalty: num,
  },
  { requiredKeys: [] },
);
const ollamaFormat = fc.oneof(fc.constantFrom("json", "", "yaml"), jsonSchema);
const ollamaImages = fc.array(fc.oneof(fc.base64String({ maxLength: 60 }), text), { maxLength: 2 });
const ollamaMessage = fc.record(
  {
    role: fc.oneof({ weight: 8, arbitrary: fc.constantFrom("system", "user", "assistant", "tool") }, { weight: 1, arbitrary: text }),
    content: text,
    images: ollamaImages,
    thinking: text,
    tool_name: toolName,
    tool_calls: fc.array(fc.record({ function: fc.record({ name: toolName, arguments: fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), text) }) }), { maxLength: 2 }),
  },
  { requiredKeys: ["role", "content"] },
);
const ollamaTool = fc.record({ type: fc.constant("function"), function: fc.record({ name: toolName, description: text, parameters: jsonSchema }, { requiredKeys: ["name"] }) });
const ollamaCommon = {
  model: modelName,
  stream: fc.boolean(),
  format: ollamaFormat,
  options: ollamaOptions,
  keep_alive: fc.oneof(fc.constantFrom("5m", "0", "-1", "forever"), num),
  think: fc.oneof(fc.boolean(), fc.constantFrom("low", "medium", "high")),
};

export const ollamaChat = fc.record({ ...ollamaCommon, messages: fc.array(ollamaMessage, { maxLength: 5 }), tools: fc.array(ollamaTool, { maxLength: 2 }) }, { requiredKeys: ["model"] });

export const ollamaGenerate = fc.record(
  { ...ollamaCommon, prompt: text, suffix: text, system: text, template: text, raw: fc.boolean(), images: ollamaImages, context: fc.array(fc.integer(), { maxLength: 5 }) },
  { requiredKeys: ["model"] },
);

export const ollamaEmbed = fc.record(
  { model: modelName, input: fc.oneof(text, fc.array(text, { maxLength: 4 })), truncate: fc.boolean(), dimensions: fc.oneof(fc.integer({ min: -2, max: 64 }), fc.constantFrom(1e9, 0.5)), options: ollamaOptions, keep_alive: fc.constant("5m") },
  { requiredKeys: ["model", "input"] },
);

export const ollamaEmbeddings = fc.record({ model: modelName, prompt: text, options: ollamaOptions }, { requiredKeys: ["model", "prompt"] });

export const ollamaShow = fc.oneof(fc.record({ model: modelName, verbose: fc.boolean() }, { requiredKeys: ["model"] }), fc.record({ name: modelName }));

// ---- Gemini (the model is in the path: see harness.ts) ---------------------------------------

const geminiType = fc.constantFrom("STRING", "string", "OBJECT", "ARRAY", "INTEGER", "NUMBER", "BOOLEAN", "NULL", "TYPE_UNSPECIFIED", "weird", "");
const geminiSchema: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  schema: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ type: geminiType, nullable: fc.boolean(), format: fc.constantFrom("enum", "int64", "x"), enum: fc.array(text, { maxLength: 3 }), description: text }, { requiredKeys: [] }),
    fc.record({ type: fc.constant("OBJECT"), properties: fc.dictionary(fc.string({ maxLength: 8 }), tie("schema"), { maxKeys: 3 }), required: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }), propertyOrdering: fc.array(text, { maxLength: 2 }) }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.constant("ARRAY"), items: tie("schema") }),
    fc.record({ anyOf: fc.array(tie("schema"), { maxLength: 2 }) }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
})).schema;
const geminiPart = fc.oneof(
  { weight: 4, arbitrary: fc.record({ text, thought: fc.boolean(), thoughtSignature: fc.base64String({ maxLength: 12 }) }, { requiredKeys: ["text"] }) },
  { weight: 1, arbitrary: fc.record({ inlineData: fc.record({ mimeType: fc.constantFrom("image/png", "application/pdf", "text/plain", "audio/mp3", ""), data: fc.oneof(fc.base64String({ maxLength: 40 }), text) }) }) },
  { weight: 1, arbitrary: fc.record({ fileData: fc.record({ mimeType: fc.constantFrom("image/png", "video/mp4"), fileUri: imageUrl }, { requiredKeys: ["fileUri"] }) }) },
  { weight: 2, arbitrary: fc.record({ functionCall: fc.record({ name: toolName, args: fc.oneof(fc.constant({ city: "Paris" }), fc.jsonValue({ maxDepth: 2 })), id: fc.constantFrom("c1", "c2") }, { requiredKeys: ["name"] }), thoughtSignature: fc.base64String({ maxLength: 12 }) }, { requiredKeys: ["functionCall"] }) },
  { weight: 2, arbitrary: fc.record({ functionResponse: fc.record({ name: toolName, response: fc.oneof(fc.record({ output: text }), fc.jsonValue({ maxDepth: 2 })), id: fc.constantFrom("c1", "c2", "c9") }, { requiredKeys: ["name"] }) }) },
  { weight: 1, arbitrary: fc.record({ executableCode: fc.record({ code: text }) }) },
);
const geminiContent = fc.record({ role: fc.constantFrom("user", "model", "user", "model", "function", ""), parts: fc.array(geminiPart, { minLength: 1, maxLength: 3 }) }, { requiredKeys: ["parts"] });
const geminiDeclaration = fc.oneof(
  fc.record({ name: toolName, description: text, parameters: geminiSchema }, { requiredKeys: ["name"] }),
  fc.record({ name: toolName, description: text, parametersJsonSchema: jsonSchema }, { requiredKeys: ["name"] }),
);
const geminiRequestFields = {
  contents: fc.array(geminiContent, { minLength: 1, maxLength: 4 }),
  systemInstruction: fc.oneof(fc.record({ parts: fc.array(fc.record({ text }), { maxLength: 2 }) }), text),
  tools: fc.array(fc.oneof({ weight: 4, arbitrary: fc.record({ functionDeclarations: fc.array(geminiDeclaration, { maxLength: 2 }) }) }, { weight: 1, arbitrary: fc.record({ googleSearch: fc.constant({}) }) }), { maxLength: 2 }),
  toolConfig: fc.record({ functionCallingConfig: fc.record({ mode: fc.constantFrom("AUTO", "ANY", "NONE", "VALIDATED", "bogus"), allowedFunctionNames: fc.array(toolName, { maxLength: 2 }) }, { requiredKeys: ["mode"] }) }),
  generationConfig: fc.record(
    {
      temperature: num,
      topP: num,
      topK: num,
      maxOutputTokens: num,
      stopSequences: fc.array(text, { maxLength: 6 }),
      candidateCount: fc.constantFrom(1, 2, 0),
      seed: num,
      responseMimeType: fc.constantFrom("application/json", "text/plain", "text/x.enum"),
      responseSchema: geminiSchema,
      responseJsonSchema: jsonSchema,
      thinkingConfig: fc.record({ includeThoughts: fc.boolean(), thinkingBudget: fc.constantFrom(-1, 0, 1024, 8192, -7), thinkingLevel: fc.constantFrom("LOW", "HIGH", "x") }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  ),
  safetySettings: fc.array(fc.record({ category: fc.constant("HARM_CATEGORY_HARASSMENT"), threshold: fc.constantFrom("BLOCK_NONE", "x") }), { maxLength: 2 }),
};

export const geminiGenerate = fc.record(geminiRequestFields, { requiredKeys: ["contents"] });
export const geminiCountTokens = fc.oneof(geminiGenerate, fc.record({ generateContentRequest: geminiGenerate }));
const geminiEmbedRequest = fc.record(
  { content: fc.record({ parts: fc.array(fc.record({ text }), { maxLength: 3 }) }), taskType: fc.constantFrom("RETRIEVAL_QUERY", "x"), outputDimensionality: num, model: fc.constantFrom("models/up/text-embedding-3-small", "models/other") },
  { requiredKeys: ["content"] },
);
export const geminiEmbed = geminiEmbedRequest;
export const geminiBatchEmbed = fc.record({ requests: fc.array(geminiEmbedRequest, { maxLength: 4 }) });

// ---- OpenAI Responses ---------------------------------------------------------------------------

const responsesPart = fc.oneof(
  fc.record({ type: fc.constantFrom("input_text", "output_text", "text"), text }),
  fc.record({ type: fc.constant("input_image"), image_url: imageUrl, detail: fc.constantFrom("auto", "low", "high", "weird") }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constant("input_file"), file_data: fc.oneof(dataUri, fc.base64String({ maxLength: 40 })), filename: text, file_id: fc.string({ maxLength: 8 }) }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constantFrom("refusal", "input_audio", "unknown"), refusal: text, text }),
);
const responsesContent = fc.oneof({ weight: 3, arbitrary: text }, { weight: 2, arbitrary: fc.array(responsesPart, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant(null) });
const callId = fc.oneof(fc.constantFrom("call_1", "call_2"), fc.string({ maxLength: 12 }));
const responsesItem = fc.oneof(
  fc.record({ type: fc.constant("message"), role: fc.constantFrom("user", "assistant", "system", "developer", "tool", ""), content: responsesContent }, { requiredKeys: ["role", "content"] }),
  fc.record({ role: fc.constantFrom("user", "assistant", "developer"), content: responsesContent }),
  fc.record({ type: fc.constant("function_call"), call_id: callId, name: toolName, arguments: argumentsText, namespace: fc.constantFrom("multi_agent_v1", "") }, { requiredKeys: ["type", "call_id", "name", "arguments"] }),
  fc.record({ type: fc.constant("function_call_output"), call_id: callId, output: fc.oneof(text, fc.array(responsesPart, { maxLength: 2 })) }),
  fc.record({ type: fc.constant("custom_tool_call"), call_id: callId, name: fc.constant("apply_patch"), input: text }),
  fc.record({ type: fc.constant("custom_tool_call_output"), call_id: callId, output: text }),
  fc.record({ type: fc.constant("reasoning"), summary: fc.array(fc.record({ type: fc.constant("summary_text"), text }), { maxLength: 2 }), encrypted_content: fc.oneof(text, fc.constantFrom("lmrelay.r1.", "lmrelay.r1.eyJwIjoiYW50IiwiYiI6W3sidCI6Imh5In1dfQ", "gAAAA")) }),
  fc.record({ type: fc.constant("item_reference"), id: fc.oneof(fc.constantFrom("msg_1", "rs_x"), fc.string({ maxLength: 12 })) }),
  fc.record({ type: fc.constantFrom("web_search_call", "additional_tools", "no_such_item"), id: fc.string({ maxLength: 8 }), tools: fc.array(fc.record({ type: fc.constant("function"), name: toolName }), { maxLength: 2 }) }),
);
const responsesTool = fc.oneof(
  fc.record({ type: fc.constant("function"), name: toolName, description: text, parameters: jsonSchema, strict: fc.boolean() }, { requiredKeys: ["type", "name"] }),
  fc.record({ type: fc.constant("custom"), name: toolName, description: text, format: fc.oneof(fc.record({ type: fc.constant("text") }), fc.record({ type: fc.constant("grammar"), syntax: fc.constantFrom("lark", "regex"), definition: text })) }, { requiredKeys: ["type", "name"] }),
  fc.record({ type: fc.constant("namespace"), name: fc.constantFrom("multi_agent_v1", ""), description: text, tools: fc.array(fc.record({ type: fc.constant("function"), name: toolName }), { maxLength: 2 }) }),
  fc.record({ type: fc.constantFrom("web_search", "file_search", "code_interpreter", "mystery"), external_web_access: fc.boolean() }),
);

export const responsesCreate = fc.record(
  {
    model: modelName,
    input: fc.oneof({ weight: 1, arbitrary: text }, { weight: 4, arbitrary: fc.array(responsesItem, { minLength: 1, maxLength: 5 }) }),
    instructions: text,
    stream: fc.boolean(),
    store: fc.boolean(),
    previous_response_id: fc.oneof(fc.constantFrom("resp_nope"), fc.string({ maxLength: 12 })),
    tools: fc.array(responsesTool, { maxLength: 3 }),
    tool_choice: fc.oneof(fc.constantFrom("auto", "none", "required", "any"), fc.record({ type: fc.constantFrom("function", "custom", "web_search", "allowed_tools"), name: toolName, mode: fc.constantFrom("auto", "required"), tools: fc.array(fc.record({ type: fc.constant("function"), name: toolName }), { maxLength: 2 }) })),
    parallel_tool_calls: fc.boolean(),
    text: fc.record({ format: fc.oneof(fc.record({ type: fc.constantFrom("text", "json_object", "xml") }), fc.record({ type: fc.constant("json_schema"), name: fc.string({ maxLength: 10 }), schema: jsonSchema, strict: fc.boolean() })), verbosity: fc.constantFrom("low", "medium", "high") }),
    reasoning: fc.record({ effort: fc.constantFrom("none", "minimal", "low", "medium", "high", "xhigh", "max"), summary: fc.constantFrom("auto", "concise", "detailed", "loud") }),
    max_output_tokens: num,
    temperature: num,
    top_p: num,
    metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
    include: fc.array(fc.constantFrom("reasoning.encrypted_content", "message.output_text.logprobs", "x")),
    prompt_cache_key: text,
    truncation: fc.constantFrom("auto", "disabled"),
    service_tier: fc.constantFrom("auto", "default", "flex", "priority"),
    background: fc.boolean(),
    user: text,
  },
  { requiredKeys: ["model", "input"] },
);
