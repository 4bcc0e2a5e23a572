import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/core/errors";
import type { ChatRequest } from "../../../src/core/types";
import { decodeChatRequest, decodeCompletionRequest } from "../../../src/inbound/openai/decode";

const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
const userHi = { role: "user" as const, content: [{ type: "text" as const, text: "hi" }] };

describe("decodeChatRequest: wire → canonical", () => {
  const cases: { name: string; body: Record<string, unknown>; want: Partial<ChatRequest> }[] = [
    {
      name: "minimal",
      body: base,
      want: { model: "m", system: [], messages: [userHi], stream: false },
    },
    {
      name: "system and developer messages are hoisted in order, from anywhere",
      body: {
        model: "m",
        messages: [
          { role: "system", content: "one" },
          { role: "user", content: "hi" },
          { role: "developer", content: [{ type: "text", text: "two" }, { type: "text", text: "three" }] },
        ],
      },
      want: {
        system: [
          { type: "text", text: "one" },
          { type: "text", text: "two" },
          { type: "text", text: "three" },
        ],
        messages: [userHi],
      },
    },
    {
      name: "images: data URI → base64 source, https URL → url source, detail kept",
      body: {
        model: "m",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "look" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR", detail: "low" } },
              { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
            ],
          },
        ],
      },
      want: {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "look" },
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" }, detail: "low" },
              { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
            ],
          },
        ],
      },
    },
    {
      name: "PDF file part → document",
      body: {
        model: "m",
        messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBER" } }] }],
      },
      want: { messages: [{ role: "user", content: [{ type: "document", mediaType: "application/pdf", data: "JVBER" }] }] },
    },
    {
      name: "tool-call round trip: assistant calls, consecutive tool messages → one user turn, names looked up",
      body: {
        model: "m",
        messages: [
          { role: "user", content: "weather and time?" },
          {
            role: "assistant",
            content: "",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
              { id: "call_2", type: "function", function: { name: "get_time", arguments: "" } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: '{"temp_c":18}' },
          { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "12:00" }] },
          { role: "user", content: "thanks" },
        ],
      },
      want: {
        messages: [
          { role: "user", content: [{ type: "text", text: "weather and time?" }] },
          {
            role: "assistant",
            content: [
              { type: "tool_call", id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
              { type: "tool_call", id: "call_2", name: "get_time", arguments: "{}" },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", toolCallId: "call_1", name: "get_weather", content: [{ type: "text", text: '{"temp_c":18}' }] },
              { type: "tool_result", toolCallId: "call_2", name: "get_time", content: [{ type: "text", text: "12:00" }] },
            ],
          },
          { role: "user", content: [{ type: "text", text: "thanks" }] },
        ],
      },
    },
    {
      name: "assistant reasoning_content in history → thinking part first; refusal parts kept as text",
      body: {
        model: "m",
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", reasoning_content: "hmm", content: [{ type: "text", text: "a" }, { type: "refusal", refusal: "b" }] },
        ],
      },
      want: {
        messages: [
          userHi,
          {
            role: "assistant",
            content: [
              { type: "thinking", text: "hmm" },
              { type: "text", text: "a" },
              { type: "text", text: "b" },
            ],
          },
        ],
      },
    },
    {
      name: "tools, tool_choice function, parallel_tool_calls",
      body: {
        ...base,
        tools: [
          { type: "function", function: { name: "f", description: "d", parameters: { type: "object", properties: { a: { type: "string" } } }, strict: true } },
          { type: "function", function: { name: "g" } },
        ],
        tool_choice: { type: "function", function: { name: "f" } },
        parallel_tool_calls: false,
      },
      want: {
        tools: [
          { name: "f", description: "d", parameters: { type: "object", properties: { a: { type: "string" } } } },
          { name: "g", parameters: { type: "object", properties: {} } },
        ],
        toolChoice: { type: "tool", name: "f" },
        parallelToolCalls: false,
      },
    },
    {
      name: "tool_choice strings",
      body: { ...base, tool_choice: "required" },
      want: { toolChoice: { type: "required" } },
    },
    {
      name: "allowed_tools narrows the tools and keeps the mode",
      body: {
        ...base,
        tools: [
          { type: "function", function: { name: "f" } },
          { type: "function", function: { name: "g" } },
        ],
        tool_choice: { type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "g" } }] } },
      },
      want: { tools: [{ name: "g", parameters: { type: "object", properties: {} } }], toolChoice: { type: "required" } },
    },
    {
      name: "response_format json_object",
      body: { ...base, response_format: { type: "json_object" } },
      want: { responseFormat: { type: "json" } },
    },
    {
      name: "response_format json_schema",
      body: { ...base, response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } } },
      want: { responseFormat: { type: "json", name: "out", schema: { type: "object" }, strict: true } },
    },
    {
      name: "sampling parameters, stop string, max_completion_tokens preferred",
      body: {
        ...base,
        max_completion_tokens: 100,
        max_tokens: 50,
        temperature: 0.5,
        top_p: 0.9,
        top_k: 40,
        stop: "END",
        seed: 7,
        presence_penalty: 0.1,
        frequency_penalty: -0.2,
        user: "u1",
      },
      want: { maxTokens: 100, temperature: 0.5, topP: 0.9, topK: 40, stop: ["END"], seed: 7, presencePenalty: 0.1, frequencyPenalty: -0.2, user: "u1" },
    },
    {
      name: "max_tokens alone, stop array",
      body: { ...base, max_tokens: 50, stop: ["a", "b"] },
      want: { maxTokens: 50, stop: ["a", "b"] },
    },
    {
      name: "reasoning_effort",
      body: { ...base, reasoning_effort: "high" },
      want: { reasoning: { enabled: true, effort: "high" } },
    },
    {
      name: "reasoning_effort none turns reasoning off",
      body: { ...base, reasoning_effort: "none" },
      want: { reasoning: { enabled: false } },
    },
    {
      name: "stream with include_usage",
      body: { ...base, stream: true, stream_options: { include_usage: true } },
      want: { stream: true, includeUsage: true },
    },
    {
      name: "include_usage without stream is ignored",
      body: { ...base, stream: false, stream_options: { include_usage: true } },
      want: { stream: false, includeUsage: undefined },
    },
    {
      name: "null optional fields count as absent",
      body: { ...base, temperature: null, tools: null, stop: null, max_tokens: null, n: null },
      want: { temperature: undefined, tools: undefined, stop: undefined, maxTokens: undefined, passthrough: undefined },
    },
    {
      name: "fields without a canonical home pass through for OpenAI-wire upstreams",
      body: { ...base, logit_bias: { "50256": -100 }, service_tier: "flex", min_p: 0.05, n: 1 },
      want: { passthrough: { protocol: "openai", fields: { logit_bias: { "50256": -100 }, service_tier: "flex", min_p: 0.05 } } },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = decodeChatRequest(c.body);
      for (const [key, value] of Object.entries(c.want)) expect(got[key as keyof ChatRequest]).toEqual(value as never);
    });
  }

  test("minimal request decodes to exactly the canonical fields, nothing extra", () => {
    expect(decodeChatRequest(base)).toEqual({ model: "m", system: [], messages: [userHi], stream: false });
  });

  test("a tool result whose call is not in the history keeps the client's name, else none", () => {
    const got = decodeChatRequest({ model: "m", messages: [{ role: "tool", tool_call_id: "x", content: "r", name: "f" }, { role: "tool", tool_call_id: "y", content: null }] });
    expect(got.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "tool_result", toolCallId: "x", name: "f", content: [{ type: "text", text: "r" }] },
          { type: "tool_result", toolCallId: "y", content: [] },
        ],
      },
    ]);
  });
});

describe("decodeChatRequest: bad input → 400 naming the field", () => {
  const cases: { name: string; body: unknown; param: string | undefined; message: RegExp }[] = [
    { name: "not an object", body: [1, 2], param: undefined, message: /must be a JSON object/ },
    { name: "missing model", body: { messages: base.messages }, param: "model", message: /'model' is required/ },
    { name: "model of wrong type", body: { ...base, model: 5 }, param: "model", message: /'model' must be a string, got number 5/ },
    { name: "missing messages", body: { model: "m" }, param: "messages", message: /'messages' is required/ },
    { name: "messages not an array", body: { model: "m", messages: "hi" }, param: "messages", message: /must be an array/ },
    { name: "empty messages", body: { model: "m", messages: [] }, param: "messages", message: /at least one/ },
    { name: "unknown role", body: { model: "m", messages: [{ role: "bot", content: "x" }] }, param: "messages[0].role", message: /must be one of/ },
    { name: "missing role", body: { model: "m", messages: [{ content: "x" }] }, param: "messages[0].role", message: /is required/ },
    { name: "content of wrong type", body: { model: "m", messages: [{ role: "user", content: 3 }] }, param: "messages[0].content", message: /string or an array/ },
    {
      name: "unknown part type",
      body: { model: "m", messages: [{ role: "user", content: [{ type: "video", video: {} }] }] },
      param: "messages[0].content[0].type",
      message: /must be one of/,
    },
    {
      name: "image URL of another scheme",
      body: { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x" } }] }] },
      param: "messages[0].content[0].image_url.url",
      message: /http\(s\) URL or a base64 data URI/,
    },
    {
      name: "audio input",
      body: { model: "m", messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }] }] },
      param: "messages[0].content[0].type",
      message: /audio input is not supported/,
    },
    {
      name: "tool message without tool_call_id",
      body: { model: "m", messages: [{ role: "tool", content: "x" }] },
      param: "messages[0].tool_call_id",
      message: /is required/,
    },
    {
      name: "tool call without function name",
      body: { model: "m", messages: [{ role: "assistant", tool_calls: [{ id: "c", type: "function", function: { arguments: "{}" } }] }] },
      param: "messages[0].tool_calls[0].function.name",
      message: /is required/,
    },
    { name: "temperature as string", body: { ...base, temperature: "hot" }, param: "temperature", message: /must be a number, got a string/ },
    { name: "max_tokens not an integer", body: { ...base, max_tokens: 1.5 }, param: "max_tokens", message: /integer/ },
    { name: "negative max_completion_tokens", body: { ...base, max_completion_tokens: -1 }, param: "max_completion_tokens", message: /at least 0/ },
    { name: "stream not boolean", body: { ...base, stream: "yes" }, param: "stream", message: /boolean/ },
    { name: "stop array of numbers", body: { ...base, stop: [1] }, param: "stop[0]", message: /string/ },
    { name: "n > 1", body: { ...base, n: 2 }, param: "n", message: /not supported/ },
    { name: "tools not an array", body: { ...base, tools: {} }, param: "tools", message: /array/ },
    { name: "custom tool type", body: { ...base, tools: [{ type: "custom", custom: { name: "x" } }] }, param: "tools[0].type", message: /not supported/ },
    { name: "tool_choice unknown string", body: { ...base, tool_choice: "always" }, param: "tool_choice", message: /must be/ },
    { name: "response_format unknown type", body: { ...base, response_format: { type: "xml" } }, param: "response_format.type", message: /must be/ },
    { name: "json_schema without name", body: { ...base, response_format: { type: "json_schema", json_schema: { schema: {} } } }, param: "response_format.json_schema.name", message: /required/ },
    { name: "reasoning_effort unknown", body: { ...base, reasoning_effort: "extreme" }, param: "reasoning_effort", message: /must be one of/ },
    { name: "reasoning_effort naming an Object method", body: { ...base, reasoning_effort: "toString" }, param: "reasoning_effort", message: /must be one of/ },
    { name: "stream_options not an object", body: { ...base, stream: true, stream_options: true }, param: "stream_options", message: /object/ },
    { name: "deprecated function role", body: { model: "m", messages: [{ role: "function", name: "f", content: "x" }] }, param: "messages[0].role", message: /not supported/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      let caught: unknown;
      try {
        decodeChatRequest(c.body);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      const err = caught as GatewayError;
      expect(err.kind).toBe("invalid_request");
      expect(err.status).toBe(400);
      expect(err.param).toBe(c.param);
      expect(err.message.startsWith("lmrelay: ")).toBe(true);
      expect(err.message).toMatch(c.message);
    });
  }
});

describe("decodeCompletionRequest (legacy)", () => {
  test("prompt string → one user turn, legacy flag, sampling", () => {
    const got = decodeCompletionRequest({ model: "m", prompt: "Say hi", max_tokens: 5, stop: "\n", stream: true, stream_options: { include_usage: true } });
    expect(got).toEqual({
      model: "m",
      system: [],
      messages: [{ role: "user", content: [{ type: "text", text: "Say hi" }] }],
      stream: true,
      legacyCompletion: true,
      maxTokens: 5,
      stop: ["\n"],
      includeUsage: true,
    });
  });
  test("prompt array → parts of one user turn", () => {
    const got = decodeCompletionRequest({ model: "m", prompt: ["a", "b"] });
    expect(got.messages).toEqual([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]);
  });
  for (const [name, body, param] of [
    ["missing prompt", { model: "m" }, "prompt"],
    ["token ids", { model: "m", prompt: [1, 2, 3] }, "prompt"],
    ["prompt of wrong type", { model: "m", prompt: 4 }, "prompt"],
    ["best_of > 1", { model: "m", prompt: "x", best_of: 3 }, "best_of"],
    ["missing model", { prompt: "x" }, "model"],
  ] as const) {
    test(`rejects ${name}`, () => {
      expect(() => decodeCompletionRequest(body)).toThrow(expect.objectContaining({ param, status: 400 }));
    });
  }
});
