import { FAKE_ANTHROPIC_KEY, startAnthropicFake } from "../fakes/anthropic";
import type { RecordedRequest } from "../fakes/common";
import { startCohereFake } from "../fakes/cohere";
import { FAKE_GEMINI_KEY, startGeminiFake } from "../fakes/gemini";
import { startOllamaFake } from "../fakes/ollama";
import { startAzureFake, startOpenAIFake } from "../fakes/openai";
import type { ReplySpec, SentChat, SentImage, SentMessage, UpstreamFixture, WireName } from "./types";

// One fixture per upstream wire format: its fake started on 127.0.0.1, a provider entry pointing at
// it, a way to set the fake's next answer from a protocol-neutral ReplySpec, and an "inspector"
// that reads the last chat request the fake received — in that upstream's own wire format — into
// a protocol-neutral SentChat.

type Json = Record<string, any>;

function lastMatching(requests: RecordedRequest[], isChat: (r: RecordedRequest) => boolean): RecordedRequest {
  for (let i = requests.length - 1; i >= 0; i--) if (isChat(requests[i]!)) return requests[i]!;
  throw new Error("the fake received no chat request");
}

const msg = (role: SentMessage["role"], fields: Partial<SentMessage> = {}): SentMessage => ({ role, text: "", images: [], toolCalls: [], ...fields });

function dataUri(url: string): SentImage {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1], data: m[2] } : { url };
}

/** A user turn's parts as messages in wire order: each tool result its own message, the parts
 *  between results grouped into user messages. */
function splitTurn(parts: Json[], isResult: (p: Json) => boolean, out: SentMessage[], result: (p: Json) => SentMessage, user: (run: Json[]) => SentMessage): void {
  let run: Json[] = [];
  const flush = () => {
    if (run.length) out.push(user(run));
    run = [];
  };
  for (const p of parts) {
    if (!isResult(p)) run.push(p);
    else {
      flush();
      out.push(result(p));
    }
  }
  flush();
}

// ---- OpenAI Chat Completions (openai, azure) ----

function readOpenAIChat(body: Json): SentChat {
  const system: string[] = [];
  const messages: SentMessage[] = [];
  for (const m of body.messages as Json[]) {
    if (m.role === "system" || m.role === "developer") system.push(typeof m.content === "string" ? m.content : m.content.map((p: Json) => p.text).join(""));
    else if (m.role === "tool") messages.push(msg("tool", { callId: m.tool_call_id, text: m.content }));
    else if (m.role === "assistant")
      messages.push(
        msg("assistant", {
          text: m.content ?? "",
          toolCalls: (m.tool_calls ?? []).map((c: Json) => ({ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) })),
        }),
      );
    else if (typeof m.content === "string") messages.push(msg("user", { text: m.content }));
    else
      messages.push(
        msg("user", {
          text: m.content.filter((p: Json) => p.type === "text").map((p: Json) => p.text).join(""),
          images: m.content.filter((p: Json) => p.type === "image_url").map((p: Json) => dataUri(p.image_url.url)),
        }),
      );
  }
  const rf = body.response_format;
  return {
    model: body.model,
    stream: body.stream === true,
    system: system.join("\n\n"),
    messages,
    tools: (body.tools ?? []).map((t: Json) => ({ name: t.function.name, parameters: t.function.parameters })),
    stop: typeof body.stop === "string" ? [body.stop] : (body.stop ?? []),
    json: rf?.type === "json_schema" ? { schema: rf.json_schema.schema } : rf?.type === "json_object" ? {} : undefined,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    usageAsked: body.stream_options?.include_usage === true,
  };
}

function openaiReply(r: ReplySpec) {
  return { text: r.json ? JSON.stringify(r.json) : r.text, toolCalls: r.toolCalls, usage: r.usage };
}

async function openaiFixture(): Promise<UpstreamFixture> {
  const fake = await startOpenAIFake();
  const isChat = (r: RecordedRequest) => r.path === "/v1/chat/completions";
  return {
    wire: "openai",
    model: "gpt-4o-mini",
    fake,
    provider: { type: "openai", baseUrl: `${fake.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini", "text-embedding-3-small"] },
    reply: (r) => fake.reply(openaiReply(r)),
    lastChat: () => readOpenAIChat(lastMatching(fake.requests, isChat).body),
    chatCount: () => fake.requests.filter(isChat).length,
    stopFinish: "stop",
    reportsCacheReads: true,
    reportsCacheWrites: false,
    takesImageUrls: true,
  };
}

async function azureFixture(): Promise<UpstreamFixture> {
  const fake = await startAzureFake({ deployments: ["matrix-4o", "matrix-embed"] });
  const isChat = (r: RecordedRequest) => r.path === "/openai/deployments/matrix-4o/chat/completions";
  return {
    wire: "azure",
    model: "gpt-4o",
    fake,
    provider: {
      type: "azure",
      baseUrl: fake.url,
      keys: ["azure-test-key"],
      deployments: { "gpt-4o": "matrix-4o", "text-embedding-3-small": "matrix-embed" },
      apiVersion: "2024-10-21",
    },
    reply: (r) => fake.reply(openaiReply(r)),
    lastChat: () => {
      const req = lastMatching(fake.requests, isChat);
      if (!req.url.includes("api-version=2024-10-21")) throw new Error(`azure request without the api-version: ${req.url}`);
      return readOpenAIChat(req.body);
    },
    chatCount: () => fake.requests.filter(isChat).length,
    stopFinish: "stop",
    reportsCacheReads: true,
    reportsCacheWrites: false,
    takesImageUrls: true,
  };
}

// ---- Anthropic Messages ----

const blockText = (content: unknown): string =>
  typeof content === "string" ? content : ((content as Json[] | undefined) ?? []).filter((b) => b.type === "text").map((b) => b.text).join("");

function readAnthropicChat(body: Json): SentChat {
  const messages: SentMessage[] = [];
  for (const m of body.messages as Json[]) {
    const blocks: Json[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (m.role === "assistant") {
      messages.push(
        msg("assistant", {
          text: blockText(blocks),
          toolCalls: blocks.filter((b) => b.type === "tool_use").map((b) => ({ id: b.id, name: b.name, args: b.input })),
        }),
      );
      continue;
    }
    // In wire order: where results sit in the turn is part of what the matrix checks.
    splitTurn(blocks, (b) => b.type === "tool_result", messages, (b) => msg("tool", { callId: b.tool_use_id, text: blockText(b.content) }), (rest) =>
      msg("user", {
        text: blockText(rest),
        images: rest
          .filter((b) => b.type === "image")
          .map((b): SentImage => (b.source.type === "base64" ? { mediaType: b.source.media_type, data: b.source.data } : { url: b.source.url })),
      }),
    );
  }
  const tools: Json[] = body.tools ?? [];
  const jsonTool = body.tool_choice?.type === "tool" ? tools.find((t) => t.name === body.tool_choice.name && t.name === "json_tool_call") : undefined;
  const format = body.output_config?.format;
  return {
    model: body.model,
    stream: body.stream === true,
    system: blockText(body.system),
    messages,
    tools: tools.filter((t) => t !== jsonTool).map((t) => ({ name: t.name, parameters: t.input_schema })),
    stop: body.stop_sequences ?? [],
    json: jsonTool ? { schema: jsonTool.input_schema } : format ? { schema: format.schema } : undefined,
    maxTokens: body.max_tokens,
  };
}

async function anthropicFixture(): Promise<UpstreamFixture> {
  const fake = await startAnthropicFake();
  const isChat = (r: RecordedRequest) => r.path === "/v1/messages";
  return {
    wire: "anthropic",
    model: "claude-sonnet-4-5-20250929",
    fake,
    provider: { type: "anthropic", baseUrl: fake.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-sonnet-4-5-20250929"] },
    reply: (r) =>
      fake.reply({
        text: r.text,
        // JSON mode on Anthropic is a forced tool whose input is the answer.
        toolCalls: r.json ? [{ name: "json_tool_call", arguments: r.json }] : r.toolCalls,
        usage: r.usage,
        cacheWrite: r.usage?.cacheWrite,
        finishReason: r.stoppedBySequence ? "stop_sequence" : undefined,
      }),
    lastChat: () => readAnthropicChat(lastMatching(fake.requests, isChat).body),
    chatCount: () => fake.requests.filter(isChat).length,
    stopFinish: "stop_sequence",
    reportsCacheReads: true,
    reportsCacheWrites: true,
    takesImageUrls: true,
  };
}

// ---- Gemini generateContent ----

function readGeminiChat(req: RecordedRequest): SentChat {
  const body = req.body as Json;
  const messages: SentMessage[] = [];
  for (const c of body.contents as Json[]) {
    const parts: Json[] = c.parts;
    const text = parts.filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text).join("");
    if (c.role === "model") {
      messages.push(msg("assistant", { text, toolCalls: parts.filter((p) => p.functionCall).map((p) => ({ id: p.functionCall.id, name: p.functionCall.name, args: p.functionCall.args })) }));
      continue;
    }
    splitTurn(
      parts,
      (p) => !!p.functionResponse,
      messages,
      (p) => {
        const { id, name, response } = p.functionResponse;
        return msg("tool", { callId: id, name, text: typeof response?.output === "string" ? response.output : JSON.stringify(response) });
      },
      (run) => msg("user", { text: run.map((p) => p.text ?? "").join(""), images: run.filter((p) => p.inlineData).map((p) => ({ mediaType: p.inlineData.mimeType, data: p.inlineData.data })) }),
    );
  }
  const g: Json = body.generationConfig ?? {};
  return {
    model: /models\/([^:]+):/.exec(req.path)![1]!,
    stream: req.url.includes(":streamGenerateContent?alt=sse"),
    system: ((body.systemInstruction?.parts as Json[]) ?? []).map((p) => p.text).join("\n\n"),
    messages,
    tools: ((body.tools?.[0]?.functionDeclarations as Json[]) ?? []).map((d) => ({ name: d.name, parameters: d.parameters })),
    stop: g.stopSequences ?? [],
    json: g.responseMimeType === "application/json" ? { schema: g.responseSchema ?? g.responseJsonSchema } : undefined,
    maxTokens: g.maxOutputTokens,
  };
}

async function geminiFixture(): Promise<UpstreamFixture> {
  const fake = await startGeminiFake();
  const isChat = (r: RecordedRequest) => /:(stream)?[gG]enerateContent$/.test(r.path);
  return {
    wire: "gemini",
    model: "gemini-2.5-flash",
    fake,
    provider: { type: "gemini", baseUrl: fake.url, keys: [FAKE_GEMINI_KEY], models: ["gemini-2.5-flash", "gemini-embedding-001"] },
    reply: (r) => fake.reply({ text: r.json ? JSON.stringify(r.json) : r.text, toolCalls: r.toolCalls, usage: r.usage }),
    lastChat: () => readGeminiChat(lastMatching(fake.requests, isChat)),
    chatCount: () => fake.requests.filter(isChat).length,
    stopFinish: "stop",
    reportsCacheReads: true,
    reportsCacheWrites: false,
    takesImageUrls: false,
  };
}

// ---- Cohere v2 chat ----

function readCohereChat(body: Json): SentChat {
  const system: string[] = [];
  const messages: SentMessage[] = [];
  const parts = (content: unknown): Json[] => (typeof content === "string" ? [{ type: "text", text: content }] : ((content as Json[]) ?? []));
  for (const m of body.messages as Json[]) {
    if (m.role === "system") system.push(blockText(m.content));
    else if (m.role === "tool") messages.push(msg("tool", { callId: m.tool_call_id, text: blockText(m.content) }));
    else if (m.role === "assistant")
      messages.push(
        msg("assistant", {
          // Cohere carries an assistant's words before its tool calls as `tool_plan`.
          text: m.tool_plan ?? blockText(parts(m.content)),
          toolCalls: (m.tool_calls ?? []).map((c: Json) => ({ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) })),
        }),
      );
    else {
      const p = parts(m.content);
      messages.push(msg("user", { text: blockText(p), images: p.filter((x) => x.type === "image_url").map((x) => dataUri(x.image_url.url)) }));
    }
  }
  const rf = body.response_format;
  return {
    model: body.model,
    stream: body.stream === true,
    system: system.join("\n\n"),
    messages,
    tools: (body.tools ?? []).map((t: Json) => ({ name: t.function.name, parameters: t.function.parameters })),
    stop: body.stop_sequences ?? [],
    json: rf?.type === "json_object" ? { schema: rf.json_schema } : undefined,
    maxTokens: body.max_tokens,
  };
}

async function cohereFixture(): Promise<UpstreamFixture> {
  const fake = await startCohereFake();
  const isChat = (r: RecordedRequest) => r.path === "/v2/chat";
  return {
    wire: "cohere",
    model: "command-a-03-2025",
    fake,
    provider: { type: "cohere", baseUrl: fake.url, keys: ["cohere-test-key"], models: ["command-a-03-2025", "embed-v4.0"] },
    reply: (r) =>
      fake.reply({
        text: r.json ? JSON.stringify(r.json) : r.text,
        toolCalls: r.toolCalls,
        usage: r.usage,
        finishReason: r.stoppedBySequence ? "STOP_SEQUENCE" : undefined,
      }),
    lastChat: () => readCohereChat(lastMatching(fake.requests, isChat).body),
    chatCount: () => fake.requests.filter(isChat).length,
    stopFinish: "stop",
    reportsCacheReads: true,
    reportsCacheWrites: false,
    takesImageUrls: true,
  };
}

// ---- Ollama /api/chat ----

function readOllamaChat(body: Json): SentChat {
  const system: string[] = [];
  const messages: SentMessage[] = [];
  for (const m of body.messages as Json[]) {
    if (m.role === "system") system.push(m.content);
    else if (m.role === "tool") messages.push(msg("tool", { callId: m.tool_call_id, name: m.tool_name, text: m.content }));
    else if (m.role === "assistant")
      messages.push(msg("assistant", { text: m.content, toolCalls: (m.tool_calls ?? []).map((c: Json) => ({ id: c.id, name: c.function.name, args: c.function.arguments })) }));
    else messages.push(msg("user", { text: m.content, images: (m.images ?? []).map((data: string) => ({ data })) }));
  }
  return {
    model: body.model,
    stream: body.stream !== false,
    system: system.join("\n\n"),
    messages,
    tools: (body.tools ?? []).map((t: Json) => ({ name: t.function.name, parameters: t.function.parameters })),
    stop: body.options?.stop ?? [],
    json: body.format === "json" ? {} : body.format ? { schema: body.format } : undefined,
    maxTokens: body.options?.num_predict,
  };
}

async function ollamaFixture(): Promise<UpstreamFixture> {
  const fake = await startOllamaFake();
  const isChat = (r: RecordedRequest) => r.path === "/api/chat";
  return {
    wire: "ollama",
    model: "llama3.2",
    fake,
    provider: { type: "ollama", baseUrl: fake.url, models: ["llama3.2", "all-minilm"] },
    reply: (r) => fake.reply({ text: r.json ? JSON.stringify(r.json) : r.text, toolCalls: r.toolCalls, usage: r.usage && { input: r.usage.input, output: r.usage.output } }),
    lastChat: () => readOllamaChat(lastMatching(fake.requests, isChat).body),
    chatCount: () => fake.requests.filter(isChat).length,
    stopFinish: "stop",
    reportsCacheReads: false,
    reportsCacheWrites: false,
    takesImageUrls: false,
  };
}

const FIXTURES: Record<WireName, () => Promise<UpstreamFixture>> = {
  openai: openaiFixture,
  azure: azureFixture,
  anthropic: anthropicFixture,
  gemini: geminiFixture,
  cohere: cohereFixture,
  ollama: ollamaFixture,
};

export const WIRES: WireName[] = ["openai", "azure", "anthropic", "gemini", "cohere", "ollama"];

export function startFixture(wire: WireName): Promise<UpstreamFixture> {
  return FIXTURES[wire]();
}
