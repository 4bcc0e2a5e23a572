import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import type { ChatRequest } from "../../src/core/types";
import { encodeCohereChat } from "../../src/upstream/cohere/encode";
import { cohereWire, wireProblems } from "./cohere-schemas";

// Canonical request → exact `/v2/chat` body. Every body must also pass the official SDK's request
// schema with unknown keys forbidden (`stream` is added by the SDK outside its schema).

const base = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "co/command-a",
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  stream: false,
  ...over,
});

const weather = { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } } } };
const time = { name: "get_time", parameters: { type: "object", properties: {} } };

function encode(req: ChatRequest): Record<string, any> {
  const body = encodeCohereChat(req, "command-a-03-2025", "co");
  const { stream: _stream, ...rest } = body;
  expect(wireProblems(cohereWire.V2ChatRequest!, rest, true)).toEqual([]);
  return body;
}

const cases: { name: string; req: ChatRequest; expected: Record<string, unknown> }[] = [
  {
    name: "minimal user turn: one text part is a plain string",
    req: base(),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], stream: false },
  },
  {
    name: "system parts become one leading system message",
    req: base({ system: [{ type: "text", text: "Be terse." }, { type: "text", text: "" }, { type: "text", text: "Answer in French." }], stream: true }),
    expected: {
      model: "command-a-03-2025",
      messages: [
        { role: "system", content: "Be terse.\n\nAnswer in French." },
        { role: "user", content: "hi" },
      ],
      stream: true,
    },
  },
  {
    name: "several text parts and images (base64 → data URI, url kept, detail kept when Cohere knows it)",
    req: base({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" }, detail: "high" },
            { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" }, detail: "original" },
            { type: "text", text: "" },
          ],
        },
      ],
    }),
    expected: {
      model: "command-a-03-2025",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR", detail: "high" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          ],
        },
      ],
      stream: false,
    },
  },
  {
    name: "text documents are read as text",
    req: base({
      messages: [{ role: "user", content: [{ type: "document", mediaType: "text/plain", data: Buffer.from("notes: ok").toString("base64") }] }],
    }),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "notes: ok" }], stream: false },
  },
  {
    name: "tool round trip: assistant text → tool_plan, tool results → tool messages before the user's text",
    req: base({
      tools: [weather],
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather in Paris and Oslo?" }] },
        {
          role: "assistant",
          content: [
            { type: "text", text: "I will call get_weather." },
            { type: "tool_call", id: "get_weather_1", name: "get_weather", arguments: '{"city":"Paris"}' },
            { type: "tool_call", id: "get_weather_2", name: "get_weather", arguments: "" },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", toolCallId: "get_weather_1", content: [{ type: "text", text: '{"temp_c":18}' }] },
            { type: "tool_result", toolCallId: "get_weather_2", content: [{ type: "text", text: "city missing" }], isError: true },
            { type: "text", text: "Thanks" },
          ],
        },
      ],
    }),
    expected: {
      model: "command-a-03-2025",
      messages: [
        { role: "user", content: "Weather in Paris and Oslo?" },
        {
          role: "assistant",
          tool_calls: [
            { id: "get_weather_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "get_weather_2", type: "function", function: { name: "get_weather", arguments: "{}" } },
          ],
          tool_plan: "I will call get_weather.",
        },
        { role: "tool", tool_call_id: "get_weather_1", content: '{"temp_c":18}' },
        { role: "tool", tool_call_id: "get_weather_2", content: "Error: city missing" },
        { role: "user", content: "Thanks" },
      ],
      stream: false,
      tools: [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters: weather.parameters } }],
    },
  },
  {
    name: "tool results: empty → \"{}\", images move to a following user message",
    req: base({
      messages: [
        { role: "assistant", content: [{ type: "tool_call", id: "c1", name: "shot", arguments: "{}" }] },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              toolCallId: "c1",
              content: [{ type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "AAA" } }],
            },
          ],
        },
      ],
    }),
    expected: {
      model: "command-a-03-2025",
      messages: [
        { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "shot", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "{}" },
        { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/jpeg;base64,AAA" } }] },
      ],
      stream: false,
    },
  },
  {
    name: "assistant text turns; empty turns and thinking (without reasoning) are dropped",
    req: base({
      messages: [
        { role: "user", content: [{ type: "text", text: "a" }] },
        { role: "assistant", content: [{ type: "thinking", text: "hmm", signature: "sig" }, { type: "text", text: "b" }] },
        { role: "assistant", content: [{ type: "text", text: "" }] },
        { role: "user", content: [{ type: "text", text: "c" }] },
      ],
    }),
    expected: {
      model: "command-a-03-2025",
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
        { role: "user", content: "c" },
      ],
      stream: false,
    },
  },
  {
    name: "reasoning on: thinking echoed as content items, budget sent",
    req: base({
      reasoning: { enabled: true, budgetTokens: 3000 },
      messages: [
        { role: "user", content: [{ type: "text", text: "a" }] },
        { role: "assistant", content: [{ type: "thinking", text: "hmm" }, { type: "thinking", text: "", redacted: "xx" }, { type: "text", text: "b" }] },
        { role: "user", content: [{ type: "text", text: "c" }] },
      ],
    }),
    expected: {
      model: "command-a-03-2025",
      messages: [
        { role: "user", content: "a" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm" },
            { type: "text", text: "b" },
          ],
        },
        { role: "user", content: "c" },
      ],
      stream: false,
      thinking: { type: "enabled", token_budget: 3000 },
    },
  },
  {
    name: "reasoning effort → budget; off → disabled",
    req: base({ reasoning: { enabled: true, effort: "low" } }),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], stream: false, thinking: { type: "enabled", token_budget: 1024 } },
  },
  {
    name: "reasoning max effort leaves the budget to the model",
    req: base({ reasoning: { enabled: true, effort: "max" } }),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], stream: false, thinking: { type: "enabled" } },
  },
  {
    name: "reasoning disabled",
    req: base({ reasoning: { enabled: false } }),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], stream: false, thinking: { type: "disabled" } },
  },
  {
    name: "sampling parameters, clamped to Cohere's ranges; user is dropped",
    req: base({
      maxTokens: 512,
      temperature: 0.7,
      topP: 1,
      topK: 900,
      stop: ["END", "STOP"],
      seed: 42,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
      user: "u-1",
    }),
    expected: {
      model: "command-a-03-2025",
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      max_tokens: 512,
      temperature: 0.7,
      p: 0.99,
      k: 500,
      stop_sequences: ["END", "STOP"],
      seed: 42,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
    },
  },
  {
    name: "json mode without a schema",
    req: base({ responseFormat: { type: "json" } }),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], stream: false, response_format: { type: "json_object" } },
  },
  {
    name: "json schema",
    req: base({ responseFormat: { type: "json", name: "person", schema: { type: "object", properties: { name: { type: "string" } } } } }),
    expected: {
      model: "command-a-03-2025",
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      response_format: { type: "json_object", json_schema: { type: "object", properties: { name: { type: "string" } } } },
    },
  },
  {
    name: "text response format sends nothing",
    req: base({ responseFormat: { type: "text" } }),
    expected: { model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }], stream: false },
  },
];

describe("encodeCohereChat", () => {
  for (const c of cases) test(c.name, () => expect(encode(c.req)).toEqual(c.expected));

  const toolsBody = (toolChoice: ChatRequest["toolChoice"]) => encode(base({ tools: [weather, time], toolChoice }));
  test("tool_choice auto → omitted", () => {
    const body = toolsBody({ type: "auto" });
    expect(body.tool_choice).toBeUndefined();
    expect(body.tools.map((t: any) => t.function.name)).toEqual(["get_weather", "get_time"]);
  });
  test("tool_choice required → REQUIRED", () => expect(toolsBody({ type: "required" }).tool_choice).toBe("REQUIRED"));
  test("tool_choice none → NONE (tools still described)", () => {
    const body = toolsBody({ type: "none" });
    expect(body.tool_choice).toBe("NONE");
    expect(body.tools).toHaveLength(2);
  });
  test("a specific tool → REQUIRED with only that tool", () => {
    const body = toolsBody({ type: "tool", name: "get_time" });
    expect(body.tool_choice).toBe("REQUIRED");
    expect(body.tools).toEqual([{ type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } }]);
  });
  test("tool_choice without tools sends neither", () => {
    const body = encode(base({ toolChoice: { type: "required" } }));
    expect(body.tools).toBeUndefined();
    expect(body.tool_choice).toBeUndefined();
  });
  test("a specific tool that is not offered is a clear lmrelay error", () => {
    const err = (() => {
      try {
        encodeCohereChat(base({ tools: [weather], toolChoice: { type: "tool", name: "nope" } }), "m", "co");
      } catch (e) {
        return e;
      }
    })() as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("invalid_request");
    expect(err.param).toBe("tool_choice");
    expect(err.message).toStartWith("lmrelay: ");
  });
  test("a PDF is refused with a clear lmrelay error naming the provider", () => {
    const req = base({ messages: [{ role: "user", content: [{ type: "document", mediaType: "application/pdf", data: "JVBER" }] }] });
    expect(() => encodeCohereChat(req, "m", "co")).toThrow(/^lmrelay: co \(cohere\) cannot take application\/pdf documents/);
  });
});
