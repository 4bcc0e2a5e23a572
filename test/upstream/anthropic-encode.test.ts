import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import type { ChatRequest, Message } from "../../src/core/types";
import { encodeAnthropicRequest } from "../../src/upstream/anthropic/encode";
import { validateMessagesRequest } from "../fakes/anthropic-validate";

// Canonical request → the exact Anthropic body, one row per pitfall (translation.md §10). Every
// body must also pass the checks the real API makes (the fake's validator).

const user = (...content: Message["content"]): Message => ({ role: "user", content });
const assistant = (...content: Message["content"]): Message => ({ role: "assistant", content });
const text = (t: string, cacheControl?: unknown) => (cacheControl ? { type: "text" as const, text: t, cacheControl } : { type: "text" as const, text: t });
const call = (id: string, name: string, args = "{}") => ({ type: "tool_call" as const, id, name, arguments: args });
const result = (toolCallId: string, t: string, isError?: boolean) => ({ type: "tool_result" as const, toolCallId, content: [text(t)], ...(isError ? { isError } : {}) });
const EPH = { type: "ephemeral" };

function req(over: Partial<ChatRequest>): ChatRequest {
  return { model: "alias", system: [], messages: [user(text("hi"))], stream: false, ...over };
}

const hiUser = { role: "user", content: [{ type: "text", text: "hi" }] };
const tool = (name: string, input_schema: object = { type: "object", properties: {} }) => ({ name, input_schema });

const cases: [string, Partial<ChatRequest>, Record<string, unknown>][] = [
  [
    "minimal: default max_tokens, system as text blocks",
    { system: [text("Be brief."), text("")] },
    { model: "claude-x", system: [{ type: "text", text: "Be brief." }], messages: [hiUser], max_tokens: 4096 },
  ],
  [
    "pitfall 1: empty text parts and empty turns dropped, same-role turns merged",
    { messages: [user(text("a"), text("")), assistant(text("")), user(text("b"))], maxTokens: 100, stream: true },
    { model: "claude-x", messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }], max_tokens: 100, stream: true },
  ],
  [
    "cache_control kept on system, text, image, document, tool_result and tools",
    {
      system: [text("sys", EPH)],
      messages: [
        user(text("look", EPH), { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAA" }, cacheControl: EPH }, { type: "document", mediaType: "application/pdf", data: "JVBER", cacheControl: EPH }),
        assistant(call("t1", "f")),
        user({ ...result("t1", "out"), cacheControl: EPH }),
      ],
      tools: [{ name: "f", parameters: { type: "object", properties: {} }, cacheControl: EPH }],
    },
    {
      model: "claude-x",
      system: [{ type: "text", text: "sys", cache_control: EPH }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "look", cache_control: EPH },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAA" }, cache_control: EPH },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" }, cache_control: EPH },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "out" }], cache_control: EPH }] },
      ],
      tools: [{ name: "f", input_schema: { type: "object", properties: {} }, cache_control: EPH }],
      max_tokens: 4096,
    },
  ],
  [
    "pitfall 4: tool ids rewritten to ^[a-zA-Z0-9_-]+$ through one map, collisions kept apart",
    {
      messages: [user(text("go")), assistant(call("call.1", "f", '{"a":1}'), call("call_1", "f")), user(result("call_1", "two"), result("call.1", "one"))],
      tools: [{ name: "f", parameters: { type: "object", properties: { a: { type: "number" } } } }],
    },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "f", input: { a: 1 } }, { type: "tool_use", id: "call_1_2", name: "f", input: {} }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_1", content: [{ type: "text", text: "one" }] },
            { type: "tool_result", tool_use_id: "call_1_2", content: [{ type: "text", text: "two" }] },
          ],
        },
      ],
      tools: [{ name: "f", input_schema: { type: "object", properties: { a: { type: "number" } } } }],
      max_tokens: 4096,
    },
  ],
  [
    "pitfall 2: tool results moved first, a missing one stubbed as an error",
    {
      messages: [user(text("go")), assistant(text("Checking."), call("a", "f"), call("b", "f")), user(text("and then?"), result("a", "ra", true))],
      tools: [{ name: "f", parameters: {} }],
    },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "a", name: "f", input: {} }, { type: "tool_use", id: "b", name: "f", input: {} }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "a", content: [{ type: "text", text: "ra" }], is_error: true },
            { type: "tool_result", tool_use_id: "b", content: [{ type: "text", text: "No result was provided for this tool call." }], is_error: true },
            { type: "text", text: "and then?" },
          ],
        },
      ],
      tools: [tool("f")],
      max_tokens: 4096,
    },
  ],
  [
    "pitfall 2: a trailing tool call gets a stub result turn",
    { messages: [user(text("go")), assistant(call("a", "f"))], tools: [{ name: "f", parameters: {} }] },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "a", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: [{ type: "text", text: "No result was provided for this tool call." }], is_error: true }] },
      ],
      tools: [tool("f")],
      max_tokens: 4096,
    },
  ],
  [
    "pitfall 2: a result whose tool_use is absent becomes text",
    { messages: [user(result("gone", "42"), text("what now?"))] },
    {
      model: "claude-x",
      messages: [{ role: "user", content: [{ type: "text", text: "Result of tool call gone:\n42" }, { type: "text", text: "what now?" }] }],
      max_tokens: 4096,
    },
  ],
  [
    "pitfall 3: tool history without tools declares them, and tool_choice none keeps them unused",
    { messages: [user(text("go")), assistant(call("a", "lookup", "")), user(result("a", "r"))] },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "a", name: "lookup", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: [{ type: "text", text: "r" }] }] },
      ],
      tools: [tool("lookup")],
      tool_choice: { type: "none" },
      max_tokens: 4096,
    },
  ],
  [
    "images: base64, url, data URI; plain-text document as a text source",
    {
      messages: [
        user(
          { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
          { type: "image", source: { kind: "url", url: "data:image/webp;base64,UklG" } },
          { type: "document", mediaType: "text/plain", data: Buffer.from("hello doc").toString("base64") },
        ),
      ],
    },
    {
      model: "claude-x",
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
            { type: "image", source: { type: "base64", media_type: "image/webp", data: "UklG" } },
            { type: "document", source: { type: "text", media_type: "text/plain", data: "hello doc" } },
          ],
        },
      ],
      max_tokens: 4096,
    },
  ],
  [
    "pitfall 5: signed and redacted thinking echoed, unsigned thinking dropped",
    {
      messages: [
        user(text("q")),
        assistant({ type: "thinking", text: "hmm", signature: "sig1" }, { type: "thinking", text: "", redacted: "enc" }, { type: "thinking", text: "from another provider" }, text("A")),
        user(text("more")),
      ],
    },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "q" }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "hmm", signature: "sig1" }, { type: "redacted_thinking", data: "enc" }, { type: "text", text: "A" }] },
        { role: "user", content: [{ type: "text", text: "more" }] },
      ],
      max_tokens: 4096,
    },
  ],
  [
    "tools: default and type-less schemas; tool_choice required → any with disable_parallel_tool_use",
    { tools: [{ name: "a", description: "A", parameters: {} }, { name: "b", parameters: { properties: { x: { type: "string" } } } }], toolChoice: { type: "required" }, parallelToolCalls: false },
    {
      model: "claude-x",
      messages: [hiUser],
      tools: [{ name: "a", description: "A", input_schema: { type: "object", properties: {} } }, tool("b", { type: "object", properties: { x: { type: "string" } } })],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      max_tokens: 4096,
    },
  ],
  [
    "tool_choice: named tool",
    { tools: [{ name: "a", parameters: {} }], toolChoice: { type: "tool", name: "a" } },
    { model: "claude-x", messages: [hiUser], tools: [tool("a")], tool_choice: { type: "tool", name: "a" }, max_tokens: 4096 },
  ],
  ["tool_choice none", { tools: [{ name: "a", parameters: {} }], toolChoice: { type: "none" }, parallelToolCalls: false }, { model: "claude-x", messages: [hiUser], tools: [tool("a")], tool_choice: { type: "none" }, max_tokens: 4096 }],
  ["parallel tool calls off", { tools: [{ name: "a", parameters: {} }], parallelToolCalls: false }, { model: "claude-x", messages: [hiUser], tools: [tool("a")], tool_choice: { type: "auto", disable_parallel_tool_use: true }, max_tokens: 4096 }],
  [
    "pitfalls 10–12: temperature clamped, blank stops dropped, email user skipped; seed and penalties dropped",
    { temperature: 1.7, topP: 0.9, topK: 40, stop: ["END", " ", "\n"], user: "jane@example.com", seed: 7, presencePenalty: 1, frequencyPenalty: 1 },
    { model: "claude-x", messages: [hiUser], max_tokens: 4096, temperature: 1, top_p: 0.9, top_k: 40, stop_sequences: ["END"] },
  ],
  ["negative temperature → 0, opaque user kept", { temperature: -0.5, user: "user-123" }, { model: "claude-x", messages: [hiUser], max_tokens: 4096, temperature: 0, metadata: { user_id: "user-123" } }],
  [
    "reasoning effort high: budget 16384 fits under a raised max_tokens; sampling made compatible",
    { reasoning: { enabled: true, effort: "high" }, temperature: 0.2, topK: 5, topP: 0.5 },
    { model: "claude-x", messages: [hiUser], max_tokens: 20480, thinking: { type: "enabled", budget_tokens: 16384 }, top_p: 0.95 },
  ],
  [
    "reasoning budget below the minimum is raised; client max_tokens kept when above it",
    { reasoning: { enabled: true, budgetTokens: 500 }, maxTokens: 3000, tools: [{ name: "a", parameters: {} }], toolChoice: { type: "required" } },
    { model: "claude-x", messages: [hiUser], tools: [tool("a")], tool_choice: { type: "auto" }, max_tokens: 3000, thinking: { type: "enabled", budget_tokens: 1024 } },
  ],
  ["max_tokens 0 (prompt-cache warm-up) kept as asked", { maxTokens: 0 }, { model: "claude-x", messages: [hiUser], max_tokens: 0 }],
  [
    "pitfall 5: thinking dropped when continuing a tool turn that has no signed thinking (history from another provider)",
    { reasoning: { enabled: true, effort: "low" }, tools: [{ name: "f", parameters: {} }], messages: [user(text("go")), assistant(call("a", "f")), user(result("a", "r"))] },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "a", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: [{ type: "text", text: "r" }] }] },
      ],
      tools: [tool("f")],
      max_tokens: 4096,
    },
  ],
  [
    "thinking kept when the tool turn opens with signed thinking",
    { reasoning: { enabled: true, effort: "low" }, tools: [{ name: "f", parameters: {} }], messages: [user(text("go")), assistant({ type: "thinking", text: "t", signature: "s" }, call("a", "f")), user(result("a", "r"))] },
    {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s" }, { type: "tool_use", id: "a", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: [{ type: "text", text: "r" }] }] },
      ],
      tools: [tool("f")],
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 2048 },
    },
  ],
  ["reasoning off", { reasoning: { enabled: false } }, { model: "claude-x", messages: [hiUser], max_tokens: 4096, thinking: { type: "disabled" } }],
  [
    "pitfall 15: JSON mode forces json_tool_call with the schema",
    { responseFormat: { type: "json", schema: { type: "object", properties: { n: { type: "number" } } } } },
    {
      model: "claude-x",
      messages: [hiUser],
      tools: [{ name: "json_tool_call", description: "Respond with the answer as a JSON object.", input_schema: { type: "object", properties: { n: { type: "number" } } } }],
      tool_choice: { type: "tool", name: "json_tool_call" },
      max_tokens: 4096,
    },
  ],
  [
    "JSON mode without a schema",
    { responseFormat: { type: "json" } },
    {
      model: "claude-x",
      messages: [hiUser],
      tools: [{ name: "json_tool_call", description: "Respond with the answer as a JSON object.", input_schema: { type: "object" } }],
      tool_choice: { type: "tool", name: "json_tool_call" },
      max_tokens: 4096,
    },
  ],
  [
    "same-protocol passthrough fields merged (beta header kept out of the body)",
    { passthrough: { protocol: "anthropic", fields: { service_tier: "auto", thinking: { type: "adaptive" }, "anthropic-beta": "context-1m-2025-08-07" } } },
    { model: "claude-x", messages: [hiUser], max_tokens: 4096, service_tier: "auto", thinking: { type: "adaptive" } },
  ],
  ["another protocol's passthrough ignored", { passthrough: { protocol: "ollama", fields: { keep_alive: "5m" } } }, { model: "claude-x", messages: [hiUser], max_tokens: 4096 }],
];

describe("encodeAnthropicRequest", () => {
  for (const [name, over, expected] of cases)
    test(name, () => {
      const { body } = encodeAnthropicRequest(req(over), "claude-x");
      expect(body).toEqual(expected);
      // Exact equality above; key order matters only for readability of the wire, not checked.
      expect(validateMessagesRequest(body)).toBeUndefined();
    });

  test("JSON mode and the beta header are reported to the adapter", () => {
    const plain = encodeAnthropicRequest(req({}), "m");
    expect(plain.jsonMode).toBe(false);
    expect(plain.beta).toBeUndefined();
    const out = encodeAnthropicRequest(req({ responseFormat: { type: "json" }, passthrough: { protocol: "anthropic", fields: { "anthropic-beta": "a,b" } } }), "m");
    expect(out.jsonMode).toBe(true);
    expect(out.beta).toBe("a,b");
  });

  test("a conversation with nothing to send is a clear client error", () => {
    let err: unknown;
    try {
      encodeAnthropicRequest(req({ system: [text("only a system prompt")], messages: [user(text(""))] }), "m");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).kind).toBe("invalid_request");
    expect((err as GatewayError).message).toStartWith("lmrelay: ");
  });

  test("the same history encodes to the same ids every time (stable across turns)", () => {
    const r = req({ messages: [user(text("go")), assistant(call("id with spaces", "f")), user(result("id with spaces", "x"))], tools: [{ name: "f", parameters: {} }] });
    expect(JSON.stringify(encodeAnthropicRequest(r, "m").body)).toBe(JSON.stringify(encodeAnthropicRequest(r, "m").body));
    expect(JSON.stringify(encodeAnthropicRequest(r, "m").body)).toContain('"id":"id_with_spaces"');
  });
});

test("a tool call in the history whose arguments are not a JSON object: 400 naming the tool, never input {}", () => {
  const bad = req({ messages: [{ role: "assistant", content: [call("t1", "lookup", '{"q": ')] }] });
  expect(() => encodeAnthropicRequest(bad, "m")).toThrow(
    `lmrelay: tool call "lookup" in the conversation has arguments that are not a JSON object (Anthropic's tool_use input must be an object): "{\\"q\\": "`,
  );
});
