import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/core/errors";
import type { ChatRequest } from "../../../src/core/types";
import { decodeMessagesRequest } from "../../../src/inbound/anthropic/decode";

const base = { model: "claude-x", max_tokens: 100 };
const hi = [{ role: "user", content: "hi" }];

function decode(body: Record<string, unknown>): ChatRequest {
  return decodeMessagesRequest({ ...base, messages: hi, ...body });
}

describe("decodeMessagesRequest: wire → canonical", () => {
  const cases: { name: string; body: Record<string, unknown>; want: Partial<ChatRequest> }[] = [
    {
      name: "minimal request",
      body: {},
      want: { model: "claude-x", maxTokens: 100, system: [], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: false },
    },
    { name: "system string", body: { system: "Be brief." }, want: { system: [{ type: "text", text: "Be brief." }] } },
    {
      name: "system blocks keep cache_control",
      body: { system: [{ type: "text", text: "A" }, { type: "text", text: "B", cache_control: { type: "ephemeral" } }] },
      want: { system: [{ type: "text", text: "A" }, { type: "text", text: "B", cacheControl: { type: "ephemeral" } }] },
    },
    {
      name: "role:system messages are hoisted after the top-level system, in order",
      body: {
        system: "top",
        messages: [
          { role: "system", content: "first" },
          { role: "user", content: "hi" },
          { role: "system", content: [{ type: "text", text: "second" }] },
        ],
      },
      want: {
        system: [
          { type: "text", text: "top" },
          { type: "text", text: "first" },
          { type: "text", text: "second" },
        ],
        messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      },
    },
    {
      name: "sampling, stop sequences, metadata, stream",
      body: { temperature: 0.5, top_p: 0.9, top_k: 40, stop_sequences: ["END", "STOP"], metadata: { user_id: "u-1" }, stream: true },
      want: { temperature: 0.5, topP: 0.9, topK: 40, stop: ["END", "STOP"], user: "u-1", stream: true },
    },
    { name: "empty stop_sequences and null metadata user are absent", body: { stop_sequences: [], metadata: { user_id: null } }, want: { stop: undefined, user: undefined } },
    {
      name: "tools and tool_choice any with parallel off",
      body: {
        tools: [
          { name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } }, cache_control: { type: "ephemeral" } },
          { type: "custom", name: "t2", input_schema: { type: "object" } },
        ],
        tool_choice: { type: "any", disable_parallel_tool_use: true },
      },
      want: {
        tools: [
          { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } }, cacheControl: { type: "ephemeral" } },
          { name: "t2", parameters: { type: "object" } },
        ],
        toolChoice: { type: "required" },
        parallelToolCalls: false,
      },
    },
    { name: "tool_choice auto", body: { tool_choice: { type: "auto" } }, want: { toolChoice: { type: "auto" }, parallelToolCalls: undefined } },
    { name: "tool_choice none", body: { tool_choice: { type: "none" } }, want: { toolChoice: { type: "none" } } },
    { name: "tool_choice tool", body: { tool_choice: { type: "tool", name: "f" } }, want: { toolChoice: { type: "tool", name: "f" } } },
    { name: "thinking enabled", body: { thinking: { type: "enabled", budget_tokens: 2048 } }, want: { reasoning: { enabled: true, budgetTokens: 2048 } } },
    { name: "thinking disabled", body: { thinking: { type: "disabled" } }, want: { reasoning: { enabled: false } } },
    {
      name: "thinking adaptive with effort",
      body: { thinking: { type: "adaptive" }, output_config: { effort: "high" } },
      want: { reasoning: { enabled: true, effort: "high" } },
    },
    {
      name: "output_config.format json_schema",
      body: { output_config: { format: { type: "json_schema", schema: { type: "object", properties: { a: { type: "number" } } } } } },
      want: { responseFormat: { type: "json", schema: { type: "object", properties: { a: { type: "number" } } } } },
    },
    { name: "beta output_format spelling", body: { output_format: { type: "json_schema", schema: { type: "object" } } }, want: { responseFormat: { type: "json", schema: { type: "object" } } } },
    {
      name: "unmapped Anthropic-only options pass through",
      body: { service_tier: "auto", cache_control: { type: "ephemeral" } },
      want: { passthrough: { protocol: "anthropic", fields: { service_tier: "auto", cache_control: { type: "ephemeral" } } } },
    },
    { name: "max_tokens 0 (cache pre-warm) is accepted", body: { max_tokens: 0 }, want: { maxTokens: 0 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = decode(c.body);
      for (const [key, value] of Object.entries(c.want)) expect(got[key as keyof ChatRequest]).toEqual(value as never);
    });
  }

  test("every content block kind", () => {
    const got = decode({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "look", cache_control: { type: "ephemeral", ttl: "5m" } },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR" } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" } },
            { type: "document", source: { type: "text", media_type: "text/plain", data: "plain doc" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm", signature: "sig1" },
            { type: "redacted_thinking", data: "opaque" },
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "toolu_01A", name: "get_weather", input: { city: "Paris" } },
            { type: "tool_use", id: "toolu_01B", name: "now", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_01A", content: "18C" },
            {
              type: "tool_result",
              tool_use_id: "toolu_01B",
              is_error: true,
              cache_control: { type: "ephemeral" },
              content: [
                { type: "text", text: "failed" },
                { type: "image", source: { type: "base64", media_type: "image/gif", data: "R0lG" } },
              ],
            },
            { type: "text", text: "go on" },
          ],
        },
      ],
    });
    expect(got.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "look", cacheControl: { type: "ephemeral", ttl: "5m" } },
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" } },
          { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
          { type: "document", mediaType: "application/pdf", data: "JVBER" },
          { type: "text", text: "plain doc" },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "thinking", text: "hmm", signature: "sig1" },
          { type: "thinking", text: "", redacted: "opaque" },
          { type: "text", text: "Checking." },
          { type: "tool_call", id: "toolu_01A", name: "get_weather", arguments: '{"city":"Paris"}' },
          { type: "tool_call", id: "toolu_01B", name: "now", arguments: "{}" },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", toolCallId: "toolu_01A", content: [{ type: "text", text: "18C" }] },
          {
            type: "tool_result",
            toolCallId: "toolu_01B",
            isError: true,
            cacheControl: { type: "ephemeral" },
            content: [
              { type: "text", text: "failed" },
              { type: "image", source: { kind: "base64", mediaType: "image/gif", data: "R0lG" } },
            ],
          },
          { type: "text", text: "go on" },
        ],
      },
    ]);
  });

  test("the client's anthropic-beta header travels with the passthrough fields", () => {
    const got = decodeMessagesRequest({ ...base, messages: hi, service_tier: "auto" }, { requireMaxTokens: true, beta: "context-1m-2025-08-07,interleaved-thinking-2025-05-14" });
    expect(got.passthrough).toEqual({
      protocol: "anthropic",
      fields: { service_tier: "auto", "anthropic-beta": "context-1m-2025-08-07,interleaved-thinking-2025-05-14" },
    });
    expect(decodeMessagesRequest({ ...base, messages: hi }, { requireMaxTokens: true, beta: null }).passthrough).toBeUndefined();
  });

  test("count_tokens bodies need no max_tokens", () => {
    const got = decodeMessagesRequest({ model: "m", messages: hi }, { requireMaxTokens: false });
    expect(got.maxTokens).toBeUndefined();
  });
});

describe("decodeMessagesRequest: bad input → 400 invalid_request naming the field", () => {
  const cases: { name: string; body: unknown; message: string }[] = [
    { name: "not an object", body: [1], message: "request body must be a JSON object, got array" },
    { name: "missing model", body: { max_tokens: 1, messages: hi }, message: "model: field required" },
    { name: "model not a string", body: { model: 5, max_tokens: 1, messages: hi }, message: "model: expected a string, got number" },
    { name: "missing max_tokens", body: { model: "m", messages: hi }, message: "max_tokens: field required" },
    { name: "max_tokens a string", body: { ...base, max_tokens: "100", messages: hi }, message: "max_tokens: expected an integer, got string" },
    { name: "max_tokens negative", body: { ...base, max_tokens: -1, messages: hi }, message: "max_tokens: must be at least 0, got -1" },
    { name: "missing messages", body: base, message: "messages: field required" },
    { name: "messages not an array", body: { ...base, messages: "hi" }, message: "messages: expected an array, got string" },
    { name: "only system messages", body: { ...base, messages: [{ role: "system", content: "x" }] }, message: "messages: at least one user or assistant message is required" },
    { name: "unknown role", body: { ...base, messages: [{ role: "tool", content: "x" }] }, message: 'messages.0.role: expected "user", "assistant" or "system", got "tool"' },
    { name: "content missing", body: { ...base, messages: [{ role: "user" }] }, message: "messages.0.content: field required" },
    { name: "content a number", body: { ...base, messages: [{ role: "user", content: 3 }] }, message: "messages.0.content: expected a string or an array of content blocks, got number" },
    { name: "text block without text", body: { ...base, messages: [{ role: "user", content: [{ type: "text" }] }] }, message: "messages.0.content.0.text: expected a string, got undefined" },
    {
      name: "unknown block type",
      body: { ...base, messages: [{ role: "user", content: [{ type: "server_tool_use", id: "x" }] }] },
      message: 'messages.0.content.0.type: content block type "server_tool_use" is not supported by lmrelay',
    },
    {
      name: "tool_use in a user message",
      body: { ...base, messages: [{ role: "user", content: [{ type: "tool_use", id: "a", name: "f", input: {} }] }] },
      message: "messages.0.content.0.type: tool_use blocks may only appear in assistant messages",
    },
    {
      name: "tool_use input not an object",
      body: { ...base, messages: [{ role: "assistant", content: [{ type: "tool_use", id: "a", name: "f", input: "x" }] }] },
      message: "messages.0.content.0.input: expected an object, got string",
    },
    {
      name: "tool_result in an assistant message",
      body: { ...base, messages: [{ role: "assistant", content: [{ type: "tool_result", tool_use_id: "a" }] }] },
      message: "messages.0.content.0.type: tool_result blocks may only appear in user messages",
    },
    {
      name: "image from the Files API",
      body: { ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }] },
      message: 'messages.0.content.0.source.type: image source type "file" is not supported by lmrelay; use "base64" or "url"',
    },
    {
      name: "server tool",
      body: { ...base, messages: hi, tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 5 }] },
      message: 'tools.0: server tool "web_search" (type "web_search_20250305") is not supported by lmrelay; only client tools with an input_schema are',
    },
    { name: "tool without input_schema", body: { ...base, messages: hi, tools: [{ name: "f" }] }, message: "tools.0.input_schema: field required" },
    { name: "tool_choice unknown type", body: { ...base, messages: hi, tool_choice: { type: "some" } }, message: 'tool_choice.type: expected "auto", "any", "tool" or "none", got "some"' },
    { name: "tool_choice tool without name", body: { ...base, messages: hi, tool_choice: { type: "tool" } }, message: "tool_choice.name: expected a string, got undefined" },
    { name: "temperature a string", body: { ...base, messages: hi, temperature: "hot" }, message: "temperature: expected a number, got string" },
    { name: "stream a string", body: { ...base, messages: hi, stream: "yes" }, message: "stream: expected a boolean, got string" },
    { name: "stop_sequences of numbers", body: { ...base, messages: hi, stop_sequences: [1] }, message: "stop_sequences.0: expected a string, got number" },
    { name: "thinking enabled without budget", body: { ...base, messages: hi, thinking: { type: "enabled" } }, message: "thinking.budget_tokens: field required" },
    { name: "thinking unknown type", body: { ...base, messages: hi, thinking: { type: "on" } }, message: 'thinking.type: expected "enabled", "disabled" or "adaptive", got "on"' },
    { name: "system block not text", body: { ...base, messages: hi, system: [{ type: "image" }] }, message: 'system.0.type: system blocks must be of type "text", got "image"' },
    { name: "format not json_schema", body: { ...base, messages: hi, output_config: { format: { type: "xml" } } }, message: 'output_config.format.type: expected "json_schema", got "xml"' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      let caught: unknown;
      try {
        decodeMessagesRequest(c.body);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      const err = caught as GatewayError;
      expect(err.kind).toBe("invalid_request");
      expect(err.status).toBe(400);
      expect(err.message).toBe(`lmrelay: ${c.message}`);
    });
  }
});
