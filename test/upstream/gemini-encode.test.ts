import { describe, expect, test } from "bun:test";
import type { ChatRequest } from "../../src/core/types";
import { encodeGeminiRequest, imageUrlsToInline, SKIP_SIGNATURE } from "../../src/upstream/gemini/encode";
import { FunctionNames, geminiFunctionName } from "../../src/upstream/gemini/names";
import { SignatureCache } from "../../src/upstream/gemini/signatures";
import { validateGenerateContent } from "../fakes/gemini-validate";

// Canonical request → exact generateContent JSON. Every body is also run through the fake's copy
// of Gemini's request checks, so an encoding the real API would refuse fails here.

const base = (over: Partial<ChatRequest>): ChatRequest => ({ model: "m", system: [], messages: [], stream: false, ...over });

function encode(req: ChatRequest, model = "gemini-2.5-flash") {
  const out = encodeGeminiRequest(req);
  expect(validateGenerateContent(JSON.parse(JSON.stringify(out.body)), model)).toBeUndefined();
  return out;
}

describe("encodeGeminiRequest", () => {
  const table: { name: string; req: ChatRequest; body: Record<string, unknown> }[] = [
    {
      name: "system text parts → systemInstruction; user text",
      req: base({ system: [{ type: "text", text: "Be terse." }, { type: "text", text: "Answer in French." }], messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] }),
      body: {
        systemInstruction: { parts: [{ text: "Be terse." }, { text: "Answer in French." }] },
        contents: [{ role: "user", parts: [{ text: "Hi" }] }],
      },
    },
    {
      name: "consecutive same-role turns merge; empty texts and thinking are dropped",
      req: base({
        messages: [
          { role: "user", content: [{ type: "text", text: "a" }] },
          { role: "user", content: [{ type: "text", text: "b" }, { type: "text", text: "" }] },
          { role: "assistant", content: [{ type: "thinking", text: "hmm", signature: "sig" }, { type: "text", text: "c" }] },
          { role: "assistant", content: [{ type: "text", text: "d" }] },
          { role: "assistant", content: [{ type: "thinking", text: "only thoughts" }] },
          { role: "user", content: [{ type: "text", text: "e" }] },
        ],
      }),
      body: {
        contents: [
          { role: "user", parts: [{ text: "a" }, { text: "b" }] },
          { role: "model", parts: [{ text: "c" }, { text: "d" }] },
          { role: "user", parts: [{ text: "e" }] },
        ],
      },
    },
    {
      name: "images and documents → inlineData; Files API URIs → fileData",
      req: base({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "look" },
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" } },
              { type: "document", mediaType: "application/pdf", data: "JVBER" },
              { type: "image", source: { kind: "url", url: "https://generativelanguage.googleapis.com/v1beta/files/abc123" } },
            ],
          },
        ],
      }),
      body: {
        contents: [
          {
            role: "user",
            parts: [
              { text: "look" },
              { inlineData: { mimeType: "image/png", data: "iVBOR" } },
              { inlineData: { mimeType: "application/pdf", data: "JVBER" } },
              { fileData: { fileUri: "https://generativelanguage.googleapis.com/v1beta/files/abc123" } },
            ],
          },
        ],
      },
    },
    {
      name: "tool calls with signature, results named from history, JSON and text results, errors",
      req: base({
        messages: [
          { role: "user", content: [{ type: "text", text: "weather?" }] },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Checking." },
              { type: "tool_call", id: "c1", name: "get_weather", arguments: '{"city":"Paris"}', signature: "SIG1" },
              { type: "tool_call", id: "c2", name: "get_time", arguments: "" },
              { type: "tool_call", id: "c3", name: "lookup", arguments: '{"q":"x"}' },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", toolCallId: "c1", content: [{ type: "text", text: '{"temp_c":18}' }] },
              { type: "tool_result", toolCallId: "c2", content: [{ type: "text", text: "12:00" }] },
              { type: "tool_result", toolCallId: "c3", name: "lookup", content: [{ type: "text", text: "boom" }], isError: true },
              { type: "text", text: "thanks" },
            ],
          },
        ],
      }),
      body: {
        contents: [
          { role: "user", parts: [{ text: "weather?" }] },
          {
            role: "model",
            parts: [
              { text: "Checking." },
              { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "c1" }, thoughtSignature: "SIG1" },
              { functionCall: { name: "get_time", args: {}, id: "c2" } },
              { functionCall: { name: "lookup", args: { q: "x" }, id: "c3" } },
            ],
          },
          {
            role: "user",
            parts: [
              { functionResponse: { name: "get_weather", response: { temp_c: 18 }, id: "c1" } },
              { functionResponse: { name: "get_time", response: { output: "12:00" }, id: "c2" } },
              { functionResponse: { name: "lookup", response: { error: "boom" }, id: "c3" } },
              { text: "thanks" },
            ],
          },
        ],
      },
    },
    {
      name: "tool calls from another model get the documented skip signature on the first call only",
      req: base({
        messages: [
          { role: "user", content: [{ type: "text", text: "go" }] },
          {
            role: "assistant",
            content: [
              { type: "tool_call", id: "toolu_1", name: "a", arguments: "{}" },
              { type: "tool_call", id: "toolu_2", name: "b", arguments: "{}" },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", toolCallId: "toolu_1", content: [{ type: "text", text: "[1,2]" }] },
              { type: "tool_result", toolCallId: "toolu_2", content: [{ type: "text", text: "x" }, { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "/9j/" } }] },
            ],
          },
        ],
      }),
      body: {
        contents: [
          { role: "user", parts: [{ text: "go" }] },
          {
            role: "model",
            parts: [
              { functionCall: { name: "a", args: {}, id: "toolu_1" }, thoughtSignature: SKIP_SIGNATURE },
              { functionCall: { name: "b", args: {}, id: "toolu_2" } },
            ],
          },
          {
            role: "user",
            parts: [
              { functionResponse: { name: "a", response: { output: "[1,2]" }, id: "toolu_1" } },
              { functionResponse: { name: "b", response: { output: "x" }, id: "toolu_2" } },
              { inlineData: { mimeType: "image/jpeg", data: "/9j/" } },
            ],
          },
        ],
      },
    },
    {
      name: "generation parameters, JSON mode with schema, thinking from effort",
      req: base({
        messages: [{ role: "user", content: [{ type: "text", text: "q" }] }],
        maxTokens: 100,
        temperature: 0.5,
        topP: 0.9,
        topK: 40,
        stop: ["END"],
        seed: 7,
        presencePenalty: 0.1,
        frequencyPenalty: 0.2,
        responseFormat: { type: "json", schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false } },
        reasoning: { enabled: true, effort: "low" },
        user: "u-1",
      }),
      body: {
        contents: [{ role: "user", parts: [{ text: "q" }] }],
        generationConfig: {
          maxOutputTokens: 100,
          temperature: 0.5,
          topP: 0.9,
          topK: 40,
          stopSequences: ["END"],
          seed: 7,
          presencePenalty: 0.1,
          frequencyPenalty: 0.2,
          responseMimeType: "application/json",
          responseSchema: { type: "OBJECT", properties: { a: { type: "STRING" } }, required: ["a"] },
          thinkingConfig: { thinkingBudget: 2048, includeThoughts: true },
        },
      },
    },
    {
      name: "JSON mode without a usable schema; budget thinking; thinking explicitly off sends nothing",
      req: base({
        messages: [{ role: "user", content: [{ type: "text", text: "q" }] }],
        responseFormat: { type: "json", schema: { type: "object" } },
        reasoning: { enabled: true, budgetTokens: 2000 },
      }),
      body: {
        contents: [{ role: "user", parts: [{ text: "q" }] }],
        generationConfig: { responseMimeType: "application/json", thinkingConfig: { thinkingBudget: 2000, includeThoughts: true } },
      },
    },
    {
      name: "thinking off, text format: no generationConfig at all",
      req: base({ messages: [{ role: "user", content: [{ type: "text", text: "q" }] }], reasoning: { enabled: false }, responseFormat: { type: "text" } }),
      body: { contents: [{ role: "user", parts: [{ text: "q" }] }] },
    },
  ];

  for (const row of table) {
    test(row.name, () => {
      expect(encode(row.req).body as unknown).toEqual(row.body);
    });
  }

  test("tools → one functionDeclarations entry; tool_choice modes", () => {
    const tools = [
      { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
      { name: "now", parameters: { type: "object", properties: {} } },
    ];
    const msg = [{ role: "user" as const, content: [{ type: "text" as const, text: "q" }] }];
    const body = encode(base({ messages: msg, tools })).body;
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          { name: "get_weather", description: "Weather", parameters: { type: "OBJECT", properties: { city: { type: "STRING" } }, required: ["city"] } },
          { name: "now" },
        ],
      },
    ]);
    expect(body.toolConfig).toBeUndefined();
    const mode = (toolChoice: ChatRequest["toolChoice"]) => encode(base({ messages: msg, tools, toolChoice })).body.toolConfig;
    expect(mode({ type: "auto" })).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(mode({ type: "none" })).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(mode({ type: "required" })).toEqual({ functionCallingConfig: { mode: "ANY" } });
    expect(mode({ type: "tool", name: "get_weather" })).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
    // tool_choice without tools says nothing Gemini could use.
    expect(encode(base({ messages: msg, toolChoice: { type: "required" } })).body.toolConfig).toBeUndefined();
  });

  test("names Gemini refuses are rewritten everywhere and mapped back", () => {
    const long = `mcp__server__${"x".repeat(70)}`;
    const req = base({
      tools: [
        { name: "fs.read", parameters: { type: "object", properties: { p: { type: "string" } } } },
        { name: long, parameters: { type: "object", properties: { q: { type: "string" } } } },
      ],
      toolChoice: { type: "tool", name: "fs.read" },
      messages: [
        { role: "user", content: [{ type: "text", text: "q" }] },
        { role: "assistant", content: [{ type: "tool_call", id: "c1", name: "fs.read", arguments: '{"p":"/"}' }] },
        { role: "user", content: [{ type: "tool_result", toolCallId: "c1", content: [{ type: "text", text: "ok" }] }] },
      ],
    });
    const { body, names } = encode(req);
    const wire = geminiFunctionName("fs.read");
    expect(wire).toMatch(/^fs_read_[0-9a-f]{8}$/);
    const longWire = geminiFunctionName(long);
    expect(longWire.length).toBeLessThanOrEqual(64);
    expect(body.tools![0]!.functionDeclarations.map((d) => d.name)).toEqual([wire, longWire]);
    expect(body.toolConfig!.functionCallingConfig.allowedFunctionNames).toEqual([wire]);
    expect(body.contents[1]!.parts[0]!.functionCall!.name).toBe(wire);
    expect(body.contents[2]!.parts[0]!.functionResponse!.name).toBe(wire);
    expect(names.fromWire(wire)).toBe("fs.read");
    expect(names.fromWire(longWire)).toBe(long);
    expect(names.fromWire("get_weather")).toBe("get_weather");
    // Deterministic, and distinct names stay distinct.
    expect(geminiFunctionName("fs.read")).toBe(wire);
    expect(geminiFunctionName("fs read")).not.toBe(wire);
    expect(geminiFunctionName("9lives")).toMatch(/^_9lives_[0-9a-f]{8}$/);
    expect(new FunctionNames().toWire("ok_name-1")).toBe("ok_name-1");
  });

  test("calls that come back without a signature get the one Gemini gave them", () => {
    const req = base({
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        { role: "assistant", content: [{ type: "tool_call", id: "fc-1", name: "a", arguments: "{}" }] },
        { role: "user", content: [{ type: "tool_result", toolCallId: "fc-1", content: [{ type: "text", text: "ok" }] }] },
      ],
    });
    const cache = new SignatureCache();
    cache.remember("fc-1", "REMEMBERED");
    const body = encodeGeminiRequest(req, { signatureFor: (id) => cache.recall(id) }).body;
    expect(body.contents[1]!.parts[0]!.thoughtSignature).toBe("REMEMBERED");
    expect(encodeGeminiRequest(req).body.contents[1]!.parts[0]!.thoughtSignature).toBe(SKIP_SIGNATURE);
  });

  test("the signature cache is bounded, oldest first", () => {
    const cache = new SignatureCache(3);
    for (const id of ["a", "b", "c"]) cache.remember(id, `sig-${id}`);
    cache.remember("a", "sig-a2"); // refreshed: now the newest
    cache.remember("d", "sig-d");
    expect(cache.size).toBe(3);
    expect(cache.recall("b")).toBeUndefined();
    expect([cache.recall("a"), cache.recall("c"), cache.recall("d")]).toEqual(["sig-a2", "sig-c", "sig-d"]);
  });

  test("a tool result that answers no call is the client's error", () => {
    const req = base({ messages: [{ role: "user", content: [{ type: "tool_result", toolCallId: "nope", content: [] }] }] });
    expect(() => encodeGeminiRequest(req)).toThrow(/lmrelay: tool result "nope" answers no earlier tool call/);
  });

  test("URL images are listed for download and inlined from what was downloaded", () => {
    const req = base({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { kind: "url", url: "https://example.com/cat.png" } },
            { type: "image", source: { kind: "url", url: "https://generativelanguage.googleapis.com/v1beta/files/f1" } },
            { type: "tool_result", toolCallId: "x", name: "f", content: [{ type: "image", source: { kind: "url", url: "https://example.com/dog.jpg" } }] },
          ],
        },
      ],
    });
    expect(imageUrlsToInline(req)).toEqual(["https://example.com/cat.png", "https://example.com/dog.jpg"]);
    const inlined = new Map([
      ["https://example.com/cat.png", { mediaType: "image/png", data: "CAT" }],
      ["https://example.com/dog.jpg", { mediaType: "image/jpeg", data: "DOG" }],
    ]);
    const parts = encodeGeminiRequest(req, { inlined }).body.contents[0]!.parts;
    // The function response leads the turn, its image right after it; the user's own images follow.
    expect(parts[0]!.functionResponse).toMatchObject({ id: "x", name: "f" });
    expect(parts[1]).toEqual({ inlineData: { mimeType: "image/jpeg", data: "DOG" } });
    expect(parts[2]).toEqual({ inlineData: { mimeType: "image/png", data: "CAT" } });
    expect(() => encodeGeminiRequest(req)).toThrow(/not downloaded/);
  });
});

describe("calls the client left unanswered", () => {
  test("get a stub error response so Gemini accepts the history", () => {
    const { body } = encode(
      base({
        messages: [
          { role: "user", content: [{ type: "text", text: "weather and time?" }] },
          {
            role: "assistant",
            content: [
              { type: "tool_call", id: "c1", name: "weather", arguments: "{}" },
              { type: "tool_call", id: "c2", name: "time", arguments: "{}" },
            ],
          },
          { role: "user", content: [{ type: "tool_result", toolCallId: "c1", content: [{ type: "text", text: "sunny" }] }, { type: "text", text: "go on" }] },
        ],
      }),
    );
    const answer = body.contents[2]!;
    expect(answer.role).toBe("user");
    expect(answer.parts.map((p) => p.functionResponse?.id ?? p.text)).toEqual(["c2", "c1", "go on"]);
    expect(answer.parts[0]!.functionResponse).toEqual({ name: "time", response: { error: "no result was provided for this call" }, id: "c2" });
  });
});

test("a tool call in the history whose arguments are not a JSON object: 400 naming the tool, never args {}", () => {
  const req = base({ messages: [{ role: "assistant", content: [{ type: "tool_call", id: "c", name: "lookup", arguments: "{not json" }] }] });
  expect(() => encodeGeminiRequest(req)).toThrow(
    `lmrelay: tool call "lookup" in the conversation has arguments that are not a JSON object (Gemini's functionCall args must be an object): "{not json"`,
  );
});
