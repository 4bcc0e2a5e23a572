import { lmrelayError } from "../../core/errors";
import { ANTHROPIC_BETA_FIELD, type ChatRequest, type ContentPart, type DocumentPart, type ImagePart, type TextPart, type ToolCallPart, type ToolResultPart } from "../../core/types";
import { requestToolArgumentsError, toolArgumentsObject } from "../../core/toolargs";
import { type AnthropicRules, anthropicControls, anthropicRulesFor } from "./rules";

export { DEFAULT_MAX_TOKENS } from "./rules";

// Canonical request → Anthropic Messages body. Pure. Repairs what Anthropic rejects but other
// protocols allow (translation.md §10): empty text, tool results out of place or unpaired, tool
// history without tools, ids outside ^[a-zA-Z0-9_-]+$, temperatures above 1, blank stop sequences.

type Json = Record<string, unknown>;
type Block = Json & { type: string };
interface Turn {
  role: "user" | "assistant";
  content: Block[];
}

/** Name of the forced tool that carries a JSON-mode answer; the decoder turns it back into text. */
export const JSON_TOOL_NAME = "json_tool_call";
const EMPTY_SCHEMA = { type: "object", properties: {} };
const EMAIL_LIKE = /[^\s@]+@[^\s@]+\.[^\s@]+/;

export interface AnthropicRequest {
  body: Json;
  /** `anthropic-beta` header value to forward, when the client itself spoke Anthropic. */
  beta?: string;
  /** The answer's `json_tool_call` tool use is the JSON-mode answer. */
  jsonMode: boolean;
  /** Changes made so the model takes the request (rules.ts). */
  adjusted: string[];
}

export function encodeAnthropicRequest(req: ChatRequest, model: string, rules?: AnthropicRules): AnthropicRequest {
  const ids = new ToolIdMap();
  const turns = pairToolResults(toTurns(req, ids));
  if (turns.length === 0)
    throw lmrelayError("invalid_request", "the request has no message with content; Anthropic needs at least one user message");

  const body: Json = { model };
  const system = req.system.filter((p) => p.text !== "").map(textBlock);
  if (system.length) body.system = system;
  body.messages = turns;

  const format = req.responseFormat;
  const jsonMode = format?.type === "json";
  const { tools, forHistoryOnly } = encodeTools(req, turns);
  if (format?.type === "json")
    tools.push({ name: JSON_TOOL_NAME, description: "Respond with the answer as a JSON object.", input_schema: format.schema ?? { type: "object" } });
  if (tools.length) body.tools = tools;

  const unsigned = continuesUnsignedToolTurn(turns);
  const { controls, adjusted } = anthropicControls(req, rules ?? anthropicRulesFor({ type: "anthropic" }, model), unsigned);
  body.max_tokens = controls.max_tokens;
  if (controls.thinking) body.thinking = controls.thinking;
  if (controls.effort) body.output_config = { effort: controls.effort };

  const choice = tools.length ? encodeToolChoice(req, jsonMode, controls.thinkingOn, forHistoryOnly) : undefined;
  if (choice) body.tool_choice = choice;
  if (controls.temperature !== undefined) body.temperature = controls.temperature;
  if (controls.top_p !== undefined) body.top_p = controls.top_p;
  if (controls.top_k !== undefined) body.top_k = controls.top_k;
  const stops = req.stop?.filter((s) => s.trim() !== "");
  if (stops?.length) body.stop_sequences = stops;
  if (req.user && !EMAIL_LIKE.test(req.user)) body.metadata = { user_id: req.user };
  if (req.stream) body.stream = true;

  let beta: string | undefined;
  if (req.passthrough?.protocol === "anthropic") {
    for (const [k, v] of Object.entries(req.passthrough.fields)) {
      if (k === ANTHROPIC_BETA_FIELD) beta = typeof v === "string" ? v : undefined;
      else body[k] = v;
    }
  }
  return { body, beta, jsonMode, adjusted };
}

/** Rewrites tool ids to Anthropic's alphabet, the same way for a call and its result. */
class ToolIdMap {
  private byOriginal = new Map<string, string>();
  private used = new Set<string>();

  get(id: string): string {
    const known = this.byOriginal.get(id);
    if (known !== undefined) return known;
    const base = id.replace(/[^a-zA-Z0-9_-]/g, "_") || "toolu";
    let out = base;
    for (let n = 2; this.used.has(out); n++) out = `${base}_${n}`;
    this.byOriginal.set(id, out);
    this.used.add(out);
    return out;
  }
}

function withCache(block: Block, cacheControl: unknown): Block {
  if (cacheControl !== undefined) block.cache_control = cacheControl;
  return block;
}

function textBlock(p: TextPart): Block {
  return withCache({ type: "text", text: p.text }, p.cacheControl);
}

function imageBlock(p: ImagePart): Block {
  const s = p.source;
  let source: Json;
  if (s.kind === "base64") source = { type: "base64", media_type: s.mediaType, data: s.data };
  else {
    const dataUri = /^data:([^;,]+);base64,(.*)$/s.exec(s.url);
    source = dataUri ? { type: "base64", media_type: dataUri[1], data: dataUri[2] } : { type: "url", url: s.url };
  }
  return withCache({ type: "image", source }, p.cacheControl);
}

function documentBlock(p: DocumentPart): Block {
  // Anthropic takes base64 only for PDFs; plain text documents go as text sources.
  const source =
    p.mediaType === "text/plain"
      ? { type: "text", media_type: "text/plain", data: Buffer.from(p.data, "base64").toString("utf8") }
      : { type: "base64", media_type: p.mediaType, data: p.data };
  return withCache({ type: "document", source }, p.cacheControl);
}

/** A tool call of the conversation as Anthropic's `input` object; other text is refused, never `{}`. */
function parseToolInput(p: ToolCallPart): Json {
  const input = toolArgumentsObject(p.arguments);
  if (!input) throw requestToolArgumentsError(p.name, p.arguments, "Anthropic's tool_use input");
  return input;
}

function resultBlock(p: ToolResultPart, id: string): Block {
  const block: Block = { type: "tool_result", tool_use_id: id };
  const content = p.content.filter((c) => c.type !== "text" || c.text !== "").map((c) => (c.type === "text" ? textBlock(c) : imageBlock(c)));
  if (content.length) block.content = content;
  if (p.isError) block.is_error = true;
  return withCache(block, p.cacheControl);
}

function partToBlock(p: ContentPart, role: Turn["role"], ids: ToolIdMap): Block | undefined {
  switch (p.type) {
    case "text":
      return p.text === "" ? undefined : textBlock(p);
    case "image":
      return role === "user" ? imageBlock(p) : undefined;
    case "document":
      return role === "user" ? documentBlock(p) : undefined;
    case "thinking":
      // Anthropic verifies signatures; thinking from other providers cannot be sent back.
      if (role !== "assistant") return undefined;
      if (p.redacted) return { type: "redacted_thinking", data: p.redacted };
      return p.signature ? { type: "thinking", thinking: p.text, signature: p.signature } : undefined;
    case "tool_call":
      return role === "assistant" ? { type: "tool_use", id: ids.get(p.id), name: p.name, input: parseToolInput(p) } : undefined;
    case "tool_result":
      return resultBlock(p, ids.get(p.toolCallId));
  }
}

/** Messages → turns: empty parts and turns dropped, consecutive same-role turns merged. */
function toTurns(req: ChatRequest, ids: ToolIdMap): Turn[] {
  const turns: Turn[] = [];
  for (const m of req.messages) {
    const blocks: Block[] = [];
    for (const p of m.content) {
      const b = partToBlock(p, m.role, ids);
      if (b) blocks.push(b);
    }
    if (blocks.length === 0) continue;
    const last = turns.at(-1);
    if (last?.role === m.role) last.content.push(...blocks);
    else turns.push({ role: m.role, content: blocks });
  }
  return turns;
}

/** A result Anthropic would refuse as unpaired, kept as text (and its images) for the model. */
function resultAsText(b: Block): Block[] {
  const content = (b.content as Block[] | undefined) ?? [];
  const texts = content.filter((c) => c.type === "text").map((c) => c.text as string);
  const text = `Result of tool call ${b.tool_use_id as string}${b.is_error ? " (error)" : ""}:\n${texts.join("\n")}`;
  return [withCache({ type: "text", text }, b.cache_control), ...content.filter((c) => c.type === "image")];
}

function stubResult(id: string): Block {
  return { type: "tool_result", tool_use_id: id, content: [{ type: "text", text: "No result was provided for this tool call." }], is_error: true };
}

/**
 * Anthropic wants every tool_use answered by a tool_result at the start of the very next user
 * turn. Results sit first; a missing result gets an error stub; a result with no tool_use right
 * before it becomes text.
 */
function pairToolResults(turns: Turn[]): Turn[] {
  const out: Turn[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i]!;
    if (turn.role === "assistant") {
      out.push(turn);
      const callIds = turn.content.filter((b) => b.type === "tool_use").map((b) => b.id as string);
      if (callIds.length === 0) continue;
      const next = turns[i + 1];
      const user: Turn = next?.role === "user" ? next : { role: "user", content: [] };
      if (next?.role === "user") i++;
      out.push({ role: "user", content: orderResults(user.content, callIds) });
      continue;
    }
    out.push({ role: "user", content: orderResults(turn.content, []) });
  }
  return out;
}

function orderResults(content: Block[], callIds: string[]): Block[] {
  const byId = new Map<string, Block>();
  const rest: Block[] = [];
  for (const b of content) {
    if (b.type === "tool_result" && callIds.includes(b.tool_use_id as string) && !byId.has(b.tool_use_id as string)) byId.set(b.tool_use_id as string, b);
    else if (b.type === "tool_result") rest.push(...resultAsText(b));
    else rest.push(b);
  }
  const results = callIds.map((id) => byId.get(id) ?? stubResult(id));
  return results.length ? [...results, ...rest] : rest;
}

function encodeTools(req: ChatRequest, turns: Turn[]): { tools: Json[]; forHistoryOnly: boolean } {
  const tools: Json[] = (req.tools ?? []).map((t) => {
    const params = t.parameters && Object.keys(t.parameters).length ? t.parameters : EMPTY_SCHEMA;
    const tool: Json = { name: t.name };
    if (t.description) tool.description = t.description;
    tool.input_schema = params.type === undefined ? { type: "object", ...params } : params;
    if (t.cacheControl !== undefined) tool.cache_control = t.cacheControl;
    return tool;
  });
  if (tools.length) return { tools, forHistoryOnly: false };
  // History with tool calls but no tool list: Anthropic refuses it, so declare the tools it used.
  const names = new Set<string>();
  for (const t of turns) for (const b of t.content) if (b.type === "tool_use") names.add(b.name as string);
  for (const name of names) tools.push({ name, input_schema: EMPTY_SCHEMA });
  return { tools, forHistoryOnly: tools.length > 0 };
}

function continuesUnsignedToolTurn(turns: Turn[]): boolean {
  const last = turns.at(-1);
  const prev = turns.at(-2);
  if (last?.role !== "user" || last.content[0]?.type !== "tool_result" || prev?.role !== "assistant") return false;
  const first = prev.content[0]?.type;
  return first !== "thinking" && first !== "redacted_thinking";
}

function encodeToolChoice(req: ChatRequest, jsonMode: boolean, thinkingOn: boolean, historyToolsOnly: boolean): Json | undefined {
  let choice: Json | undefined;
  if (jsonMode) choice = { type: "tool", name: JSON_TOOL_NAME };
  else if (historyToolsOnly) choice = { type: "none" }; // tools declared only so the history is accepted
  else if (req.toolChoice) {
    const c = req.toolChoice;
    choice = c.type === "required" ? { type: "any" } : c.type === "tool" ? { type: "tool", name: c.name } : { type: c.type };
  }
  // Extended thinking cannot be combined with a forced tool.
  if (thinkingOn && (choice?.type === "any" || choice?.type === "tool")) choice = { type: "auto" };
  if (req.parallelToolCalls === false && choice?.type !== "none") choice = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true };
  return choice;
}
