import { describe, expect, test } from "bun:test";
import type { ChatRequest } from "../../src/core/types";
import { encodeChatRequest } from "../../src/upstream/openai/encode";
import { NineCharToolIds } from "../../src/upstream/openai/toolIds";
import { presetFor } from "../../src/upstream/presets";
import { chatRequest } from "./openai-helpers";

const quirks = (type: Parameters<typeof presetFor>[0]) => presetFor(type)!.openai!;

/** A request touching every canonical field. */
const full: ChatRequest = {
  model: "alias",
  system: [{ type: "text", text: "Be terse." }, { type: "text", text: "" }, { type: "text", text: "Answer in French.", cacheControl: { type: "ephemeral" } }],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" }, detail: "low" },
        { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
        { type: "document", mediaType: "application/pdf", data: "JVBER" },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "thinking", text: "hmm", signature: "sig" },
        { type: "text", text: "Let me check." },
        { type: "tool_call", id: "toolu_01A", name: "lookup", arguments: '{"q":"cat"}' },
        { type: "tool_call", id: "call_xyz", name: "now", arguments: "" },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", toolCallId: "toolu_01A", content: [{ type: "text", text: "a cat" }, { type: "image", source: { kind: "url", url: "https://x/y.png" } }] },
        { type: "tool_result", toolCallId: "call_xyz", content: [], isError: true },
        { type: "text", text: "" },
        { type: "text", text: "Thanks." },
        { type: "text", text: "And now?" },
      ],
    },
    { role: "assistant", content: [{ type: "thinking", text: "only thoughts" }, { type: "text", text: "" }] },
    { role: "user", content: [{ type: "text", text: "Go on." }] },
  ],
  tools: [
    { name: "lookup", description: "Looks up", parameters: { type: "object", properties: { q: { type: "string" } } } },
    { name: "now", parameters: { type: "object", properties: {} } },
  ],
  toolChoice: { type: "required" },
  parallelToolCalls: false,
  responseFormat: { type: "json", schema: { type: "object" }, name: "answer", strict: true },
  maxTokens: 256,
  temperature: 0.2,
  topP: 0.9,
  topK: 40,
  stop: ["END"],
  seed: 7,
  presencePenalty: 0.1,
  frequencyPenalty: 0.3,
  reasoning: { enabled: true, effort: "low" },
  user: "u-1",
  stream: true,
  includeUsage: false,
};

const expectedMessages = (ids: { a: string; b: string }) => [
  { role: "system", content: "Be terse.\n\nAnswer in French." },
  {
    role: "user",
    content: [
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR", detail: "low" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
      { type: "file", file: { file_data: "data:application/pdf;base64,JVBER", filename: "document.pdf" } },
    ],
  },
  {
    role: "assistant",
    content: "Let me check.",
    tool_calls: [
      { id: ids.a, type: "function", function: { name: "lookup", arguments: '{"q":"cat"}' } },
      { id: ids.b, type: "function", function: { name: "now", arguments: "{}" } },
    ],
  },
  { role: "tool", tool_call_id: ids.a, content: "a cat" },
  { role: "tool", tool_call_id: ids.b, content: "Error" },
  {
    role: "user",
    content: [
      { type: "image_url", image_url: { url: "https://x/y.png" } },
      { type: "text", text: "Thanks." },
      { type: "text", text: "And now?" },
    ],
  },
  { role: "user", content: "Go on." },
];

const expectedTools = [
  { type: "function", function: { name: "lookup", description: "Looks up", parameters: { type: "object", properties: { q: { type: "string" } } } } },
  { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } },
];
const jsonSchema = { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, strict: true } };

describe("encodeChatRequest: every canonical field, per preset", () => {
  test("openai", () => {
    const { body, toolIds } = encodeChatRequest(full, "gpt-4o", quirks("openai"));
    expect(toolIds).toBeUndefined();
    expect(body).toEqual({
      model: "gpt-4o",
      messages: expectedMessages({ a: "toolu_01A", b: "call_xyz" }),
      tools: expectedTools,
      tool_choice: "required",
      parallel_tool_calls: false,
      response_format: jsonSchema,
      max_completion_tokens: 256,
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END"],
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.3,
      reasoning_effort: "low",
      user: "u-1",
      stream: true,
      stream_options: { include_usage: true },
    });
    // Exactly these keys, in a stable order (no undefined holes that JSON would drop silently).
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });

  test("openai-compatible: max_tokens, top_k", () => {
    const { body } = encodeChatRequest(full, "qwen", quirks("openai-compatible"));
    expect(body.max_tokens).toBe(256);
    expect(body.max_completion_tokens).toBeUndefined();
    expect(body.top_k).toBe(40);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  test("mistral: 9-char tool ids, random_seed, tool_choice any, no stream_options, no user", () => {
    const { body, toolIds } = encodeChatRequest(full, "mistral-large-latest", quirks("mistral"));
    const a = new NineCharToolIds().toUpstream("toolu_01A");
    const b = new NineCharToolIds().toUpstream("call_xyz");
    expect(a).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(b).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(a).not.toBe(b);
    expect(body).toEqual({
      model: "mistral-large-latest",
      messages: expectedMessages({ a, b }),
      tools: expectedTools,
      tool_choice: "any",
      parallel_tool_calls: false,
      response_format: jsonSchema,
      max_tokens: 256,
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END"],
      random_seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.3,
      reasoning_effort: "low",
      stream: true,
    });
    expect(toolIds!.toClient(a)).toBe("toolu_01A");
    expect(toolIds!.toClient("unknown12")).toBe("unknown12");
  });

  test("mistral keeps ids that already fit and maps the same id the same way", () => {
    const req = chatRequest({
      messages: [
        { role: "assistant", content: [{ type: "tool_call", id: "aB3dE6gH9", name: "f", arguments: "{}" }, { type: "tool_call", id: "call_1", name: "f", arguments: "{}" }] },
        { role: "user", content: [{ type: "tool_result", toolCallId: "aB3dE6gH9", content: [{ type: "text", text: "1" }] }, { type: "tool_result", toolCallId: "call_1", content: [{ type: "text", text: "2" }] }] },
      ],
    });
    const { body } = encodeChatRequest(req, "m", quirks("mistral"));
    const msgs = body.messages as any[];
    expect(msgs[0].tool_calls[0].id).toBe("aB3dE6gH9");
    expect(msgs[1].tool_call_id).toBe("aB3dE6gH9");
    expect(msgs[2].tool_call_id).toBe(msgs[0].tool_calls[1].id);
    expect(encodeChatRequest(req, "m", quirks("mistral")).body).toEqual(body);
  });

  test("cerebras drops penalties and parallel_tool_calls, keeps max_completion_tokens", () => {
    const { body } = encodeChatRequest(full, "llama", quirks("cerebras"));
    expect(body.max_completion_tokens).toBe(256);
    for (const f of ["frequency_penalty", "presence_penalty", "parallel_tool_calls", "top_k"]) expect(body).not.toHaveProperty(f);
  });

  test("groq drops fields it rejects, even when passed through", () => {
    const req = { ...full, passthrough: { protocol: "openai" as const, fields: { n: 2, logprobs: true, service_tier: "auto" } } };
    const { body } = encodeChatRequest(req, "llama", quirks("groq"));
    expect(body).not.toHaveProperty("n");
    expect(body).not.toHaveProperty("logprobs");
    expect(body.service_tier).toBe("auto");
    expect(body.max_tokens).toBe(256);
  });
});

describe("encodeChatRequest: details", () => {
  test("minimal non-stream request has no optional fields", () => {
    expect(encodeChatRequest(chatRequest(), "gpt-4o-mini").body).toEqual({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
  });

  test("tool_choice forms; tool_choice and parallel_tool_calls need tools", () => {
    const tools = [{ name: "f", parameters: { type: "object" } }];
    const enc = (r: Partial<ChatRequest>) => encodeChatRequest(chatRequest(r), "m").body;
    expect(enc({ tools, toolChoice: { type: "auto" } }).tool_choice).toBe("auto");
    expect(enc({ tools, toolChoice: { type: "none" } }).tool_choice).toBe("none");
    expect(enc({ tools, toolChoice: { type: "tool", name: "f" } }).tool_choice).toEqual({ type: "function", function: { name: "f" } });
    const bare = enc({ toolChoice: { type: "required" }, parallelToolCalls: true, tools: [] });
    expect(bare).not.toHaveProperty("tool_choice");
    expect(bare).not.toHaveProperty("parallel_tool_calls");
    expect(bare).not.toHaveProperty("tools");
  });

  test("response formats", () => {
    const enc = (responseFormat: ChatRequest["responseFormat"]) => encodeChatRequest(chatRequest({ responseFormat }), "m").body.response_format;
    expect(enc({ type: "text" })).toEqual({ type: "text" });
    expect(enc({ type: "json" })).toEqual({ type: "json_object" });
    expect(enc({ type: "json", schema: { type: "object" } })).toEqual({ type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } });
  });

  test("reasoning: only an expressed effort is sent", () => {
    const enc = (reasoning: ChatRequest["reasoning"]) => encodeChatRequest(chatRequest({ reasoning }), "m").body;
    expect(enc({ enabled: true, effort: "high" }).reasoning_effort).toBe("high");
    expect(enc({ enabled: true, budgetTokens: 2048 })).not.toHaveProperty("reasoning_effort");
    expect(enc({ enabled: false, effort: "low" })).not.toHaveProperty("reasoning_effort");
  });

  test("passthrough: openai fields merged without overriding canonical ones; other protocols ignored", () => {
    const req = chatRequest({ temperature: 1, passthrough: { protocol: "openai", fields: { temperature: 0, logit_bias: { "1": 2 }, metadata: { a: "b" } } } });
    const body = encodeChatRequest(req, "m").body;
    expect(body.temperature).toBe(1);
    expect(body.logit_bias).toEqual({ "1": 2 });
    expect(body.metadata).toEqual({ a: "b" });
    const ollama = encodeChatRequest(chatRequest({ passthrough: { protocol: "ollama", fields: { num_ctx: 4096 } } }), "m").body;
    expect(ollama).not.toHaveProperty("num_ctx");
  });

  test("never an empty message or text part", () => {
    const req = chatRequest({
      system: [{ type: "text", text: "" }],
      messages: [
        { role: "user", content: [{ type: "text", text: "" }] },
        { role: "assistant", content: [{ type: "text", text: "" }] },
        { role: "user", content: [{ type: "text", text: "real" }, { type: "text", text: "" }] },
      ],
    });
    expect(encodeChatRequest(req, "m").body.messages).toEqual([{ role: "user", content: "real" }]);
  });

  test("assistant with tool calls only has content null; empty arguments become {}", () => {
    const req = chatRequest({ messages: [{ role: "assistant", content: [{ type: "tool_call", id: "c", name: "f", arguments: "" }] }, { role: "user", content: [{ type: "tool_result", toolCallId: "c", content: [{ type: "text", text: "ok" }] }] }] });
    expect(encodeChatRequest(req, "m").body.messages).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c", content: "ok" },
    ]);
  });

  test("an error tool result says so in its text", () => {
    const req = chatRequest({ messages: [{ role: "assistant", content: [{ type: "tool_call", id: "c", name: "f", arguments: "{}" }] }, { role: "user", content: [{ type: "tool_result", toolCallId: "c", isError: true, content: [{ type: "text", text: "boom" }] }] }] });
    expect((encodeChatRequest(req, "m").body.messages as any[])[1]).toEqual({ role: "tool", tool_call_id: "c", content: "Error: boom" });
  });
});
