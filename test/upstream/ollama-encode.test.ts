import { describe, expect, test } from "bun:test";
import type { ChatRequest } from "../../src/core/types";
import { GatewayError } from "../../src/core/errors";
import { collectImageUrls, encodeOllamaChat, thinkFor } from "../../src/upstream/ollama/encode";

// Canonical request → the exact `/api/chat` JSON body.

const base = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "local/llama3.2",
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  stream: true,
  ...over,
});

const cases: { name: string; req: ChatRequest; body: Record<string, unknown> }[] = [
  {
    name: "minimal stream request: upstream model name, stream flag, no empty extras",
    req: base(),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], stream: true },
  },
  {
    name: "non-stream says stream:false explicitly (Ollama streams by default)",
    req: base({ stream: false }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], stream: false },
  },
  {
    name: "system parts → one leading system message; text parts joined with newline",
    req: base({
      system: [{ type: "text", text: "Be brief." }, { type: "text", text: "Be kind.", cacheControl: { type: "ephemeral" } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "line 1" }, { type: "text", text: "line 2" }] },
        { role: "assistant", content: [{ type: "text", text: "ok" }] },
        { role: "user", content: [{ type: "text", text: "again" }] },
      ],
    }),
    body: {
      model: "llama3.2:latest",
      messages: [
        { role: "system", content: "Be brief.\nBe kind." },
        { role: "user", content: "line 1\nline 2" },
        { role: "assistant", content: "ok" },
        { role: "user", content: "again" },
      ],
      stream: true,
    },
  },
  {
    name: "images: base64 raw, url from the downloaded map, per message",
    req: base({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
          ],
        },
      ],
    }),
    body: {
      model: "llama3.2:latest",
      messages: [{ role: "user", content: "What is this?", images: ["iVBORw0KGgo=", "/9j/4AAQ"] }],
      stream: true,
    },
  },
  {
    name: "tool round trip: object arguments, empty ones as {}, results as tool messages with name and id",
    req: base({
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
        {
          role: "assistant",
          content: [
            { type: "thinking", text: "Two cities.", signature: "sig" },
            { type: "text", text: "Checking." },
            { type: "tool_call", id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
            { type: "tool_call", id: "call_2", name: "get_weather", arguments: '{"city":"Rome"}' },
            { type: "tool_call", id: "call_3", name: "now", arguments: "" },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", toolCallId: "call_1", content: [{ type: "text", text: "18C" }] },
            { type: "tool_result", toolCallId: "call_2", name: "get_weather", content: [{ type: "text", text: "no data" }], isError: true },
            { type: "tool_result", toolCallId: "call_3", content: [] },
            { type: "text", text: "Summarise." },
          ],
        },
      ],
    }),
    body: {
      model: "llama3.2:latest",
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "Checking.",
          thinking: "Two cities.",
          tool_calls: [
            { id: "call_1", function: { name: "get_weather", arguments: { city: "Paris" } } },
            { id: "call_2", function: { name: "get_weather", arguments: { city: "Rome" } } },
            { id: "call_3", function: { name: "now", arguments: {} } },
          ],
        },
        { role: "tool", content: "18C", tool_name: "get_weather", tool_call_id: "call_1" },
        { role: "tool", content: "Error: no data", tool_name: "get_weather", tool_call_id: "call_2" },
        { role: "tool", content: "", tool_name: "now", tool_call_id: "call_3" },
        { role: "user", content: "Summarise." },
      ],
      stream: true,
    },
  },
  {
    name: "tool result with images and user text before it: the result goes first, right after the calls",
    req: base({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "before" },
            {
              type: "tool_result",
              toolCallId: "x",
              name: "screenshot",
              content: [
                { type: "text", text: "here" },
                { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAAA" } },
              ],
            },
          ],
        },
      ],
    }),
    body: {
      model: "llama3.2:latest",
      messages: [
        { role: "tool", content: "here", images: ["AAAA"], tool_name: "screenshot", tool_call_id: "x" },
        { role: "user", content: "before" },
      ],
      stream: true,
    },
  },
  {
    name: "empty assistant turns (only redacted thinking) are skipped",
    req: base({
      messages: [
        { role: "user", content: [{ type: "text", text: "a" }] },
        { role: "assistant", content: [{ type: "thinking", text: "", redacted: "xyz" }] },
        { role: "user", content: [{ type: "text", text: "b" }] },
      ],
    }),
    body: {
      model: "llama3.2:latest",
      messages: [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ],
      stream: true,
    },
  },
  {
    name: "tools in OpenAI shape; tool_choice dropped",
    req: base({
      tools: [
        { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
        { name: "noop", parameters: { type: "object", properties: {} } },
      ],
      toolChoice: { type: "required" },
      parallelToolCalls: false,
    }),
    body: {
      model: "llama3.2:latest",
      messages: [{ role: "user", content: "Hi" }],
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
        },
        { type: "function", function: { name: "noop", parameters: { type: "object", properties: {} } } },
      ],
      stream: true,
    },
  },
  {
    name: "tool_choice none drops the tools",
    req: base({ tools: [{ name: "f", parameters: { type: "object" } }], toolChoice: { type: "none" } }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], stream: true },
  },
  {
    name: "json mode → format json; text format → nothing",
    req: base({ responseFormat: { type: "json" } }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], format: "json", stream: true },
  },
  {
    name: "json schema → format is the schema",
    req: base({ responseFormat: { type: "json", name: "x", strict: true, schema: { type: "object", properties: { a: { type: "number" } } } } }),
    body: {
      model: "llama3.2:latest",
      messages: [{ role: "user", content: "Hi" }],
      format: { type: "object", properties: { a: { type: "number" } } },
      stream: true,
    },
  },
  {
    name: "sampling options; user and includeUsage are not sent",
    req: base({
      temperature: 0.2,
      topP: 0.9,
      topK: 40,
      maxTokens: 256,
      stop: ["</end>"],
      seed: 42,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      user: "u1",
      includeUsage: true,
      responseFormat: { type: "text" },
    }),
    body: {
      model: "llama3.2:latest",
      messages: [{ role: "user", content: "Hi" }],
      options: {
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        num_predict: 256,
        stop: ["</end>"],
        seed: 42,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
      },
      stream: true,
    },
  },
  {
    name: "reasoning → think",
    req: base({ reasoning: { enabled: true, effort: "high" } }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], think: "high", stream: true },
  },
  {
    name: "reasoning off → think:false",
    req: base({ reasoning: { enabled: false } }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], think: false, stream: true },
  },
  {
    name: "ollama passthrough: options merged (canonical wins), top-level fields kept",
    req: base({
      temperature: 0.3,
      passthrough: { protocol: "ollama", fields: { options: { num_ctx: 8192, temperature: 0.9, min_p: 0.05 }, keep_alive: "5m", truncate: false } },
    }),
    body: {
      model: "llama3.2:latest",
      messages: [{ role: "user", content: "Hi" }],
      options: { num_ctx: 8192, temperature: 0.3, min_p: 0.05 },
      keep_alive: "5m",
      truncate: false,
      stream: true,
    },
  },
  {
    name: "passthrough from another protocol is ignored",
    req: base({ passthrough: { protocol: "openai", fields: { logit_bias: { "1": 2 }, keep_alive: "5m" } } }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], stream: true },
  },
  {
    name: "passthrough cannot override model, messages or stream",
    req: base({ stream: false, passthrough: { protocol: "ollama", fields: { model: "other", stream: true, messages: [] } } }),
    body: { model: "llama3.2:latest", messages: [{ role: "user", content: "Hi" }], stream: false },
  },
];

describe("encodeOllamaChat", () => {
  const downloaded = new Map([["https://example.com/cat.jpg", "/9j/4AAQ"]]);
  for (const c of cases)
    test(c.name, () => {
      const body = encodeOllamaChat(c.req, "llama3.2:latest", downloaded);
      expect(body).toEqual(c.body);
      // Exact: no keys with undefined values that JSON would silently drop.
      expect(JSON.parse(JSON.stringify(body))).toEqual(body);
    });

  test("document parts are refused with a clear lmrelay error", () => {
    const req = base({
      messages: [{ role: "user", content: [{ type: "document", mediaType: "application/pdf", data: "JVBERi0=" }] }],
    });
    let err: unknown;
    try {
      encodeOllamaChat(req, "llama3.2");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).kind).toBe("invalid_request");
    expect((err as GatewayError).message).toStartWith("lmrelay: ");
  });

  test("a tool call in the history whose arguments are not a JSON object: 400 naming the tool, never {}", () => {
    const req = base({ messages: [{ role: "assistant", content: [{ type: "tool_call", id: "c", name: "lookup", arguments: "[1]" }] }] });
    let err: unknown;
    try {
      encodeOllamaChat(req, "llama3.2");
    } catch (e) {
      err = e;
    }
    expect((err as GatewayError).status).toBe(400);
    expect((err as GatewayError).message).toBe(`lmrelay: tool call "lookup" in the conversation has arguments that are not a JSON object (Ollama's tool_calls arguments must be an object): "[1]"`);
  });

  test("an image URL that was not downloaded is a bug, not a silent drop", () => {
    const req = base({ messages: [{ role: "user", content: [{ type: "image", source: { kind: "url", url: "https://x.test/a.png" } }] }] });
    expect(() => encodeOllamaChat(req, "llama3.2")).toThrow(/not downloaded/);
  });
});

describe("collectImageUrls", () => {
  test("finds URLs in messages and tool results, each once", () => {
    const req = base({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { kind: "url", url: "https://a.test/1.png" } },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAAA" } },
            { type: "tool_result", toolCallId: "t", content: [{ type: "image", source: { kind: "url", url: "https://a.test/2.png" } }] },
          ],
        },
        { role: "user", content: [{ type: "image", source: { kind: "url", url: "https://a.test/1.png" } }] },
      ],
    });
    expect(collectImageUrls(req)).toEqual(["https://a.test/1.png", "https://a.test/2.png"]);
    expect(collectImageUrls(base())).toEqual([]);
  });
});

describe("thinkFor", () => {
  test.each([
    [undefined, undefined],
    [{ enabled: false }, false],
    [{ enabled: true }, true],
    [{ enabled: true, budgetTokens: 2048 }, true],
    [{ enabled: true, effort: "minimal" }, "low"],
    [{ enabled: true, effort: "low" }, "low"],
    [{ enabled: true, effort: "medium" }, "medium"],
    [{ enabled: true, effort: "high" }, "high"],
    [{ enabled: true, effort: "max" }, "high"],
  ] as const)("%j → %j", (reasoning, think) => {
    expect(thinkFor(reasoning as never)).toEqual(think as never);
  });
});
