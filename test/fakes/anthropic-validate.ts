// The request checks the real Anthropic Messages API makes and gateways trip over
// (translation.md §10). Returns the API's 400 message, or undefined when the body is acceptable.

type Json = Record<string, any>;

const TOOL_ID = /^[a-zA-Z0-9_-]+$/;
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const EMAIL_LIKE = /[^\s@]+@[^\s@]+\.[^\s@]+/;

function blocksOf(content: unknown): Json[] | undefined {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? content : undefined;
}

function checkBlock(b: Json, at: string, role: string): string | undefined {
  switch (b?.type) {
    case "text":
      if (typeof b.text !== "string") return `${at}.text: Field required`;
      if (b.text === "") return "messages: text content blocks must be non-empty";
      return undefined;
    case "image":
      if (role !== "user") return `${at}: image blocks are only allowed in user messages`;
      if (b.source?.type === "base64" && !IMAGE_TYPES.has(b.source.media_type)) return `${at}.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
      if (b.source?.type !== "base64" && b.source?.type !== "url") return `${at}.source: Input tag does not match any of the expected tags`;
      return undefined;
    case "document":
      if (!["base64", "text", "url", "content"].includes(b.source?.type)) return `${at}.source: Input tag does not match any of the expected tags`;
      return undefined;
    case "tool_use":
      if (role !== "assistant") return `${at}: tool_use blocks are only allowed in assistant messages`;
      if (typeof b.id !== "string" || !TOOL_ID.test(b.id)) return `${at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
      if (!b.input || typeof b.input !== "object" || Array.isArray(b.input)) return `${at}.input: Input should be a valid dictionary`;
      return undefined;
    case "tool_result":
      if (role !== "user") return `${at}: tool_result blocks are only allowed in user messages`;
      if (typeof b.tool_use_id !== "string" || !TOOL_ID.test(b.tool_use_id)) return `${at}.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
      if (Array.isArray(b.content))
        for (const [i, c] of b.content.entries()) {
          const problem = checkBlock(c, `${at}.content.${i}`, "user");
          if (problem) return problem;
        }
      return undefined;
    case "thinking":
      if (role !== "assistant") return `${at}: thinking blocks are only allowed in assistant messages`;
      if (typeof b.signature !== "string" || b.signature === "") return `${at}.signature: Field required`;
      return undefined;
    case "redacted_thinking":
      return typeof b.data === "string" ? undefined : `${at}.data: Field required`;
    default:
      return `${at}: Input tag '${b?.type}' found using 'type' does not match any of the expected tags`;
  }
}

function checkMessages(messages: Json[]): { problem?: string; usesTools: boolean } {
  let usesTools = false;
  for (const [i, m] of messages.entries()) {
    const at = `messages.${i}`;
    const fail = (problem: string) => ({ problem, usesTools });
    if (m?.role !== "user" && m?.role !== "assistant") return fail(`${at}.role: Input should be 'user' or 'assistant'`);
    const blocks = blocksOf(m.content);
    if (!blocks) return fail(`${at}.content: Input should be a valid list`);
    const isFinalAssistant = i === messages.length - 1 && m.role === "assistant";
    if (blocks.length === 0 && !isFinalAssistant)
      return fail(`${at}: all messages must have non-empty content except for the optional final assistant message`);
    for (const [j, b] of blocks.entries()) {
      const problem = checkBlock(b, `${at}.content.${j}`, m.role);
      if (problem) return fail(problem);
      if (b.type === "tool_use" || b.type === "tool_result") usesTools = true;
    }
    // Every tool_use must be answered at the start of the next message, and only then.
    const prev = i > 0 ? (blocksOf(messages[i - 1]?.content) ?? []) : [];
    const expected = m.role === "user" ? prev.filter((b) => b.type === "tool_use").map((b) => b.id as string) : [];
    const results = blocks.filter((b) => b.type === "tool_result");
    for (const r of results)
      if (!expected.includes(r.tool_use_id))
        return fail(`${at}.content.0: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${r.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
    const leading = blocks.slice(0, expected.length).filter((b) => b.type === "tool_result").length;
    if (expected.length && leading < results.length)
      return fail(`${at}: Did not find ${results.length} \`tool_result\` block(s) at the beginning of this message. Messages following \`tool_use\` blocks must begin with a matching number of \`tool_result\` blocks.`);
    const answered = new Set(results.map((r) => r.tool_use_id));
    const missing = expected.filter((id) => !answered.has(id));
    if (missing.length)
      return fail(`messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
  }
  const last = messages.at(-1);
  const lastBlocks = blocksOf(last?.content) ?? [];
  if (last?.role === "assistant" && lastBlocks.some((b) => b.type === "tool_use"))
    return { problem: `messages.${messages.length - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`, usesTools };
  return { usesTools };
}

export function validateMessagesRequest(body: unknown): string | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return "Input should be a valid dictionary";
  const b = body as Json;
  if (typeof b.model !== "string" || b.model === "") return "model: Field required";
  if (b.max_tokens === undefined) return "max_tokens: Field required";
  if (!Number.isInteger(b.max_tokens) || b.max_tokens < 0) return "max_tokens: Input should be greater than or equal to 0";
  if (!Array.isArray(b.messages)) return "messages: Field required";
  if (b.messages.length === 0) return "messages: at least one message is required";
  if (b.system !== undefined) {
    const system = blocksOf(b.system);
    if (!system) return "system: Input should be a valid string or list";
    if (typeof b.system !== "string" && system.some((s) => s.type !== "text" || s.text === "")) return "system: text content blocks must be non-empty";
  }
  if (b.temperature !== undefined && (typeof b.temperature !== "number" || b.temperature < 0 || b.temperature > 1))
    return "temperature: Input should be less than or equal to 1";
  if (b.stop_sequences !== undefined) {
    if (!Array.isArray(b.stop_sequences)) return "stop_sequences: Input should be a valid list";
    if (b.stop_sequences.some((s: unknown) => typeof s !== "string" || s.trim() === "")) return "stop_sequences: each stop sequence must contain non-whitespace";
  }
  if (b.metadata?.user_id !== undefined && EMAIL_LIKE.test(String(b.metadata.user_id)))
    return "metadata.user_id: user_id appears to contain an email address, phone number or other personally identifiable information";
  const tools = b.tools ?? [];
  if (!Array.isArray(tools)) return "tools: Input should be a valid list";
  for (const [i, t] of tools.entries()) {
    if (typeof t?.name !== "string" || !/^[a-zA-Z0-9_-]{1,128}$/.test(t.name)) return `tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
    if (t.type === undefined && t.input_schema?.type !== "object") return `tools.${i}.custom.input_schema.type: Input should be 'object'`;
  }
  if (b.tool_choice !== undefined) {
    if (tools.length === 0) return "tool_choice may only be specified while providing tools.";
    if (!["auto", "any", "tool", "none"].includes(b.tool_choice?.type)) return "tool_choice: Input tag does not match any of the expected tags";
    if (b.tool_choice.type === "tool" && !tools.some((t: Json) => t.name === b.tool_choice.name)) return `tool_choice: tool '${b.tool_choice.name}' not found in tools`;
  }
  const thinking = b.thinking;
  if (thinking?.type === "enabled" || thinking?.type === "adaptive") {
    if (thinking.type === "enabled" && (!Number.isInteger(thinking.budget_tokens) || thinking.budget_tokens < 1024))
      return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
    if (thinking.type === "enabled" && thinking.budget_tokens >= b.max_tokens) return "`max_tokens` must be greater than `thinking.budget_tokens`.";
    // Adaptive thinking is thinking too: the same sampling limits (Anthropic "Adaptive thinking").
    if (b.temperature !== undefined && b.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled.";
    if (b.top_k !== undefined) return "`top_k` must be unset when thinking is enabled.";
    if (b.top_p !== undefined && b.top_p < 0.95) return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.";
    if (b.tool_choice?.type === "any" || b.tool_choice?.type === "tool") return "Thinking may not be enabled when tool_choice forces tool use.";
  } else if (thinking !== undefined && thinking?.type !== "disabled") return "thinking: Input tag does not match any of the expected tags";
  const { problem, usesTools } = checkMessages(b.messages);
  if (problem) return problem;
  if (thinking?.type === "enabled") {
    const n = b.messages.length;
    const last = blocksOf(b.messages[n - 1]?.content) ?? [];
    const prev = n >= 2 && b.messages[n - 2]?.role === "assistant" ? (blocksOf(b.messages[n - 2].content) ?? []) : [];
    if (last[0]?.type === "tool_result" && prev.length && prev[0]?.type !== "thinking" && prev[0]?.type !== "redacted_thinking")
      return `messages.${n - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${prev[0]?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`;
  }
  if (usesTools && tools.length === 0) return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
  return refuseForModel(b);
}

// Per-model checks, for the model names the tests use. Sources: Anthropic "Models overview" (max
// output: Haiku 3 4,096; Haiku 3.5 8,192; Haiku 4.5 / Sonnet 4.5 / Sonnet 4.6 64,000; Opus 4.7
// 128,000; the API's "max_tokens: N > M, which is the maximum allowed number of output tokens
// for …"); "Extended thinking" (models that think; budget ≥ 1024 and < max_tokens, checked above);
// "Adaptive thinking" (Opus 4.6 / Sonnet 4.6 onwards; Opus 4.7 takes only `adaptive`); "Effort"
// (`output_config.effort` low/medium/high, `max` on Opus 4.6+ / Sonnet 4.6, `xhigh` on Opus 4.7);
// "Migrating to Claude 4.5" (temperature and top_p not both); Opus 4.7 release notes (sampling
// parameters removed: temperature, top_p, top_k refused).
interface ClaudeRules {
  maxOutput: number;
  thinking: "none" | "budget" | "both" | "adaptive";
  efforts?: readonly string[];
  /** temperature and top_p may not both be set. */
  oneSampling: boolean;
  /** temperature, top_p, top_k refused. */
  noSampling?: boolean;
}

const CLAUDE: readonly [RegExp, ClaudeRules][] = [
  [/^claude-3-haiku/, { maxOutput: 4096, thinking: "none", oneSampling: false }],
  [/^claude-3-5-haiku/, { maxOutput: 8192, thinking: "none", oneSampling: false }],
  [/^claude-(haiku|sonnet)-4-5/, { maxOutput: 64_000, thinking: "budget", oneSampling: true }],
  [/^claude-sonnet-4-6/, { maxOutput: 64_000, thinking: "both", efforts: ["low", "medium", "high", "max"], oneSampling: true }],
  [/^claude-opus-4-7/, { maxOutput: 128_000, thinking: "adaptive", efforts: ["low", "medium", "high", "xhigh", "max"], oneSampling: true, noSampling: true }],
];

function refuseForModel(b: Json): string | undefined {
  const model = String(b.model);
  const rules = CLAUDE.find(([re]) => re.test(model))?.[1];
  if (!rules) return undefined;
  if (b.max_tokens > rules.maxOutput) return `max_tokens: ${b.max_tokens} > ${rules.maxOutput}, which is the maximum allowed number of output tokens for ${model}`;
  const type = b.thinking?.type;
  if (rules.thinking === "none" && (type === "enabled" || type === "adaptive")) return `thinking: ${model} does not support thinking`;
  if (rules.thinking === "budget" && type === "adaptive") return `thinking.type: adaptive thinking is not supported on ${model}`;
  if (rules.thinking === "adaptive" && type === "enabled")
    return `thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior.`;
  const effort = b.output_config?.effort;
  if (effort !== undefined) {
    if (!rules.efforts) return `output_config.effort: effort is not supported on ${model}`;
    if (!rules.efforts.includes(effort)) return `output_config.effort: Input should be ${rules.efforts.map((e) => `'${e}'`).join(", ")}`;
  }
  if (rules.noSampling) {
    for (const field of ["temperature", "top_p", "top_k"]) if (b[field] !== undefined) return `${field}: sampling parameters are not supported on ${model}`;
  }
  if (rules.oneSampling && b.temperature !== undefined && b.top_p !== undefined)
    return "`temperature` and `top_p` cannot both be specified for this model. Please use only one.";
  return undefined;
}

/** The fields `POST /v1/messages/count_tokens` takes (MessageCountTokensParams in the official
 *  `@anthropic-ai/sdk`, docs.anthropic.com/en/api/messages-count-tokens); anything else —
 *  `max_tokens`, `stream`, sampling, `metadata` — is refused as the API refuses extra inputs. */
const COUNT_TOKENS_FIELDS = new Set(["model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "cache_control", "speed"]);

export function validateCountTokensRequest(body: unknown): string | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return "Input should be a valid dictionary";
  for (const k of Object.keys(body)) if (!COUNT_TOKENS_FIELDS.has(k)) return `${k}: Extra inputs are not permitted`;
  // Otherwise the same rules as a Messages body. It has no max_tokens: the smallest one the other
  // rules accept stands in (a thinking budget must stay under it; the model's output limit above it).
  const budget = (body as Json).thinking?.budget_tokens;
  return validateMessagesRequest({ ...body, max_tokens: Number.isInteger(budget) ? budget + 1 : 1 });
}
