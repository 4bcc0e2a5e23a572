import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import { estimatePromptTokens, estimateTextTokens } from "../../../src/core/tokens";
import { decodeChatRequest } from "../../../src/inbound/ollama/decode";
import { VERSION } from "../../../src/version";
import { startGateway, type TestGateway } from "../../helpers/gateway";

// The Ollama inbound API end to end, with the official `ollama` client, against the built-in echo
// provider (answers with the last user message, word by word).

let gw: TestGateway;
let ollama: Ollama;
const MODEL = "echo/echo-1";

beforeAll(async () => {
  gw = await startGateway({ providers: { echo: { type: "echo" } }, models: { fast: ["echo/echo-1"], "nomic-embed": ["echo/echo-1"] } });
  ollama = new Ollama({ host: gw.url });
});
afterAll(async () => {
  await gw.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("chat", () => {
  test("non-stream: the whole message, done_reason, usage and ns durations", async () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "hello there world" },
    ];
    const res = await ollama.chat({ model: MODEL, messages });
    expect(res.model).toBe(MODEL);
    expect(res.message).toEqual({ role: "assistant", content: "hello there world" });
    expect(res.done).toBe(true);
    expect(res.done_reason).toBe("stop");
    // Echo reports estimates of exactly these; the Ollama answer carries them unchanged.
    const decoded = decodeChatRequest({ model: MODEL, messages });
    expect(decoded.kind).toBe("generate");
    if (decoded.kind === "generate") expect(res.prompt_eval_count).toBe(estimatePromptTokens(decoded.request));
    expect(res.eval_count).toBe(estimateTextTokens("hello there world"));
    expect(Number.isInteger(res.total_duration)).toBe(true);
    expect(res.total_duration).toBe(res.load_duration + res.prompt_eval_duration + res.eval_duration);
    expect(res.eval_duration).toBeGreaterThan(0);
    expect(new Date(res.created_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  test("stream: fragments then a final done line; model echoes the requested name (alias)", async () => {
    const stream = await ollama.chat({ model: "fast", messages: [{ role: "user", content: "one two three" }], stream: true });
    const parts = [];
    for await (const p of stream) parts.push(p);
    expect(parts.map((p) => p.message.content).join("")).toBe("one two three");
    expect(parts.every((p) => p.model === "fast")).toBe(true);
    const last = parts.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.done_reason).toBe("stop");
    expect(last.eval_count).toBe(estimateTextTokens("one two three"));
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
  });

  test("no stream field: NDJSON by default, with relay headers", async () => {
    const res = await post("/api/chat", { model: MODEL, messages: [{ role: "user", content: "a b" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("x-lmrelay-provider")).toBe("echo");
    expect(res.headers.get("x-lmrelay-model")).toBe("echo-1");
    const lines = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.message.content)).toEqual(["a ", "b", ""]);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: "stop" });
  });

  test("num_predict caps the answer: done_reason length", async () => {
    const res = await ollama.chat({ model: MODEL, messages: [{ role: "user", content: "one two three four" }], options: { num_predict: 2 } });
    expect(res.message.content).toBe("one two ");
    expect(res.done_reason).toBe("length");
  });

  test("a tool result without an id is answered (echo repeats it)", async () => {
    const res = await ollama.chat({
      model: MODEL,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }] },
        { role: "tool", content: "11 degrees", tool_name: "get_weather" },
      ],
    });
    expect(res.message.content).toBe("11 degrees");
  });

  test("model load and unload need no upstream; an unknown model is 404", async () => {
    const load = await ollama.chat({ model: MODEL, messages: [] });
    expect(load).toMatchObject({ model: MODEL, done: true, done_reason: "load", message: { role: "assistant", content: "" } });
    const unload = await post("/api/chat", { model: MODEL, keep_alive: 0 });
    expect(await unload.json()).toMatchObject({ done: true, done_reason: "unload" });
    const missing = await post("/api/chat", { model: "nope", messages: [] });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "lmrelay: model 'nope' not found" });
  });
});

describe("generate", () => {
  test("non-stream: response holds the text; system prompt accepted", async () => {
    const res = await ollama.generate({ model: MODEL, prompt: "why is the sky blue", system: "Be brief." });
    expect(res.response).toBe("why is the sky blue");
    expect(res.done).toBe(true);
    expect(res.done_reason).toBe("stop");
    expect(res.eval_count).toBeGreaterThan(0);
  });

  test("stream: response fragments", async () => {
    const stream = await ollama.generate({ model: MODEL, prompt: "a b c", stream: true });
    const parts = [];
    for await (const p of stream) parts.push(p);
    expect(parts.map((p) => p.response).join("")).toBe("a b c");
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: "stop" });
  });

  test("empty prompt: model load", async () => {
    const res = await ollama.generate({ model: MODEL, prompt: "" });
    expect(res).toMatchObject({ model: MODEL, response: "", done: true, done_reason: "load" });
  });
});

describe("embeddings", () => {
  test("embed: one vector per input, prompt_eval_count", async () => {
    const res = await ollama.embed({ model: MODEL, input: ["alpha", "beta gamma"] });
    expect(res.model).toBe(MODEL);
    expect(res.embeddings).toHaveLength(2);
    expect(res.embeddings[0]).toHaveLength(8);
    expect(res.prompt_eval_count).toBe(estimateTextTokens("alpha") + estimateTextTokens("beta gamma"));
    expect(Number.isInteger(res.total_duration)).toBe(true);
  });

  test("embed: a single string, dimensions; empty input answers no vectors", async () => {
    const one = await ollama.embed({ model: "nomic-embed", input: "alpha", dimensions: 4 });
    expect(one.embeddings).toHaveLength(1);
    expect(one.embeddings[0]).toHaveLength(4);
    const none = await ollama.embed({ model: MODEL, input: [] });
    expect(none.embeddings).toEqual([]);
  });

  test("embeddings (legacy): one vector", async () => {
    const res = await ollama.embeddings({ model: MODEL, prompt: "alpha" });
    expect(res.embedding).toHaveLength(8);
    const batch = await ollama.embed({ model: MODEL, input: "alpha" });
    expect(res.embedding).toEqual(batch.embeddings[0]!);
  });
});

describe("models and liveness", () => {
  test("tags lists aliases and provider/model names", async () => {
    const { models } = await ollama.list();
    const names = models.map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(["fast", "nomic-embed", MODEL]));
    const echo = models.find((m) => m.name === MODEL)!;
    expect(echo.model).toBe(MODEL);
    expect(echo.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(echo.details.family).toBe("echo");
    expect(typeof echo.details.parameter_size).toBe("string");
  });

  test("show: details and capabilities; legacy name field; 404 for unknown", async () => {
    const show = await ollama.show({ model: MODEL });
    expect(show.capabilities).toEqual(["completion", "tools"]);
    expect(show.details.family).toBe("echo");
    expect(typeof show.modelfile).toBe("string");
    expect(typeof show.template).toBe("string");
    expect(typeof show.parameters).toBe("string");
    expect((show.model_info as unknown as Record<string, unknown>)["general.architecture"]).toBe("echo");
    const embed = await post("/api/show", { name: "nomic-embed" });
    expect(((await embed.json()) as { capabilities: string[] }).capabilities).toEqual(["embedding"]);
    const plain = await post("/api/show", { model: "echo-1:latest" });
    expect(plain.status).toBe(200);
    const missing = await post("/api/show", { model: "nope" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "lmrelay: model 'nope' not found" });
  });

  test("ps lists the models used in the last five minutes, most recent first", async () => {
    await ollama.chat({ model: "fast", messages: [{ role: "user", content: "x" }] });
    const { models } = await ollama.ps();
    expect(models[0]!.name).toBe("fast");
    expect(new Date(models[0]!.expires_at).getTime()).toBeGreaterThan(Date.now());
    expect(models.map((m) => m.name)).toContain(MODEL);
  });

  test("version is lmrelay's; / and HEAD / say Ollama is running", async () => {
    expect(await ollama.version()).toEqual({ version: VERSION });
    const root = await fetch(`${gw.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toStartWith("text/plain");
    expect(await root.text()).toBe("Ollama is running");
    const head = await fetch(`${gw.url}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("bad input → 400 {error: lmrelay: …}, never 500", () => {
  const cases: [string, string, unknown, number, string][] = [
    ["malformed JSON", "/api/chat", "{not json", 400, "lmrelay: request body is not valid JSON"],
    ["empty body", "/api/generate", "", 400, "lmrelay: request body is empty"],
    ["body is an array", "/api/chat", [], 400, "lmrelay: request body must be a JSON object"],
    ["missing model", "/api/chat", { messages: [{ role: "user", content: "x" }] }, 400, "lmrelay: model: model is required"],
    ["model of wrong type", "/api/generate", { model: 1, prompt: "x" }, 400, "lmrelay: model: expected a string"],
    ["messages of wrong type", "/api/chat", { model: MODEL, messages: {} }, 400, "lmrelay: messages: expected an array"],
    ["content parts", "/api/chat", { model: MODEL, messages: [{ role: "user", content: [{ text: "x" }] }] }, 400, "lmrelay: messages[0].content"],
    ["bad option", "/api/chat", { model: MODEL, messages: [{ role: "user", content: "x" }], options: { num_predict: "ten" } }, 400, "lmrelay: options.num_predict"],
    ["bad image", "/api/generate", { model: MODEL, prompt: "x", images: ["bm90IGFuIGltYWdl"] }, 400, "lmrelay: images[0]"],
    ["embed input of wrong type", "/api/embed", { model: MODEL, input: 5 }, 400, "lmrelay: input"],
    ["show without model", "/api/show", {}, 400, "lmrelay: model: model is required"],
    ["unknown model", "/api/chat", { model: "nope", messages: [{ role: "user", content: "x" }] }, 404, "lmrelay: "],
  ];
  for (const [name, path, body, status, message] of cases) {
    test(name, async () => {
      const res = await post(path, body);
      expect(res.status).toBe(status);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      const json = (await res.json()) as { error: string };
      expect(Object.keys(json)).toEqual(["error"]);
      expect(json.error).toStartWith(message);
    });
  }

  test("the client library surfaces the message", async () => {
    await expect(ollama.chat({ model: "", messages: [{ role: "user", content: "x" }] })).rejects.toThrow("lmrelay: model: model is required");
  });
});

describe("with client keys", () => {
  let secured: TestGateway;
  beforeAll(async () => {
    secured = await startGateway({
      providers: { echo: { type: "echo" } },
      models: { fast: ["echo/echo-1"] },
      clients: { narrow: { key: "key-narrow", models: ["fast"] }, wide: { key: "key-wide" } },
    });
  });
  afterAll(async () => {
    await secured.stop();
  });

  test("liveness and version need no key; the API does, answered in Ollama's shape", async () => {
    expect((await fetch(`${secured.url}/`)).status).toBe(200);
    expect((await fetch(`${secured.url}/api/version`)).status).toBe(200);
    const res = await fetch(`${secured.url}/api/tags`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toStartWith("lmrelay: ");
  });

  test("tags and ps show only what the client may use", async () => {
    const wide = new Ollama({ host: secured.url, headers: { Authorization: "Bearer key-wide" } });
    const narrow = new Ollama({ host: secured.url, headers: { Authorization: "Bearer key-narrow" } });
    await wide.chat({ model: MODEL, messages: [{ role: "user", content: "x" }] });
    await narrow.chat({ model: "fast", messages: [{ role: "user", content: "x" }] });
    expect((await narrow.list()).models.map((m) => m.name)).toEqual(["fast"]);
    expect((await narrow.ps()).models.map((m) => m.name)).toEqual(["fast"]);
    expect((await wide.ps()).models.map((m) => m.name)).toEqual(["fast", MODEL]);
    await expect(narrow.show({ model: MODEL })).rejects.toThrow(`lmrelay: model '${MODEL}' not found`);
  });
});
