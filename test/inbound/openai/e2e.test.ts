import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { type OllamaFake, startOllamaFake } from "../../fakes/ollama";
import { startGateway, type TestGateway } from "../../helpers/gateway";

// The OpenAI inbound protocol end to end: the official `openai` client → lmrelay → the built-in echo
// provider and a fake Ollama server (a real HTTP server speaking Ollama's wire format).

let gw: TestGateway;
let ollama: OllamaFake;
let client: OpenAI;

beforeAll(async () => {
  ollama = await startOllamaFake();
  gw = await startGateway({
    providers: {
      echo: { type: "echo" },
      local: { type: "ollama", baseUrl: ollama.url },
    },
    models: { fast: ["local/llama3.2:latest"] },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
});

afterAll(async () => {
  await gw?.stop();
  await ollama?.stop();
});

const lastOllamaBody = () => ollama.requests.filter((r) => r.path === "/api/chat").at(-1)!.body;

describe("chat completions through the official SDK", () => {
  test("non-stream (echo): answer, usage, relay headers", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "echo/echo-1", messages: [{ role: "user", content: "hello there" }] })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content).toBe("hello there");
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get("x-lmrelay-provider")).toBe("echo");
    expect(response.headers.get("x-lmrelay-model")).toBe("echo-1");
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  test("stream (echo) with include_usage: same text, one usage chunk with choices [] before [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "echo/echo-1",
      messages: [{ role: "user", content: "one two three four" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const ids = new Set<string>();
    const finishes: (string | null)[] = [];
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.usage) usages.push(chunk.usage);
      if (chunk.choices.length === 0) continue;
      text += chunk.choices[0]!.delta.content ?? "";
      finishes.push(chunk.choices[0]!.finish_reason);
    }
    expect(text).toBe("one two three four");
    expect(ids.size).toBe(1);
    expect(finishes.filter((f) => f !== null)).toEqual(["stop"]);
    expect(usages).toHaveLength(1);
  });

  test("stream without include_usage carries no usage", async () => {
    const stream = await client.chat.completions.create({ model: "echo/echo-1", messages: [{ role: "user", content: "hi" }], stream: true });
    for await (const chunk of stream) expect(chunk.usage ?? null).toBeNull();
  });

  test("include_usage numbers are exactly what the upstream reported (Ollama)", async () => {
    ollama.reply({ text: "Paris is lovely", usage: { input: 21, output: 4 } });
    const stream = await client.chat.completions.create({
      model: "local/llama3.2:latest",
      messages: [{ role: "user", content: "tell me" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("Paris is lovely");
    expect(usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 4, total_tokens: 25 });
    const whole = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "tell me" }] });
    expect(whole.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 4, total_tokens: 25 });
  });

  test("system and developer prompts reach the upstream, in order", async () => {
    ollama.reply({ text: "ok" });
    await client.chat.completions.create({
      model: "local/llama3.2:latest",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: "Prefer JSON." },
        { role: "user", content: "hi" },
      ],
    });
    const sent = lastOllamaBody();
    const systemText = sent.messages.filter((m: any) => m.role === "system").map((m: any) => m.content).join("\n");
    expect(systemText).toContain("You are terse.");
    expect(systemText.indexOf("You are terse.")).toBeLessThan(systemText.indexOf("Prefer JSON."));
    expect(sent.messages.at(-1)).toMatchObject({ role: "user", content: "hi" });
  });

  test("image data URI reaches Ollama as raw base64", async () => {
    ollama.reply({ text: "a pixel" });
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
    await client.chat.completions.create({
      model: "local/llama3.2:latest",
      messages: [{ role: "user", content: [{ type: "text", text: "what?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    expect(lastOllamaBody().messages.at(-1).images).toEqual([png]);
  });

  test("tool-call round trip (Ollama): call out, stream and not; result back with its function name", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
    ];
    ollama.reply({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Paris" } }] });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await client.chat.completions.create({ model: "local/llama3.2:latest", messages, tools });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
    expect(lastOllamaBody().tools[0].function.name).toBe("get_weather");

    // The same answer streamed, assembled by the SDK's own stream helper.
    const runner = client.chat.completions.stream({ model: "local/llama3.2:latest", messages, tools });
    const streamed = await runner.finalChatCompletion();
    const streamedCall = streamed.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(streamed.choices[0]!.finish_reason).toBe("tool_calls");
    expect(streamedCall.function.name).toBe("get_weather");
    expect(JSON.parse(streamedCall.function.arguments)).toEqual({ city: "Paris" });

    ollama.reply({ text: "It is 18C in Paris." });
    const second = await client.chat.completions.create({
      model: "local/llama3.2:latest",
      tools,
      messages: [...messages, choice.message, { role: "tool", tool_call_id: call.id, content: '{"temp_c":18}' }],
    });
    expect(second.choices[0]!.message.content).toBe("It is 18C in Paris.");
    const sent = lastOllamaBody().messages;
    expect(sent.find((m: any) => m.role === "assistant").tool_calls[0].function).toMatchObject({ name: "get_weather", arguments: { city: "Paris" } });
    expect(sent.at(-1)).toMatchObject({ role: "tool", content: '{"temp_c":18}', tool_name: "get_weather" });
  });

  test("an upstream error mid-stream reaches the SDK as an APIError", async () => {
    ollama.reply({ text: "one two three four five" });
    ollama.failMidStream("model runner crashed", 2);
    const stream = await client.chat.completions.create({ model: "local/llama3.2:latest", messages: [{ role: "user", content: "go" }], stream: true });
    let text = "";
    let caught: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    } catch (e) {
      caught = e;
    }
    expect(text).toBe("one two ");
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as Error).message).toContain("model runner crashed");
  });

  test("legacy completions, stream and not", async () => {
    const whole = await client.completions.create({ model: "echo/echo-1", prompt: "Say this is a test" });
    expect(whole.object).toBe("text_completion");
    expect(whole.choices[0]!.text).toBe("Say this is a test");
    expect(whole.choices[0]!.finish_reason).toBe("stop");
    const stream = await client.completions.create({ model: "echo/echo-1", prompt: "a b c", stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("text_completion");
      text += chunk.choices[0]?.text ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("a b c");
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });
});

describe("embeddings", () => {
  test("float and the SDK's default base64 decode to the same vectors (echo)", async () => {
    const input = ["hello world", "second text"];
    const asFloat = await client.embeddings.create({ model: "echo/echo-1", input, encoding_format: "float" });
    const asDefault = await client.embeddings.create({ model: "echo/echo-1", input });
    const raw = (await (await fetch(`${gw.url}/v1/embeddings`, { method: "POST", body: JSON.stringify({ model: "echo/echo-1", input, encoding_format: "base64" }) })).json()) as any;
    expect(typeof raw.data[0].embedding).toBe("string");
    expect(asFloat.data).toHaveLength(2);
    expect(asFloat.usage.prompt_tokens).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) {
      const a = asFloat.data[i]!.embedding;
      const b = asDefault.data[i]!.embedding;
      expect(asDefault.data[i]!.index).toBe(i);
      expect(b).toHaveLength(a.length);
      for (let j = 0; j < a.length; j++) expect(b[j]!).toBeCloseTo(a[j]!, 6);
    }
  });

  test("dimensions and a single string input (Ollama)", async () => {
    const res = await client.embeddings.create({ model: "local/all-minilm:latest", input: "hello", dimensions: 4 });
    expect(res.data).toHaveLength(1);
    expect(res.data[0]!.embedding).toHaveLength(4);
  });
});

describe("models", () => {
  test("list and retrieve (ids with a slash)", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain("echo/echo-1");
    expect(ids).toContain("local/llama3.2:latest");
    expect(ids).toContain("fast");
    const one = await client.models.retrieve("local/llama3.2:latest");
    expect(one).toMatchObject({ id: "local/llama3.2:latest", object: "model", owned_by: expect.any(String) });
  });

  test("unknown model → 404 in OpenAI shape", async () => {
    const res = await fetch(`${gw.url}/v1/models/nope`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as any;
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found" });
    expect(body.error.message.startsWith("lmrelay: ")).toBe(true);
  });

  test("with anthropic-version the same path answers in Anthropic's shape", async () => {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: "none", maxRetries: 0 });
    const ids: string[] = [];
    for await (const m of anthropic.models.list()) {
      expect(m.type).toBe("model");
      ids.push(m.id);
    }
    expect(ids).toContain("echo/echo-1");
    const one = await anthropic.models.retrieve("echo/echo-1");
    expect(one).toMatchObject({ type: "model", id: "echo/echo-1" });
    const missing = await fetch(`${gw.url}/v1/models/nope`, { headers: { "anthropic-version": "2023-06-01" } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).type).toBe("error");
  });
});

describe("bad input → OpenAI-shaped errors, never a 500", () => {
  const post = (path: string, body: string) => fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const cases: { name: string; path: string; body: string; status: number; param: string | null }[] = [
    { name: "malformed JSON", path: "/v1/chat/completions", body: "{not json", status: 400, param: null },
    { name: "empty body", path: "/v1/chat/completions", body: "", status: 400, param: null },
    { name: "missing model", path: "/v1/chat/completions", body: JSON.stringify({ messages: [{ role: "user", content: "x" }] }), status: 400, param: "model" },
    { name: "missing messages", path: "/v1/chat/completions", body: JSON.stringify({ model: "echo/echo-1" }), status: 400, param: "messages" },
    { name: "wrong type", path: "/v1/chat/completions", body: JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: "x" }], temperature: "hot" }), status: 400, param: "temperature" },
    { name: "JSON array body", path: "/v1/chat/completions", body: "[]", status: 400, param: null },
    { name: "unknown model", path: "/v1/chat/completions", body: JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }), status: 404, param: null },
    { name: "legacy without prompt", path: "/v1/completions", body: JSON.stringify({ model: "echo/echo-1" }), status: 400, param: "prompt" },
    { name: "embeddings with token ids", path: "/v1/embeddings", body: JSON.stringify({ model: "echo/echo-1", input: [1, 2, 3] }), status: 400, param: "input" },
    { name: "unknown path", path: "/v1/nothing-here", body: "{}", status: 404, param: null },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const res = await post(c.path, c.body);
      expect(res.status).toBe(c.status);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      const body = (await res.json()) as any;
      expect(Object.keys(body)).toEqual(["error"]);
      expect(body.error.message.startsWith("lmrelay: ")).toBe(true);
      expect(body.error.type).toBe("invalid_request_error");
      if (c.param !== null) expect(body.error.param).toBe(c.param);
    });
  }

  test("the SDK surfaces a 400 as BadRequestError with the param", async () => {
    let caught: unknown;
    try {
      await client.chat.completions.create({ model: "echo/echo-1", messages: [{ role: "user", content: "x" }], max_tokens: -3 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(OpenAI.BadRequestError);
    expect((caught as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("max_tokens");
  });
});

describe("client keys", () => {
  let guarded: TestGateway;
  beforeAll(async () => {
    guarded = await startGateway({
      providers: { echo: { type: "echo" } },
      clients: { app: { key: "lmr-client-secret", models: ["echo/echo-1"] } },
    });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  test("a wrong key → AuthenticationError with code invalid_api_key, and the key never echoed", async () => {
    const bad = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: "wrong-key-123", maxRetries: 0 });
    let caught: unknown;
    try {
      await bad.chat.completions.create({ model: "echo/echo-1", messages: [{ role: "user", content: "x" }] });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(OpenAI.AuthenticationError);
    const err = caught as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(err.code).toBe("invalid_api_key");
    expect(err.message).toContain("lmrelay: ");
    expect(err.message).not.toContain("wrong-key-123");
  });

  test("the right key works; the models list follows the client's allow-list", async () => {
    const good = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: "lmr-client-secret", maxRetries: 0 });
    const res = await good.chat.completions.create({ model: "echo/echo-1", messages: [{ role: "user", content: "ok" }] });
    expect(res.choices[0]!.message.content).toBe("ok");
    const ids: string[] = [];
    for await (const m of good.models.list()) ids.push(m.id);
    expect(ids).toEqual(["echo/echo-1"]);
  });
});
