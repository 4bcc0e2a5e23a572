import { type Content, type GenerateContentConfig, type GenerateContentResponse, GoogleGenAI, type Part } from "@google/genai";
import type { CallInput, ChatInput, ClientAnswer, ClientDriver } from "./types";

// The Gemini API driver of the matrix: `@google/genai` pointed at lmrelay with httpOptions.baseUrl,
// as an app would. Tools are declared with `parametersJsonSchema` (what Gemini CLI sends); results
// go back as `functionResponse` parts with `{output}`, consecutive ones in one user turn.

export function geminiDriver(baseUrl: string): ClientDriver {
  const ai = new GoogleGenAI({ apiKey: "matrix", httpOptions: { baseUrl } });

  function contents(input: ChatInput): Content[] {
    const out: Content[] = [];
    for (const t of input.turns) {
      if (t.role === "user") {
        const parts: Part[] = [{ text: t.text }];
        if (t.image?.kind === "base64") parts.push({ inlineData: { mimeType: t.image.mediaType, data: t.image.data } });
        else if (t.image?.kind === "url") parts.push({ fileData: { mimeType: "image/png", fileUri: t.image.url } });
        out.push({ role: "user", parts });
      } else if (t.role === "assistant") {
        const parts: Part[] = [];
        if (t.text) parts.push({ text: t.text });
        for (const c of t.toolCalls ?? []) parts.push({ functionCall: { id: c.id, name: c.name, args: c.args } });
        out.push({ role: "model", parts });
      } else {
        const part: Part = { functionResponse: { id: t.callId, name: t.name, response: { output: t.content } } };
        const last = out.at(-1);
        if (last?.role === "user" && last.parts?.every((p) => p.functionResponse)) last.parts.push(part);
        else out.push({ role: "user", parts: [part] });
      }
    }
    return out;
  }

  function config(input: ChatInput): GenerateContentConfig {
    const c: GenerateContentConfig = { maxOutputTokens: input.maxTokens };
    if (input.system) c.systemInstruction = input.system;
    if (input.tools) c.tools = [{ functionDeclarations: input.tools.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.parameters })) }];
    if (input.stop) c.stopSequences = input.stop;
    if (input.json) {
      c.responseMimeType = "application/json";
      if (input.json.schema) c.responseJsonSchema = input.json.schema;
    }
    return c;
  }

  function fold(responses: GenerateContentResponse[]): ClientAnswer {
    let text = "";
    const toolCalls: CallInput[] = [];
    let finish: string | null = null;
    let usage: ClientAnswer["usage"];
    for (const r of responses) {
      const candidate = r.candidates?.[0];
      for (const p of candidate?.content?.parts ?? []) {
        if (typeof p.text === "string" && !p.thought) text += p.text;
        if (p.functionCall) toolCalls.push({ id: p.functionCall.id, name: p.functionCall.name!, args: p.functionCall.args ?? {} });
      }
      if (candidate?.finishReason) finish = candidate.finishReason;
      const u = r.usageMetadata;
      if (u) usage = { input: u.promptTokenCount ?? 0, output: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0), cacheRead: u.cachedContentTokenCount };
    }
    return { text, toolCalls, finish, usage };
  }

  return {
    name: "gemini",
    reportsCacheReads: true,
    reportsCacheWrites: false,
    // Gemini says STOP for a natural end, a stop sequence and function calls alike.
    finishFor: (r) => (r === "length" ? "MAX_TOKENS" : "STOP"),
    async chat(input, stream) {
      const params = { model: input.model, contents: contents(input), config: config(input) };
      if (!stream) return fold([await ai.models.generateContent(params)]);
      const chunks: GenerateContentResponse[] = [];
      for await (const chunk of await ai.models.generateContentStream(params)) chunks.push(chunk);
      return fold(chunks);
    },
  };
}
