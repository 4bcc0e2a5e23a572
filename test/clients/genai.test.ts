import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ApiError, FinishReason, type GenerateContentResponse, GoogleGenAI, Type } from "@google/genai";
import { desc } from "drizzle-orm";
import { requests } from "../../src/store/schema";
import { startGateway } from "../helpers/gateway";
import { FAKE_THOUGHT_SIGNATURE } from "../fakes/gemini";
import { CLIENT_KEY, type ClientsRig, inferenceRequests, MODELS, startClientsRig } from "./rig";

// `@google/genai` pointed at lmrelay (httpOptions.baseUrl), as an app built on it runs: chat
// sessions, streams, function calling with both schema styles, JSON output, countTokens,
// embeddings and the model list, against every kind of upstream. (The translation matrix runs the
// same SDK through text, images, tools, stop sequences, JSON mode and usage on every wire.)

let rig: ClientsRig;
let ai: GoogleGenAI;

beforeAll(async () => {
  rig = await startClientsRig();
  ai = new GoogleGenAI({ apiKey: CLIENT_KEY, httpOptions: { baseUrl: rig.url } });
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => rig.reset());

type Json = Record<string, any>;

const UPSTREAMS = [
  { name: "openai", model: MODELS.openai, fake: () => rig.openai },
  { name: "anthropic", model: MODELS.anthropic, fake: () => rig.anthropic },
  { name: "gemini", model: MODELS.gemini, fake: () => rig.gemini },
  { name: "ollama", model: MODELS.ollama, fake: () => rig.ollama },
] as const;

/** The conversation of an upstream request, flattened to text for wire-agnostic checks. */
function wireText(body: Json): string {
  return JSON.stringify([body.system, body.systemInstruction, body.messages, body.contents]);
}

function lastAudit() {
  rig.gw.runtime.audit.flush();
  return rig.gw.runtime.db.select().from(requests).orderBy(desc(requests.id)).limit(1).all()[0]!;
}

for (const up of UPSTREAMS)
  describe(`@google/genai → ${up.name} upstream`, () => {
    test("a chat session: system instruction, two turns, history kept by the SDK", async () => {
      up.fake().reply({ text: "Noted." });
      const chat = ai.chats.create({ model: up.model, config: { systemInstruction: "You are terse." } });
      const first = await chat.sendMessage({ message: "My name is Ada." });
      expect(first.text).toBe("Noted.");
      up.fake().reply({ text: "Ada." });
      const second = await chat.sendMessage({ message: "What is my name?" });
      expect(second.text).toBe("Ada.");
      expect(second.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
      expect(second.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
      const sent = inferenceRequests(up.fake()).at(-1)!.body;
      const text = wireText(sent);
      for (const piece of ["You are terse.", "My name is Ada.", "Noted.", "What is my name?"]) expect(text).toContain(piece);
      const row = lastAudit();
      expect(row).toMatchObject({ protocol: "gemini", status: 200, requestedModel: up.model });
      // `@google/genai` 3.x speaks /v1 by default.
      expect(row.endpoint).toBe(`/v1/models/${up.model}:generateContent`);
    });

    test("a stream arrives chunk by chunk: text reaches the client before the upstream's last chunk", async () => {
      // The upstream holds its last chunk until the client has read a first one: a gateway that
      // buffered the answer would never let this finish.
      let release!: () => void;
      const holdLast = new Promise<void>((r) => (release = r));
      up.fake().reply({ text: "one two three four five six", holdLast });
      const seen: string[] = [];
      let firstBeforeLast = false;
      for await (const chunk of await ai.models.generateContentStream({ model: up.model, contents: "count" })) {
        if (!chunk.text) continue;
        if (seen.length === 0) {
          firstBeforeLast = true;
          release();
        }
        seen.push(chunk.text);
      }
      expect(firstBeforeLast).toBe(true);
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.join("")).toBe("one two three four five six");
    }, 10_000);

    test("function calling with OpenAPI-style `parameters`: a round trip", async () => {
      up.fake().reply({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Paris", unit: "C" } }] });
      const tools = [
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "Current weather",
              parameters: {
                type: Type.OBJECT,
                properties: { city: { type: Type.STRING }, unit: { type: Type.STRING, enum: ["C", "F"], format: "enum", nullable: true } },
                required: ["city"],
              },
            },
          ],
        },
      ];
      const contents: Json[] = [{ role: "user", parts: [{ text: "Weather in Paris?" }] }];
      const first = await ai.models.generateContent({ model: up.model, contents, config: { tools } });
      const calls = first.functionCalls ?? [];
      expect(calls.map((c) => [c.name, c.args])).toEqual([["get_weather", { city: "Paris", unit: "C" }]]);
      expect(first.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
      // Every upstream but Gemini got the declaration as JSON Schema (lower-case types, nullable → a null type).
      const sentTools = JSON.stringify(inferenceRequests(up.fake()).at(-1)!.body.tools);
      if (up.name === "gemini") expect(sentTools).toContain('"STRING"');
      else {
        expect(sentTools).toContain('"string"');
        expect(sentTools).not.toContain("STRING");
        expect(sentTools).toContain('"null"');
        expect(sentTools).not.toContain("nullable");
      }

      up.fake().reply({ text: "18 degrees." });
      contents.push(first.candidates![0]!.content!, { role: "user", parts: [{ functionResponse: { id: calls[0]!.id, name: "get_weather", response: { output: "18C, sunny" } } }] });
      const second = await ai.models.generateContent({ model: up.model, contents, config: { tools } });
      expect(second.text).toBe("18 degrees.");
      expect(wireText(inferenceRequests(up.fake()).at(-1)!.body)).toContain("18C, sunny");
    });

    test("JSON output with an OpenAPI-style responseSchema", async () => {
      up.fake().reply(up.name === "anthropic" ? { toolCalls: [{ name: "json_tool_call", arguments: { ok: true } }] } : { text: '{"ok":true}' });
      const res = await ai.models.generateContent({
        model: up.model,
        contents: "Is it ok?",
        config: { responseMimeType: "application/json", responseSchema: { type: Type.OBJECT, properties: { ok: { type: Type.BOOLEAN } }, required: ["ok"] } },
      });
      expect(JSON.parse(res.text!)).toEqual({ ok: true });
      const sent = JSON.stringify(inferenceRequests(up.fake()).at(-1)!.body);
      expect(sent).toContain(up.name === "gemini" ? '"BOOLEAN"' : '"boolean"');
    });

    test("countTokens answers a count, flagged when it is lmrelay's estimate", async () => {
      const res = await ai.models.countTokens({ model: up.model, contents: "How many tokens is this sentence?" });
      expect(res.totalTokens).toBeGreaterThan(0);
      const headers = res.sdkHttpResponse?.headers ?? {};
      // OpenAI and Ollama have no counter of their own: always lmrelay's estimate. Gemini and
      // Anthropic upstreams may count themselves (then the header is absent).
      if (up.name === "openai" || up.name === "ollama" || headers["x-lmrelay-estimated"] !== undefined) expect(headers["x-lmrelay-estimated"]).toBe("true");
    });
  });

describe("@google/genai: embeddings", () => {
  for (const [name, model] of [
    ["openai", MODELS.openaiEmbed],
    ["gemini", MODELS.geminiEmbed],
    ["ollama", MODELS.ollamaEmbed],
  ] as const)
    test(`${name} upstream: one text and a batch`, async () => {
      const one = await ai.models.embedContent({ model, contents: "hello world" });
      expect(one.embeddings).toHaveLength(1);
      expect(one.embeddings![0]!.values!.length).toBeGreaterThan(0);
      const batch = await ai.models.embedContent({ model, contents: ["a", "b", "c"] });
      expect(batch.embeddings).toHaveLength(3);
      expect(lastAudit()).toMatchObject({ protocol: "gemini", status: 200 });
    });
});

describe("@google/genai: the model list", () => {
  test("models.list and models.get name routable models as models/<provider>/<model>", async () => {
    const names: string[] = [];
    for await (const m of await ai.models.list()) names.push(m.name!);
    expect(names).toContain(`models/${MODELS.openai}`);
    expect(names).toContain(`models/${MODELS.gemini}`);
    const got = await ai.models.get({ model: MODELS.anthropic });
    expect(got.name).toBe(`models/${MODELS.anthropic}`);
    expect(got.inputTokenLimit).toBeGreaterThan(0);
    expect(got.supportedActions).toContain("generateContent");
    const missing = await ai.models.get({ model: "nowhere/none" }).then(
      () => undefined,
      (e) => e,
    );
    expect(missing).toBeInstanceOf(ApiError);
    expect((missing as ApiError).status).toBe(404);
  });

  test("GET /v1/models answers in Google's shape only for a Google client", async () => {
    const google = (await (await fetch(`${rig.url}/v1/models`, { headers: { "x-goog-api-key": CLIENT_KEY } })).json()) as Json;
    expect(google.models.map((m: Json) => m.name)).toContain(`models/${MODELS.openai}`);
    const viaQuery = (await (await fetch(`${rig.url}/v1/models/${MODELS.openai}?key=${CLIENT_KEY}`)).json()) as Json;
    expect(viaQuery.name).toBe(`models/${MODELS.openai}`);
    const openai = (await (await fetch(`${rig.url}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).json()) as Json;
    expect(openai.object).toBe("list");
  });
});

describe("@google/genai → Gemini upstream: thought signatures", () => {
  test("a function call's signature comes back to the client and goes back upstream intact (Gemini 3 refuses a call without it)", async () => {
    rig.gemini.reply({ toolCalls: [{ name: "lookup", arguments: { q: "x" } }] });
    const tools = [{ functionDeclarations: [{ name: "lookup", parametersJsonSchema: { type: "object", properties: { q: { type: "string" } } } }] }];
    const chat = ai.chats.create({ model: MODELS.gemini3, config: { tools } });
    const first = await chat.sendMessage({ message: "look it up" });
    const part = first.candidates![0]!.content!.parts!.find((p) => p.functionCall)!;
    expect(part.thoughtSignature).toBe(FAKE_THOUGHT_SIGNATURE);
    rig.gemini.reply({ text: "Found it." });
    const second = await chat.sendMessage({ message: [{ functionResponse: { id: part.functionCall!.id, name: "lookup", response: { output: "42" } } }] });
    expect(second.text).toBe("Found it.");
    const sent = inferenceRequests(rig.gemini).at(-1)!.body;
    const echoed = sent.contents[1].parts.find((p: Json) => p.functionCall);
    expect(echoed.thoughtSignature).toBe(FAKE_THOUGHT_SIGNATURE);
  });
});

describe("@google/genai → Gemini upstream: thoughts", () => {
  test("thought summaries reach the client only with includeThoughts, and are counted apart", async () => {
    rig.gemini.reply({ text: "Forty-two.", thinking: "Let me work this out carefully" });
    const withThoughts = await ai.models.generateContent({ model: MODELS.gemini, contents: "question", config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 512 } } });
    const parts = withThoughts.candidates![0]!.content!.parts!;
    expect(parts).toEqual([{ text: "Let me work this out carefully", thought: true }, { text: "Forty-two." }]);
    expect(withThoughts.usageMetadata?.thoughtsTokenCount).toBeGreaterThan(0);
    expect(inferenceRequests(rig.gemini).at(-1)!.body.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 512, includeThoughts: true });
    const streamed: string[] = [];
    for await (const c of await ai.models.generateContentStream({ model: MODELS.gemini, contents: "question", config: { thinkingConfig: { includeThoughts: false, thinkingBudget: 512 } } }))
      for (const p of c.candidates?.[0]?.content?.parts ?? []) streamed.push(p.thought ? `thought:${p.text}` : p.text!);
    // The upstream was asked for thoughts (to think at all) and sent them; this client did not want them.
    expect(inferenceRequests(rig.gemini).at(-1)!.body.generationConfig.thinkingConfig.includeThoughts).toBe(true);
    expect(streamed.join("")).toBe("Forty-two.");
  });
});

describe("the wire as Google's REST API spells it", () => {
  const ask = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
  const post = (path: string, body: unknown = ask, headers: Record<string, string> = { "x-goog-api-key": CLIENT_KEY }) =>
    fetch(`${rig.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  test("the exact bytes of an SSE answer", async () => {
    rig.openai.reply({ text: "Hi there", usage: { input: 7, output: 2 } });
    const res = await post(`/v1beta/models/${MODELS.openai}:streamGenerateContent?alt=sse`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const body = await res.text();
    const id = /"responseId":"([^"]+)"/.exec(body)![1];
    const tail = `"modelVersion":"gpt-4o","responseId":"${id}"}\r\n\r\n`;
    expect(body).toBe(
      `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi "}]},"index":0}],${tail}` +
        `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"there"}]},"index":0}],${tail}` +
        `data: {"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":2,"totalTokenCount":9},${tail}`,
    );
  });

  test("without alt=sse the stream is one JSON array, element by element", async () => {
    rig.openai.reply({ text: "Hi there" });
    const res = await post(`/gemini/v1beta/models/${MODELS.openai}:streamGenerateContent`);
    const body = await res.text();
    expect(body.startsWith("[{")).toBe(true);
    expect(body.endsWith("\n]")).toBe(true);
    const chunks = JSON.parse(body) as GenerateContentResponse[];
    expect(chunks.at(-1)!.candidates![0]!.finishReason).toBe(FinishReason.STOP);
  });

  test("the POST methods also under /v1/models/… and /gemini/v1/models/…", async () => {
    for (const path of [`/v1/models/${MODELS.openai}:generateContent`, `/gemini/v1/models/${MODELS.openai}:generateContent`]) {
      const res = await post(path);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Json).candidates[0].content.parts[0].text).toBe("Hello from openai-fake");
    }
  });

  test("the key in all three forms, and no key at all", async () => {
    const path = `/v1beta/models/${MODELS.openai}:generateContent`;
    expect((await post(path, ask, { "x-goog-api-key": CLIENT_KEY })).status).toBe(200);
    expect((await post(`${path}?key=${CLIENT_KEY}`, ask, {})).status).toBe(200);
    expect((await post(path, ask, { authorization: `Bearer ${CLIENT_KEY}` })).status).toBe(200);
    const none = await post(path, ask, {});
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      error: { code: 401, message: "lmrelay: missing API key: send it as Authorization: Bearer, x-api-key, api-key or x-goog-api-key", status: "UNAUTHENTICATED" },
    });
    // A `?key=` is a secret: the audit row's endpoint never carries the query.
    await post(`${path}?key=wrong-key-in-query`, ask, {});
    const row = lastAudit();
    expect(row.status).toBe(401);
    expect(JSON.stringify(row)).not.toContain("wrong-key-in-query");
  });

  test("bad input is a 400 in Google's shape naming the field", async () => {
    const cases: [unknown, string][] = [
      [{}, "contents: field required"],
      [{ contents: [{ role: "assistant", parts: [{ text: "x" }] }] }, 'contents.0.role: expected "user" or "model"'],
      [{ ...ask, generationConfig: { candidateCount: 2 } }, "generationConfig.candidateCount"],
      [{ ...ask, tools: [{ functionDeclarations: [{ name: "f", parameters: { type: "WHATEVER" } }] }] }, "tools.0.functionDeclarations.0.parameters.type"],
      [{ ...ask, tools: [{ googleSearch: {} }] }, "tools.0.googleSearch"],
      [{ contents: [{ role: "user", parts: [{ functionResponse: { name: "f", response: {} } }] }] }, "answers no call"],
    ];
    for (const [body, message] of cases) {
      const res = await post(`/v1beta/models/${MODELS.openai}:generateContent`, body);
      expect(res.status).toBe(400);
      const err = ((await res.json()) as Json).error;
      expect(err.status).toBe("INVALID_ARGUMENT");
      expect(err.code).toBe(400);
      expect(err.message).toStartWith("lmrelay: ");
      expect(err.message).toContain(message);
    }
    const notJson = await fetch(`${rig.url}/v1beta/models/${MODELS.openai}:generateContent`, { method: "POST", headers: { "x-goog-api-key": CLIENT_KEY }, body: "{oops" });
    expect(notJson.status).toBe(400);
  });

  test("404 for an unknown model and an unknown method", async () => {
    const model = await post("/v1beta/models/nowhere/none:generateContent");
    expect(model.status).toBe(404);
    expect(((await model.json()) as Json).error.status).toBe("NOT_FOUND");
    const method = await post(`/v1beta/models/${MODELS.openai}:predict`);
    expect(method.status).toBe(404);
    expect(((await method.json()) as Json).error).toMatchObject({ code: 404, status: "NOT_FOUND" });
  });
});

describe("governance refusals in Google's shape", () => {
  test("403 for a model the client may not use, 429 over its rpm, as @google/genai sees them", async () => {
    const gw = await startGateway({ providers: { echo: { type: "echo" } }, clients: { narrow: { key: "lmr-narrow-key", models: ["echo/echo-1"], rpm: 1 } } });
    try {
      const narrow = new GoogleGenAI({ apiKey: "lmr-narrow-key", httpOptions: { baseUrl: gw.url } });
      const refused = async (p: Promise<unknown>) => {
        const err = await p.then(
          () => undefined,
          (e) => e,
        );
        expect(err).toBeInstanceOf(ApiError);
        return { status: (err as ApiError).status, body: JSON.parse((err as ApiError).message).error as Json };
      };
      const forbidden = await refused(narrow.models.generateContent({ model: "echo/other", contents: "hi" }));
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toMatchObject({ code: 403, status: "PERMISSION_DENIED" });
      expect(forbidden.body.message).toStartWith("lmrelay: ");
      expect((await narrow.models.generateContent({ model: "echo/echo-1", contents: "hi" })).text).toBe("hi");
      const limited = await refused(narrow.models.generateContent({ model: "echo/echo-1", contents: "again" }));
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    } finally {
      await gw.stop();
    }
  });
});
