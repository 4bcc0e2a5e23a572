import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type Message, Ollama } from "ollama";
import { type AnthropicFake, FAKE_ANTHROPIC_KEY, startAnthropicFake } from "../../fakes/anthropic";
import { type OllamaFake, startOllamaFake } from "../../fakes/ollama";
import { type OpenAIFake, startOpenAIFake } from "../../fakes/openai";
import { startGateway, type TestGateway } from "../../helpers/gateway";
import { collect } from "../../helpers/async";

// Ollama clients through lmrelay to real-wire fake upstreams: an Ollama server (same protocol, so
// Ollama-only options must survive), OpenAI and Anthropic (tool results need ids Ollama never sent).

let local: OllamaFake;
let claude: AnthropicFake;
let openai: OpenAIFake;
let gw: TestGateway;
let ollama: Ollama;

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(16)]).toString("base64");

beforeAll(async () => {
  local = await startOllamaFake();
  claude = await startAnthropicFake();
  openai = await startOpenAIFake();
  gw = await startGateway({
    providers: {
      local: { type: "ollama", baseUrl: local.url },
      claude: { type: "anthropic", baseUrl: claude.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-sonnet-4-5-20250929"] },
      oa: { type: "openai", baseUrl: `${openai.url}/v1`, keys: ["sk-test"] },
    },
    routing: { maxAttempts: 1 },
  });
  ollama = new Ollama({ host: gw.url });
});
afterAll(async () => {
  await gw.stop();
  await local.stop();
  await claude.stop();
  await openai.stop();
});
beforeEach(() => {
  local.reply({});
  claude.reply({});
  openai.reply({});
});

const lastBody = (fake: { requests: { path: string; body: any }[] }, path: string) => fake.requests.filter((r) => r.path === path).at(-1)!.body;


describe("to an Ollama upstream", () => {
  test("plain model name, stream: text and usage counts equal to the upstream's", async () => {
    local.reply({ text: "The sky is blue.", usage: { input: 26, output: 5 } });
    const parts = await collect(await ollama.chat({ model: "llama3.2", messages: [{ role: "user", content: "Why?" }], stream: true }));
    expect(parts.map((p) => p.message.content).join("")).toBe("The sky is blue.");
    const last = parts.at(-1)!;
    expect(last).toMatchObject({ model: "llama3.2", done: true, done_reason: "stop", prompt_eval_count: 26, eval_count: 5 });
  });

  test("system prompt, images, options and keep_alive reach the upstream (num_ctx passes through)", async () => {
    await ollama.chat({
      model: "local/llama3.2:latest",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "What is this?", images: [PNG] },
      ],
      options: { temperature: 0.2, num_ctx: 8192, num_predict: 64, stop: ["</end>"], seed: 7 },
      keep_alive: "5m",
    });
    const body = lastBody(local, "/api/chat");
    expect(body.messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect(body.messages[1]).toMatchObject({ role: "user", content: "What is this?", images: [PNG] });
    expect(body.options).toMatchObject({ temperature: 0.2, num_ctx: 8192, num_predict: 64, stop: ["</end>"], seed: 7 });
    expect(body.keep_alive).toBe("5m");
    expect(body.stream).toBe(false);
  });

  test("tool call round trip: whole calls with object arguments, result without id", async () => {
    local.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Tokyo" } }] });
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const parts = await collect(await ollama.chat({ model: "llama3.2", messages: [{ role: "user", content: "Weather in Tokyo?" }], tools, stream: true }));
    const withCalls = parts.filter((p) => p.message.tool_calls?.length);
    expect(withCalls).toHaveLength(1);
    const call = withCalls[0]!.message.tool_calls![0]!;
    expect(call.function).toMatchObject({ name: "get_weather", arguments: { city: "Tokyo" } });
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: "stop" });

    local.reply({ text: "It is 11 degrees." });
    const history: Message[] = [
      { role: "user", content: "Weather in Tokyo?" },
      { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Tokyo" } } }] },
      { role: "tool", content: "11 degrees celsius", tool_name: "get_weather" },
    ];
    const res = await ollama.chat({ model: "llama3.2", messages: history, tools });
    expect(res.message.content).toBe("It is 11 degrees.");
    const body = lastBody(local, "/api/chat");
    expect(body.messages[1].tool_calls[0].function).toEqual({ name: "get_weather", arguments: { city: "Tokyo" } });
    expect(body.messages[2]).toMatchObject({ role: "tool", content: "11 degrees celsius", tool_name: "get_weather" });
    expect(body.tools[0].function.name).toBe("get_weather");
  });

  test("thinking streams as message.thinking", async () => {
    local.reply({ text: "4", thinking: "two plus two" });
    const res = await ollama.chat({ model: "qwen3:8b", messages: [{ role: "user", content: "2+2?" }], think: true });
    expect(res.message).toMatchObject({ content: "4", thinking: "two plus two" });
    expect(lastBody(local, "/api/chat").think).toBe(true);
  });

  test("generate with a system prompt, stream", async () => {
    local.reply({ text: "Because of Rayleigh scattering." });
    const parts = await collect(await ollama.generate({ model: "llama3.2", prompt: "Why is the sky blue?", system: "Be brief.", stream: true }));
    expect(parts.map((p) => p.response).join("")).toBe("Because of Rayleigh scattering.");
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: "stop" });
    const req = local.requests.at(-1)!;
    const sent = JSON.stringify(req.body);
    expect(sent).toContain("Be brief.");
    expect(sent).toContain("Why is the sky blue?");
  });

  test("an error line mid-stream reaches the client as a stream error", async () => {
    local.reply({ text: "one two three" });
    local.failMidStream("an error was encountered while running the model", 1);
    const stream = await ollama.chat({ model: "llama3.2", messages: [{ role: "user", content: "x" }], stream: true });
    let error: Error | undefined;
    const seen: string[] = [];
    try {
      for await (const p of stream) seen.push(p.message.content);
    } catch (e) {
      error = e as Error;
    }
    expect(seen).toEqual(["one "]);
    expect(error?.message).toContain("an error was encountered while running the model");
  });

  test("a client that goes away ends the relayed answer (and the upstream request)", async () => {
    local.reply({ text: "word ".repeat(200), chunkDelayMs: 20 });
    const stream = await ollama.chat({ model: "llama3.2", messages: [{ role: "user", content: "x" }], stream: true });
    for await (const _ of stream) break;
    expect(gw.runtime.gateway.openAnswers).toBe(1);
    stream.abort();
    for (let i = 0; i < 200 && gw.runtime.gateway.openAnswers > 0; i++) await Bun.sleep(10);
    expect(gw.runtime.gateway.openAnswers).toBe(0);
  });

  test("an upstream 400 before the answer comes back as {error} with its status", async () => {
    local.fail({ kind: "status", status: 400, body: { error: "invalid options" } });
    const res = await fetch(`${gw.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "x" }] }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error).toContain("invalid options");
  });

  test("embed and embeddings", async () => {
    const res = await ollama.embed({ model: "all-minilm", input: ["a b", "c"] });
    expect(res.embeddings).toHaveLength(2);
    expect(res.embeddings[0]).toHaveLength(8);
    expect(res.prompt_eval_count).toBe(3);
    const legacy = await ollama.embeddings({ model: "all-minilm", prompt: "a b" });
    expect(legacy.embedding).toEqual(res.embeddings[0]!);
  });

  test("tags and show list the upstream's models under the provider id", async () => {
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toEqual(expect.arrayContaining(["local/llama3.2:latest", "local/all-minilm:latest", "claude/claude-sonnet-4-5-20250929"]));
    expect((await ollama.show({ model: "all-minilm" })).capabilities).toEqual(["embedding"]);
    expect((await ollama.show({ model: "claude/claude-sonnet-4-5-20250929" })).capabilities).toEqual(["completion", "tools", "vision", "thinking"]);
  });
});

describe("to an Anthropic upstream", () => {
  const MODEL = "claude/claude-sonnet-4-5-20250929";
  const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];

  test("tool call round trip: results without ids are paired with the calls (Anthropic validates)", async () => {
    claude.reply({
      toolCalls: [
        { name: "get_weather", arguments: { city: "Paris" } },
        { name: "get_weather", arguments: { city: "Rome" } },
      ],
      usage: { input: 30, output: 12, cached: 10 },
    });
    const parts = await collect(await ollama.chat({ model: MODEL, messages: [{ role: "user", content: "Paris and Rome?" }], tools, stream: true }));
    const calls = parts.flatMap((p) => p.message.tool_calls ?? []);
    expect(calls.map((c) => c.function.arguments)).toEqual([{ city: "Paris" }, { city: "Rome" }]);
    // Usage: Anthropic's input + cache tokens = Ollama's prompt_eval_count.
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 30, eval_count: 12 });

    claude.reply({ text: "Paris 11, Rome 18." });
    const res = await ollama.chat({
      model: MODEL,
      tools,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Paris and Rome?" },
        { role: "assistant", content: "", tool_calls: calls.map((c) => ({ function: c.function })) },
        { role: "tool", content: "11", tool_name: "get_weather" },
        { role: "tool", content: "18", tool_name: "get_weather" },
      ],
    });
    expect(res.message.content).toBe("Paris 11, Rome 18.");
    const body = lastBody(claude, "/v1/messages");
    expect(JSON.stringify(body.system)).toContain("Be brief.");
    const uses = body.messages[1].content.filter((b: any) => b.type === "tool_use");
    const results = body.messages[2].content.filter((b: any) => b.type === "tool_result");
    expect(uses.map((u: any) => u.input)).toEqual([{ city: "Paris" }, { city: "Rome" }]);
    // Each result answers its own call: Paris got "11", Rome "18".
    const answerTo = (id: string) => JSON.stringify(results.find((r: any) => r.tool_use_id === id)?.content);
    expect(answerTo(uses[0].id)).toContain("11");
    expect(answerTo(uses[1].id)).toContain("18");
  });

  test("non-stream tool call answer carries whole objects", async () => {
    claude.reply({ text: "Checking.", toolCalls: [{ id: "toolu_01", name: "get_weather", arguments: { city: "Oslo" } }], usage: { input: 9, output: 4 } });
    const res = await ollama.chat({ model: MODEL, messages: [{ role: "user", content: "Oslo?" }], tools });
    expect(res.message.content).toBe("Checking.");
    expect(res.message.tool_calls).toEqual([{ id: "toolu_01", function: { index: 0, name: "get_weather", arguments: { city: "Oslo" } } }] as never);
    expect(res).toMatchObject({ done_reason: "stop", prompt_eval_count: 9, eval_count: 4 });
  });

  test("a tool_call_id from a newer client pairs explicitly", async () => {
    claude.reply({ text: "ok" });
    await ollama.chat({
      model: MODEL,
      tools,
      messages: [
        { role: "user", content: "Oslo?" },
        // Newer Ollama clients send call ids, which the 0.6 client's types do not declare yet.
        { role: "assistant", content: "", tool_calls: [{ id: "toolu_A", function: { name: "get_weather", arguments: { city: "Oslo" } } }] } as unknown as Message,
        { role: "tool", content: "3", tool_call_id: "toolu_A" } as unknown as Message,
      ],
    });
    const body = lastBody(claude, "/v1/messages");
    expect(body.messages[2].content[0]).toMatchObject({ type: "tool_result", tool_use_id: "toolu_A" });
  });

  test("format json and images are translated", async () => {
    claude.reply({ text: '{"a":1}' });
    const res = await ollama.chat({ model: MODEL, messages: [{ role: "user", content: "look", images: [PNG] }], format: "json" });
    expect(res.message.content).toContain('"a"');
    const body = lastBody(claude, "/v1/messages");
    expect(body.messages[0].content[0]).toMatchObject({ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } });
  });
});

describe("to an OpenAI upstream", () => {
  const MODEL = "oa/gpt-4o-mini";
  const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } }];

  test("stream: text and usage counts equal to the upstream's", async () => {
    openai.reply({ text: "Hi there, friend.", usage: { input: 40, output: 6 } });
    const parts = await collect(await ollama.chat({ model: MODEL, messages: [{ role: "user", content: "hello" }], stream: true }));
    expect(parts.map((p) => p.message.content).join("")).toBe("Hi there, friend.");
    expect(parts.at(-1)).toMatchObject({ model: MODEL, done: true, done_reason: "stop", prompt_eval_count: 40, eval_count: 6 });
  });

  test("tool-call fragments arrive as one whole call; results without ids get the call ids back", async () => {
    openai.reply({ toolCalls: [{ name: "lookup", arguments: { q: "bun" } }, { name: "lookup", arguments: { q: "elysia" } }] });
    const parts = await collect(await ollama.chat({ model: MODEL, messages: [{ role: "user", content: "search" }], tools, stream: true }));
    const lines = parts.filter((p) => p.message.tool_calls?.length);
    expect(lines).toHaveLength(1);
    const calls = lines[0]!.message.tool_calls!;
    expect(calls.map((c) => c.function.arguments)).toEqual([{ q: "bun" }, { q: "elysia" }]);

    openai.reply({ text: "Found both." });
    const res = await ollama.chat({
      model: MODEL,
      tools,
      messages: [
        { role: "user", content: "search" },
        { role: "assistant", content: "", tool_calls: calls.map((c) => ({ function: c.function })) },
        { role: "tool", content: "bun result" },
        { role: "tool", content: "elysia result" },
      ],
    });
    expect(res.message.content).toBe("Found both.");
    const body = lastBody(openai, "/v1/chat/completions");
    const ids = body.messages[1].tool_calls.map((c: any) => c.id);
    expect(body.messages[1].tool_calls.map((c: any) => JSON.parse(c.function.arguments))).toEqual([{ q: "bun" }, { q: "elysia" }]);
    expect(body.messages.slice(2).map((m: any) => [m.role, m.tool_call_id, m.content])).toEqual([
      ["tool", ids[0], "bun result"],
      ["tool", ids[1], "elysia result"],
    ]);
  });

  test("embed", async () => {
    const res = await ollama.embed({ model: "oa/text-embedding-3-small", input: ["a", "b"] });
    expect(res.embeddings).toHaveLength(2);
    expect(res.model).toBe("oa/text-embedding-3-small");
  });
});
