import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/core/errors";
import type { ChatRequest, ToolCallPart, ToolResultPart } from "../../../src/core/types";
import { decodeChatRequest, decodeGenerateRequest } from "../../../src/inbound/ollama/decode";
import { decodeEmbeddingsRequest, decodeEmbedRequest } from "../../../src/inbound/ollama/embed";

const b64 = (bytes: number[] | string, pad = 16) =>
  Buffer.concat([typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes), Buffer.alloc(pad)]).toString("base64");
const PNG = b64([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = b64([0xff, 0xd8, 0xff, 0xe0]);
const GIF = b64("GIF89a");
const WEBP = b64("RIFF\x10\x00\x00\x00WEBPVP8 ");

function chat(body: Record<string, unknown>): ChatRequest {
  const d = decodeChatRequest({ model: "llama3.2", ...body });
  if (d.kind !== "generate") throw new Error(`expected a generation, got ${d.kind}`);
  return d.request;
}

const userHi = { role: "user", content: [{ type: "text", text: "hi" }] };

describe("decodeChatRequest: wire → canonical", () => {
  const cases: { name: string; body: Record<string, unknown>; want: Partial<ChatRequest> }[] = [
    {
      name: "minimal: streams by default",
      body: { messages: [{ role: "user", content: "hi" }] },
      want: { model: "llama3.2", system: [], messages: [userHi] as ChatRequest["messages"], stream: true },
    },
    {
      name: "stream:false, system messages hoisted in order, roles lower-cased",
      body: {
        stream: false,
        messages: [
          { role: "system", content: "one" },
          { role: "User", content: "hi" },
          { role: "SYSTEM", content: "two" },
        ],
      },
      want: { stream: false, system: [{ type: "text", text: "one" }, { type: "text", text: "two" }], messages: [userHi] as ChatRequest["messages"] },
    },
    {
      name: "images (png, jpeg, gif, webp, data URI) come before the text",
      body: { messages: [{ role: "user", content: "what is this?", images: [PNG, JPEG, GIF, WEBP, `data:image/png;base64,${PNG}`] }] },
      want: {
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: PNG } },
              { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: JPEG } },
              { type: "image", source: { kind: "base64", mediaType: "image/gif", data: GIF } },
              { type: "image", source: { kind: "base64", mediaType: "image/webp", data: WEBP } },
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: PNG } },
              { type: "text", text: "what is this?" },
            ],
          },
        ],
      },
    },
    {
      name: "assistant thinking, text and tool calls with given ids; tool_call_id pairs explicitly",
      body: {
        messages: [
          { role: "user", content: "weather?" },
          {
            role: "assistant",
            content: "checking",
            thinking: "hmm",
            tool_calls: [{ id: "call_a", function: { name: "get_weather", arguments: { city: "Paris" } } }],
          },
          { role: "tool", content: "11C", tool_call_id: "call_a" },
        ],
      },
      want: {
        messages: [
          { role: "user", content: [{ type: "text", text: "weather?" }] },
          {
            role: "assistant",
            content: [
              { type: "thinking", text: "hmm" },
              { type: "text", text: "checking" },
              { type: "tool_call", id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
            ],
          },
          { role: "user", content: [{ type: "tool_result", toolCallId: "call_a", name: "get_weather", content: [{ type: "text", text: "11C" }] }] },
        ],
      },
    },
    {
      name: "tools in OpenAI shape; missing parameters get an empty object schema",
      body: {
        messages: [{ role: "user", content: "hi" }],
        tools: [
          { type: "function", function: { name: "f", description: "does f", parameters: { type: "object", properties: { x: { type: "string" } } } } },
          { type: "function", function: { name: "g" } },
        ],
      },
      want: {
        tools: [
          { name: "f", description: "does f", parameters: { type: "object", properties: { x: { type: "string" } } } },
          { name: "g", parameters: { type: "object", properties: {} } },
        ],
      },
    },
    {
      name: "options map onto canonical fields; the rest and keep_alive pass through for Ollama",
      body: {
        messages: [{ role: "user", content: "hi" }],
        options: {
          temperature: 0.2,
          top_p: 0.9,
          top_k: 40.7,
          num_predict: 256,
          stop: ["</end>"],
          seed: 42,
          presence_penalty: 0.1,
          frequency_penalty: 0.3,
          num_ctx: 8192,
          repeat_penalty: 1.1,
          mirostat: null,
        },
        keep_alive: "5m",
      },
      want: {
        temperature: 0.2,
        topP: 0.9,
        topK: 40,
        maxTokens: 256,
        stop: ["</end>"],
        seed: 42,
        presencePenalty: 0.1,
        frequencyPenalty: 0.3,
        passthrough: { protocol: "ollama", fields: { options: { num_ctx: 8192, repeat_penalty: 1.1 }, keep_alive: "5m" } },
      },
    },
    {
      name: "num_predict -1 means no cap; a single stop string is accepted",
      body: { messages: [{ role: "user", content: "hi" }], options: { num_predict: -1, stop: "END" } },
      want: { maxTokens: undefined, stop: ["END"], passthrough: undefined },
    },
    {
      name: 'format "json" and think level',
      body: { messages: [{ role: "user", content: "hi" }], format: "json", think: "high" },
      want: { responseFormat: { type: "json" }, reasoning: { enabled: true, effort: "high" } },
    },
    {
      name: "format schema and think false",
      body: { messages: [{ role: "user", content: "hi" }], format: { type: "object", properties: { a: { type: "number" } } }, think: false },
      want: { responseFormat: { type: "json", schema: { type: "object", properties: { a: { type: "number" } } } }, reasoning: { enabled: false } },
    },
    {
      name: "empty messages are dropped; null content is accepted",
      body: { messages: [{ role: "user", content: "" }, { role: "assistant", content: null }, { role: "user", content: "hi" }] },
      want: { messages: [userHi] as ChatRequest["messages"] },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = chat(c.body);
      for (const [k, v] of Object.entries(c.want)) expect(got[k as keyof ChatRequest]).toEqual(v as never);
    });
  }
});

describe("tool results without ids are paired with the preceding calls", () => {
  const calls = (...names: string[]) => ({
    role: "assistant",
    content: "",
    tool_calls: names.map((name, i) => ({ function: { name, arguments: { i } } })),
  });

  test("in order, ids synthesized, consecutive results in one user turn", () => {
    const req = chat({
      messages: [
        { role: "user", content: "go" },
        calls("a", "b"),
        { role: "tool", content: "A" },
        { role: "tool", content: "B" },
        { role: "user", content: "thanks" },
      ],
    });
    expect(req.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "user"]);
    const [ca, cb] = req.messages[1]!.content as ToolCallPart[];
    expect(ca!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(cb!.id).not.toBe(ca!.id);
    expect(ca!.arguments).toBe('{"i":0}');
    const results = req.messages[2]!.content as ToolResultPart[];
    expect(results.map((r) => [r.toolCallId, r.name, r.content])).toEqual([
      [ca!.id, "a", [{ type: "text", text: "A" }]],
      [cb!.id, "b", [{ type: "text", text: "B" }]],
    ]);
  });

  test("tool_name picks the matching call even out of order", () => {
    const req = chat({
      messages: [
        { role: "user", content: "go" },
        calls("a", "b"),
        { role: "tool", content: "B", tool_name: "b" },
        { role: "tool", content: "A", tool_name: "a" },
      ],
    });
    const [ca, cb] = req.messages[1]!.content as ToolCallPart[];
    const results = req.messages[2]!.content as ToolResultPart[];
    expect(results.map((r) => [r.toolCallId, r.name])).toEqual([
      [cb!.id, "b"],
      [ca!.id, "a"],
    ]);
  });

  test("each assistant turn starts a new set of calls; an orphan result keeps its name and gets an id", () => {
    const req = chat({
      messages: [
        { role: "tool", content: "early", tool_name: "x" },
        { role: "user", content: "go" },
        calls("a"),
        { role: "tool", content: "A" },
        calls("a"),
        { role: "tool", content: "A2", tool_name: "a" },
      ],
    });
    const orphan = req.messages[0]!.content[0] as ToolResultPart;
    expect(orphan.name).toBe("x");
    expect(orphan.toolCallId).toMatch(/^call_/);
    const first = (req.messages[2]!.content[0] as ToolCallPart).id;
    const second = (req.messages[4]!.content[0] as ToolCallPart).id;
    expect((req.messages[3]!.content[0] as ToolResultPart).toolCallId).toBe(first);
    expect((req.messages[5]!.content[0] as ToolResultPart).toolCallId).toBe(second);
  });

  test("tool results may carry images; string arguments are accepted as JSON text", () => {
    const req = chat({
      messages: [
        { role: "user", content: "shot" },
        { role: "assistant", content: "", tool_calls: [{ function: { name: "screenshot", arguments: '{"full":true}' } }] },
        { role: "tool", content: "done", images: [PNG] },
      ],
    });
    expect((req.messages[1]!.content[0] as ToolCallPart).arguments).toBe('{"full":true}');
    expect((req.messages[2]!.content[0] as ToolResultPart).content).toEqual([
      { type: "image", source: { kind: "base64", mediaType: "image/png", data: PNG } },
      { type: "text", text: "done" },
    ]);
  });
});

describe("model load requests", () => {
  test.each([
    ["no messages", {}, false],
    ["empty messages", { messages: [] }, false],
    ["keep_alive 0 unloads", { messages: [], keep_alive: 0 }, true],
    ['keep_alive "0s" unloads', { keep_alive: "0s" }, true],
  ])("chat: %s", (_name, body, unload) => {
    expect(decodeChatRequest({ model: "m", ...body })).toEqual({ kind: "load", model: "m", unload });
  });

  test("generate: empty prompt loads", () => {
    expect(decodeGenerateRequest({ model: "m" })).toEqual({ kind: "load", model: "m", unload: false });
    expect(decodeGenerateRequest({ model: "m", prompt: "", keep_alive: "0" })).toEqual({ kind: "load", model: "m", unload: true });
  });
});

describe("decodeGenerateRequest", () => {
  test("prompt, system, images and options → one legacy user turn", () => {
    const d = decodeGenerateRequest({ model: "m", prompt: "Why?", system: "Be brief.", images: [JPEG], options: { temperature: 0 }, stream: false, think: true });
    expect(d).toEqual({
      kind: "generate",
      request: {
        model: "m",
        system: [{ type: "text", text: "Be brief." }],
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: JPEG } },
              { type: "text", text: "Why?" },
            ],
          },
        ],
        stream: false,
        legacyCompletion: true,
        temperature: 0,
        reasoning: { enabled: true },
      },
    });
  });

  test("streams by default", () => {
    const d = decodeGenerateRequest({ model: "m", prompt: "x" });
    expect(d.kind === "generate" && d.request.stream).toBe(true);
  });
});

describe("bad input → 400 naming the field, lmrelay: prefix", () => {
  const cases: [string, unknown, string][] = [
    ["body not an object", [1, 2], "request body must be a JSON object"],
    ["missing model", { messages: [] }, "model: model is required"],
    ["model not a string", { model: 7 }, "model: expected a string, got a number"],
    ["messages not an array", { model: "m", messages: "hi" }, "messages: expected an array"],
    ["message not an object", { model: "m", messages: ["hi"] }, "messages[0]: expected an object"],
    ["content as parts", { model: "m", messages: [{ role: "user", content: [{ type: "text", text: "x" }] }] }, "messages[0].content: expected a string"],
    ["unknown role", { model: "m", messages: [{ role: "robot", content: "x" }] }, "messages[0].role: expected"],
    ["images not base64 of an image", { model: "m", messages: [{ role: "user", content: "x", images: ["aGVsbG8gd29ybGQ="] }] }, "messages[0].images[0]: not a PNG"],
    ["image not a string", { model: "m", messages: [{ role: "user", content: "x", images: [3] }] }, "messages[0].images[0]: expected a base64 string"],
    ["assistant images", { model: "m", messages: [{ role: "assistant", content: "x", images: [PNG] }] }, "messages[0].images"],
    ["tool call without name", { model: "m", messages: [{ role: "assistant", tool_calls: [{ function: { arguments: {} } }] }] }, "messages[0].tool_calls[0].function.name"],
    ["tool call arguments a number", { model: "m", messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: 3 } }] }] }, "arguments: expected an object"],
    ["tool call arguments bad JSON", { model: "m", messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: "{oops" } }] }] }, "arguments: expected an object"],
    ["stream not a boolean", { model: "m", messages: [{ role: "user", content: "x" }], stream: "yes" }, "stream: expected a boolean"],
    ["options not an object", { model: "m", messages: [{ role: "user", content: "x" }], options: [] }, "options: expected an object"],
    ["temperature a string", { model: "m", messages: [{ role: "user", content: "x" }], options: { temperature: "hot" } }, "options.temperature: expected a number"],
    ["stop of numbers", { model: "m", messages: [{ role: "user", content: "x" }], options: { stop: [1] } }, "options.stop[0]: expected a string"],
    ["bad think", { model: "m", messages: [{ role: "user", content: "x" }], think: "extreme" }, "think: expected"],
    ["bad format", { model: "m", messages: [{ role: "user", content: "x" }], format: "xml" }, "format: expected"],
    ["bad keep_alive", { model: "m", messages: [{ role: "user", content: "x" }], keep_alive: {} }, "keep_alive: expected"],
    ["tools not an array", { model: "m", messages: [{ role: "user", content: "x" }], tools: {} }, "tools: expected an array"],
    ["tool without function", { model: "m", messages: [{ role: "user", content: "x" }], tools: [{ type: "function" }] }, "tools[0].function: expected an object"],
    ["only empty messages", { model: "m", messages: [{ role: "user", content: "" }] }, "messages: no user or assistant message"],
  ];
  for (const [name, body, message] of cases) {
    test(`chat: ${name}`, () => {
      let err: unknown;
      try {
        decodeChatRequest(body);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      const g = err as GatewayError;
      expect(g.status).toBe(400);
      expect(g.message.startsWith("lmrelay: ")).toBe(true);
      expect(g.message).toContain(message);
    });
  }

  test.each([
    ["generate: prompt not a string", () => decodeGenerateRequest({ model: "m", prompt: 1 }), "prompt: expected a string"],
    ["generate: suffix", () => decodeGenerateRequest({ model: "m", prompt: "def f(", suffix: "return x" }), "suffix"],
    ["embed: input of numbers", () => decodeEmbedRequest({ model: "m", input: [1, 2] }), "input[0]: expected a string"],
    ["embed: input object", () => decodeEmbedRequest({ model: "m", input: {} }), "input: expected a string or an array"],
    ["embed: dimensions 0", () => decodeEmbedRequest({ model: "m", input: "x", dimensions: 0 }), "dimensions"],
    ["embed: missing model", () => decodeEmbedRequest({ input: "x" }), "model: model is required"],
    ["embeddings: prompt number", () => decodeEmbeddingsRequest({ model: "m", prompt: 3 }), "prompt: expected a string"],
  ])("%s", (_name, run, message) => {
    expect(run).toThrow(message);
    try {
      run();
    } catch (e) {
      expect((e as GatewayError).status).toBe(400);
      expect((e as GatewayError).message.startsWith("lmrelay: ")).toBe(true);
    }
  });
});

describe("embeddings decoding", () => {
  test("embed: string or array input, truncate, dimensions", () => {
    expect(decodeEmbedRequest({ model: "m", input: "a" })).toEqual({ model: "m", input: ["a"] });
    expect(decodeEmbedRequest({ model: "m", input: ["a", "b"], truncate: false, dimensions: 4 })).toEqual({ model: "m", input: ["a", "b"], truncate: false, dimensions: 4 });
    expect(decodeEmbedRequest({ model: "m" })).toEqual({ model: "m", input: [] });
  });

  test("embeddings (legacy): prompt", () => {
    expect(decodeEmbeddingsRequest({ model: "m", prompt: "a" })).toEqual({ model: "m", input: ["a"] });
    expect(decodeEmbeddingsRequest({ model: "m", prompt: "" })).toEqual({ model: "m", input: [] });
  });
});
