import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FunctionCallingConfigMode, GoogleGenAI, Type } from "@google/genai";
import { FAKE_GEMINI_KEY, FAKE_THOUGHT_SIGNATURE, type GeminiFake, startGeminiFake } from "../fakes/gemini";

// Validates the fake Gemini upstream with Google's official SDK: if @google/genai accepts what
// the fake sends (and the fake accepts what the SDK sends), the fake speaks the real wire format.

let fake: GeminiFake;
let ai: GoogleGenAI;

beforeAll(async () => {
  fake = await startGeminiFake();
  // lmrelay speaks v1beta (this SDK version defaults to v1); the fake serves both.
  ai = new GoogleGenAI({ apiKey: FAKE_GEMINI_KEY, httpOptions: { baseUrl: fake.url, apiVersion: "v1beta" } });
});
afterAll(() => fake.stop());

describe("fake Gemini upstream, checked with @google/genai", () => {
  test("generateContent", async () => {
    fake.reply({ text: "Paris is the capital.", usage: { input: 20, output: 6, cached: 4 } });
    const res = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "What is the capital of France?",
      config: { systemInstruction: "Be terse.", temperature: 0.2, maxOutputTokens: 50 },
    });
    expect(res.text).toBe("Paris is the capital.");
    expect(res.candidates?.[0]?.finishReason).toBe("STOP" as never);
    expect(res.usageMetadata?.promptTokenCount).toBe(20);
    expect(res.usageMetadata?.candidatesTokenCount).toBe(6);
    expect(res.usageMetadata?.cachedContentTokenCount).toBe(4);
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(sent.headers["x-goog-api-key"]).toBe(FAKE_GEMINI_KEY);
    expect(sent.body.systemInstruction.parts[0].text).toBe("Be terse.");
    expect(sent.body.generationConfig).toEqual({ temperature: 0.2, maxOutputTokens: 50 });
  });

  test("generateContentStream: SSE chunks, text deltas, usage on the last", async () => {
    fake.reply({ text: "The sky is blue.", usage: { input: 8, output: 6 } });
    const stream = await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "Why is the sky blue?" });
    const texts: string[] = [];
    let last: any;
    for await (const chunk of stream) {
      if (chunk.text) texts.push(chunk.text);
      last = chunk;
    }
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join("")).toBe("The sky is blue.");
    expect(last.candidates[0].finishReason).toBe("STOP");
    expect(last.usageMetadata).toMatchObject({ promptTokenCount: 8, candidatesTokenCount: 6, totalTokenCount: 14 });
    expect(fake.requests.at(-1)!.url).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  });

  test("streamGenerateContent without alt=sse is one JSON array of responses", async () => {
    fake.reply({ text: "a b" });
    const res = await fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": FAKE_GEMINI_KEY, "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    const chunks = (await res.json()) as any[];
    expect(chunks.map((c: any) => c.candidates[0].content.parts[0].text)).toEqual(["a ", "b"]);
    expect(chunks[1].candidates[0].finishReason).toBe("STOP");
  });

  test("function calling: declarations, calls with ids and signatures, function responses", async () => {
    fake.reply({ toolCalls: [{ id: "call-1", name: "get_weather", arguments: { city: "Paris" } }] });
    const tools = [
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Current weather",
            parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ["city"] },
          },
        ],
      },
    ];
    const res = await ai.models.generateContent({
      model: "gemini-3-pro-preview",
      contents: "Weather in Paris?",
      config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ["get_weather"] } } },
    });
    expect(res.functionCalls).toEqual([{ id: "call-1", name: "get_weather", args: { city: "Paris" } }]);
    const callPart = res.candidates![0]!.content!.parts![0]!;
    expect(callPart.thoughtSignature).toBe(FAKE_THOUGHT_SIGNATURE);

    // Second turn: the SDK sends back the model turn (with its signature) and the function response.
    fake.reply({ text: "It is 18°C in Paris." });
    const second = await ai.models.generateContent({
      model: "gemini-3-pro-preview",
      contents: [
        { role: "user", parts: [{ text: "Weather in Paris?" }] },
        res.candidates![0]!.content!,
        { role: "user", parts: [{ functionResponse: { id: "call-1", name: "get_weather", response: { temp_c: 18 } } }] },
      ],
      config: { tools },
    });
    expect(second.text).toBe("It is 18°C in Paris.");
    expect(fake.requests.at(-1)!.body.contents[1].parts[0].thoughtSignature).toBe(FAKE_THOUGHT_SIGNATURE);
  });

  test("the fake refuses what Gemini refuses: a Gemini 3 function call without a signature", async () => {
    fake.reply({ text: "ok" });
    const err = await ai.models
      .generateContent({
        model: "gemini-3-pro-preview",
        contents: [
          { role: "user", parts: [{ text: "hi" }] },
          { role: "model", parts: [{ functionCall: { name: "f", args: {} } }] },
          { role: "user", parts: [{ functionResponse: { name: "f", response: { output: "x" } } }] },
        ],
      })
      .catch((e) => e);
    expect(String(err.message)).toContain("thought_signature");
    expect(err.status).toBe(400);
  });

  test("thought parts when includeThoughts is set", async () => {
    fake.reply({ text: "42", thinking: "Let me think about it." });
    const res = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "Answer?",
      config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
    });
    const parts = res.candidates![0]!.content!.parts!;
    expect(parts[0]).toEqual({ text: "Let me think about it.", thought: true });
    expect(res.text).toBe("42");
    expect(res.usageMetadata?.thoughtsTokenCount).toBe(5);
  });

  test("embedContent (the SDK uses batchEmbedContents)", async () => {
    const res = await ai.models.embedContent({ model: "gemini-embedding-001", contents: ["hello", "world"], config: { outputDimensionality: 4 } });
    expect(res.embeddings?.length).toBe(2);
    expect(res.embeddings![0]!.values!.length).toBe(4);
    expect(fake.requests.at(-1)!.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
  });

  test("models list, paginated", async () => {
    const pager = await ai.models.list({ config: { pageSize: 2 } });
    const names: string[] = [];
    for await (const m of pager) names.push(m.name!);
    expect(names).toEqual(fake.models.map((m) => `models/${m}`));
  });

  test("a bad key is a 400 API_KEY_INVALID, as the real API answers", async () => {
    const bad = new GoogleGenAI({ apiKey: "AIza-wrong", httpOptions: { baseUrl: fake.url } });
    const err = await bad.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(String(err.message)).toContain("API_KEY_INVALID");
  });
});
