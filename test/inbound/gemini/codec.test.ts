import { describe, expect, test } from "bun:test";
import { fromGeminiSchema } from "../../../src/core/gemini-schema";
import { lmrelayError } from "../../../src/core/errors";
import type { StreamEvent } from "../../../src/core/types";
import { decodeGenerateContent } from "../../../src/inbound/gemini/decode";
import { encodeGenerateContent } from "../../../src/inbound/gemini/encode";
import { geminiErrorResponse } from "../../../src/inbound/gemini/errors";
import { parseModelPath } from "../../../src/inbound/gemini/index";
import { GeminiStreamEncoder } from "../../../src/inbound/gemini/stream";

// The Gemini inbound codec as pure functions: wire JSON in, canonical out, and back.

const user = (text: string) => ({ role: "user", parts: [{ text }] });

describe("decodeGenerateContent", () => {
  test("Gemini CLI's request: system instruction, parametersJsonSchema tools, sampling and thinking", () => {
    const schema = { type: "object", properties: { file_path: { type: "string", minimum: 1 } }, required: ["file_path"] };
    const { req, includeThoughts } = decodeGenerateContent(
      {
        contents: [user("read it")],
        systemInstruction: { parts: [{ text: "You are a CLI agent." }] },
        tools: [{ functionDeclarations: [{ name: "read_file", description: "Reads a file", parametersJsonSchema: schema }] }],
        generationConfig: { temperature: 1, topP: 0.95, topK: 64, thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } },
        safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      },
      "gem/gemini-2.5-flash",
      true,
    );
    expect(includeThoughts).toBe(true);
    expect(req).toMatchObject({
      model: "gem/gemini-2.5-flash",
      stream: true,
      system: [{ type: "text", text: "You are a CLI agent." }],
      messages: [{ role: "user", content: [{ type: "text", text: "read it" }] }],
      tools: [{ name: "read_file", description: "Reads a file", parameters: schema }],
      temperature: 1,
      topP: 0.95,
      topK: 64,
      reasoning: { enabled: true, budgetTokens: 8192 },
      passthrough: { protocol: "gemini", fields: { safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }] } },
    });
  });

  test("a function-call round trip: ids synthesized when absent, responses paired by name in order, signatures kept", () => {
    const { req } = decodeGenerateContent(
      {
        contents: [
          user("weather and time?"),
          {
            role: "model",
            parts: [
              { text: "thinking…", thought: true },
              { functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "c2ln" },
              { functionCall: { name: "weather", args: { city: "Rome" } } },
            ],
          },
          {
            role: "user",
            parts: [
              { functionResponse: { name: "weather", response: { output: "18C" } } },
              { functionResponse: { name: "weather", response: { error: "no data" } } },
              { text: "thanks" },
            ],
          },
        ],
      },
      "m",
      false,
    );
    const [, model, results] = req.messages;
    expect(model!.content).toEqual([
      { type: "thinking", text: "thinking…" },
      { type: "tool_call", id: "call_gemini_1_1", name: "weather", arguments: '{"city":"Paris"}', signature: "c2ln" },
      { type: "tool_call", id: "call_gemini_1_2", name: "weather", arguments: '{"city":"Rome"}' },
    ]);
    expect(results!.content).toEqual([
      { type: "tool_result", toolCallId: "call_gemini_1_1", name: "weather", content: [{ type: "text", text: "18C" }] },
      { type: "tool_result", toolCallId: "call_gemini_1_2", name: "weather", content: [{ type: "text", text: "no data" }], isError: true },
      { type: "text", text: "thanks" },
    ]);
  });

  test("media: images inline and by URL, PDFs as documents, text files as text", () => {
    const { req } = decodeGenerateContent(
      {
        contents: [
          {
            role: "user",
            parts: [
              { inlineData: { mimeType: "image/png", data: "iVBO" } },
              { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/cat.jpg" } },
              { inlineData: { mimeType: "application/pdf", data: "JVBE" } },
              { inlineData: { mimeType: "text/plain", data: Buffer.from("notes").toString("base64") } },
            ],
          },
        ],
      },
      "m",
      false,
    );
    expect(req.messages[0]!.content).toEqual([
      { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBO" } },
      { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
      { type: "document", mediaType: "application/pdf", data: "JVBE" },
      { type: "text", text: "notes" },
    ]);
  });

  test("toolConfig modes and JSON output", () => {
    const tools = [{ functionDeclarations: [{ name: "a" }, { name: "b" }] }];
    const decode = (fc: object, g: object = {}) => decodeGenerateContent({ contents: [user("x")], tools, toolConfig: { functionCallingConfig: fc }, generationConfig: g }, "m", false).req;
    expect(decode({ mode: "AUTO" }).toolChoice).toEqual({ type: "auto" });
    expect(decode({ mode: "NONE" }).toolChoice).toEqual({ type: "none" });
    expect(decode({ mode: "ANY" }).toolChoice).toEqual({ type: "required" });
    const forced = decode({ mode: "ANY", allowedFunctionNames: ["b"] });
    expect(forced.toolChoice).toEqual({ type: "tool", name: "b" });
    expect(forced.tools!.map((t) => t.name)).toEqual(["b"]);
    expect(decode({}, { responseMimeType: "application/json" }).responseFormat).toEqual({ type: "json" });
    expect(decode({}, { responseMimeType: "application/json", responseJsonSchema: { type: "object" } }).responseFormat).toEqual({ type: "json", schema: { type: "object" } });
    expect(decode({}, { thinkingConfig: { thinkingBudget: 0 } }).reasoning).toEqual({ enabled: false });
    expect(decode({}, { thinkingConfig: { thinkingLevel: "HIGH" } }).reasoning).toEqual({ enabled: true, effort: "high" });
  });

  test("bad input names the field", () => {
    const bad: [object, string][] = [
      [{ contents: [] }, "lmrelay: contents: must hold at least one content"],
      [{ contents: [{ role: "system", parts: [{ text: "x" }] }] }, 'lmrelay: contents.0.role: expected "user" or "model", got "system"'],
      [{ contents: [{ role: "user", parts: [{ functionCall: { name: "f" } }] }] }, "lmrelay: contents.0.parts.0.functionCall: function calls belong in model turns"],
      [{ contents: [user("x")], generationConfig: { candidateCount: 3 } }, "lmrelay: generationConfig.candidateCount: lmrelay answers one candidate; got 3"],
      [{ contents: [user("x")], generationConfig: { responseMimeType: "text/x.enum" } }, 'lmrelay: generationConfig.responseMimeType: expected "text/plain" or "application/json", got "text/x.enum"'],
      [{ contents: [user("x")], tools: [{ functionDeclarations: [{ name: "f", parameters: {}, parametersJsonSchema: {} }] }] }, "lmrelay: tools.0.functionDeclarations.0: parameters and parametersJsonSchema cannot both be set"],
      [{ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "audio/mp3", data: "x" } }] }] }, "lmrelay: contents.0.parts.0.inlineData.mimeType: audio/mp3 is not supported; lmrelay relays images, PDFs and text"],
    ];
    for (const [body, message] of bad) expect(() => decodeGenerateContent(body, "m", false)).toThrow(message);
  });
});

describe("fromGeminiSchema", () => {
  test("upper-case types, nullable, format enum, propertyOrdering and example become plain JSON Schema", () => {
    expect(
      fromGeminiSchema({
        type: "OBJECT",
        propertyOrdering: ["a", "b"],
        properties: {
          a: { type: "STRING", format: "enum", enum: ["x", "y"], nullable: true, example: "x" },
          b: { type: "ARRAY", items: { type: "integer", format: "int64", minimum: 0 } },
          c: { anyOf: [{ type: "STRING" }, { type: "NUMBER" }], nullable: true },
        },
        required: ["a"],
      }),
    ).toEqual({
      type: "object",
      properties: {
        a: { type: ["string", "null"], enum: ["x", "y", null], examples: ["x"] },
        b: { type: "array", items: { type: "integer", format: "int64", minimum: 0 } },
        c: { anyOf: [{ type: "string" }, { type: "number" }, { type: "null" }] },
      },
      required: ["a"],
    });
  });
});

describe("answers", () => {
  const meta = () => ({ model: "gpt-4o", id: "resp-1", includeThoughts: false });

  test("a whole answer: parts, finish reason, usage with thoughts apart", () => {
    const res = encodeGenerateContent(
      {
        id: "",
        model: "",
        content: [
          { type: "thinking", text: "hmm" },
          { type: "text", text: "Let me check." },
          { type: "tool_call", id: "call_1", name: "weather", arguments: '{"city":"Paris"}', signature: "c2ln" },
        ],
        finishReason: "tool_calls",
        usage: { inputTokens: 10, outputTokens: 8, reasoningTokens: 3, cacheReadTokens: 4 },
      },
      meta(),
    );
    expect(res).toEqual({
      candidates: [
        {
          content: { role: "model", parts: [{ text: "Let me check." }, { functionCall: { id: "call_1", name: "weather", args: { city: "Paris" } }, thoughtSignature: "c2ln" }] },
          finishReason: "STOP",
          index: 0,
        },
      ],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 18, cachedContentTokenCount: 4, thoughtsTokenCount: 3 },
      modelVersion: "gpt-4o",
      responseId: "resp-1",
    });
  });

  const events: StreamEvent[] = [
    { type: "start", id: "r9", model: "claude-x", usage: { inputTokens: 5 } },
    { type: "thinking", text: "let me think" },
    { type: "text", text: "On it." },
    { type: "tool_call_start", index: 0, id: "toolu_1", name: "read" },
    { type: "tool_call_delta", index: 0, arguments: '{"pa' },
    { type: "tool_call_delta", index: 0, arguments: 'th":"a"}' },
    { type: "finish", reason: "tool_calls" },
    { type: "usage", usage: { inputTokens: 5, outputTokens: 9 } },
  ];
  const run = (enc: GeminiStreamEncoder, evs: StreamEvent[]) => evs.map((e) => enc.encode(e)).join("") + enc.end();

  test("SSE: exact bytes; a function call goes out whole; thoughts only when asked for", () => {
    const tail = `"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5},"modelVersion":"claude-x","responseId":"r9"}\r\n\r\n`;
    expect(run(new GeminiStreamEncoder(meta(), "sse"), events)).toBe(
      `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"On it."}]},"index":0}],${tail}` +
        `data: {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"toolu_1","name":"read","args":{"path":"a"}}}]},"index":0}],${tail}` +
        `data: {"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9,"totalTokenCount":14},"modelVersion":"claude-x","responseId":"r9"}\r\n\r\n`,
    );
    const withThoughts = run(new GeminiStreamEncoder({ ...meta(), includeThoughts: true }, "sse"), events);
    expect(withThoughts).toStartWith(`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"let me think","thought":true}]},"index":0}]`);
  });

  test("the JSON-array framing parses as an array; an error mid-stream closes it", () => {
    const out = run(new GeminiStreamEncoder(meta(), "array"), events);
    expect(out).toStartWith("[{");
    expect(out).toEndWith("\n]");
    expect((JSON.parse(out) as unknown[]).length).toBe(3);
    const enc = new GeminiStreamEncoder(meta(), "array");
    const broken = enc.encode({ type: "text", text: "hi" }) + enc.error(lmrelayError("upstream_error", "gone"));
    expect(JSON.parse(broken)).toEqual([
      { candidates: [{ content: { role: "model", parts: [{ text: "hi" }] }, index: 0 }], modelVersion: "gpt-4o", responseId: "resp-1" },
      { error: { code: 502, message: "lmrelay: gone", status: "UNAVAILABLE" } },
    ]);
    expect(new GeminiStreamEncoder(meta(), "array").end()).toBe(`[{"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":0,"candidatesTokenCount":0,"totalTokenCount":0},"modelVersion":"gpt-4o","responseId":"resp-1"}\n]`);
  });

  test("errors: Google's status names", async () => {
    const cases: [Parameters<typeof lmrelayError>[0], number, string][] = [
      ["invalid_request", 400, "INVALID_ARGUMENT"],
      ["authentication", 401, "UNAUTHENTICATED"],
      ["permission", 403, "PERMISSION_DENIED"],
      ["not_found", 404, "NOT_FOUND"],
      ["rate_limited", 429, "RESOURCE_EXHAUSTED"],
      ["internal", 500, "INTERNAL"],
      ["unavailable", 503, "UNAVAILABLE"],
    ];
    for (const [kind, code, status] of cases) {
      const res = geminiErrorResponse(lmrelayError(kind, "x", { retryAfterMs: kind === "rate_limited" ? 2500 : undefined }), "req_1");
      expect(res.status).toBe(code);
      const retry = kind === "rate_limited" ? { details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "3s" }] } : {};
      expect(await res.json()).toEqual({ error: { code, message: "lmrelay: x", status, ...retry } });
      if (kind === "rate_limited") expect(res.headers.get("retry-after")).toBe("3");
    }
  });
});

describe("paths", () => {
  test("{model} is everything between models/ and the last colon, slashes and tags included", () => {
    expect(parseModelPath("/v1beta/models/gemini-2.5-flash:generateContent")).toEqual({ model: "gemini-2.5-flash", method: "generateContent" });
    expect(parseModelPath("/gemini/v1/models/openai/gpt-4o:streamGenerateContent")).toEqual({ model: "openai/gpt-4o", method: "streamGenerateContent" });
    expect(parseModelPath("/v1beta/models/local/qwen3:8b:countTokens")).toEqual({ model: "local/qwen3:8b", method: "countTokens" });
    expect(parseModelPath("/v1beta/models/a%2Fb:embedContent")).toEqual({ model: "a/b", method: "embedContent" });
    expect(parseModelPath("/v1beta/models/no-method")).toBeUndefined();
  });
});
