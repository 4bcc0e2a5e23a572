import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { estimatePromptTokens } from "../../../src/core/tokens";
import { decodeMessagesRequest } from "../../../src/inbound/anthropic/decode";
import { type AnthropicFake, FAKE_ANTHROPIC_KEY, startAnthropicFake } from "../../fakes/anthropic";
import { type OllamaFake, startOllamaFake } from "../../fakes/ollama";
import { startGateway, type TestGateway } from "../../helpers/gateway";

// The Anthropic inbound protocol end to end: the official SDK against the real server, with the
// echo provider, a fake Ollama and a fake Anthropic behind it.

const CLIENT_KEY = "lm-anthropic-inbound-test-key";

let gw: TestGateway;
let ollama: OllamaFake;
let claude: AnthropicFake;
let client: Anthropic;

beforeAll(async () => {
  ollama = await startOllamaFake();
  claude = await startAnthropicFake();
  gw = await startGateway({
    providers: {
      echo: { type: "echo" },
      local: { type: "ollama", baseUrl: ollama.url, models: ["llama3.2:latest"] },
      claude: { type: "anthropic", baseUrl: claude.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-sonnet-4-5-20250929"] },
    },
    clients: { tester: { key: CLIENT_KEY } },
  });
  client = new Anthropic({ apiKey: CLIENT_KEY, baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw?.stop();
  await ollama?.stop();
  await claude?.stop();
});

const lastBody = (fake: { requests: { path: string; body: any }[] }, path: string) => fake.requests.filter((r) => r.path === path).at(-1)?.body;

describe("POST /v1/messages with the official SDK", () => {
  test("non-stream through echo: exact message shape and relay headers", async () => {
    const { data, response } = await client.messages
      .create({ model: "echo/echo-1", max_tokens: 100, messages: [{ role: "user", content: "hello there" }] })
      .withResponse();
    expect(data.id).toMatch(/^msg_/);
    expect(data.type).toBe("message");
    expect(data.role).toBe("assistant");
    expect(data.model).toBe("echo-1");
    expect(data.content).toEqual([{ type: "text", text: "hello there" } as never]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.stop_sequence).toBeNull();
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-lmrelay-provider")).toBe("echo");
    expect(response.headers.get("x-request-id")).toMatch(/\S/);
    expect(response.headers.get("request-id")).toBe(response.headers.get("x-request-id"));
  });

  test("authToken mode and raw x-api-key are both accepted; no key is a 401 authentication_error", async () => {
    const byToken = new Anthropic({ authToken: CLIENT_KEY, apiKey: null, baseURL: gw.url, maxRetries: 0 });
    expect((await byToken.messages.create({ model: "echo/echo-1", max_tokens: 10, messages: [{ role: "user", content: "a" }] })).content).toHaveLength(1);
    const byHeader = new Anthropic({ apiKey: null, authToken: null, defaultHeaders: { "x-api-key": CLIENT_KEY }, baseURL: gw.url, maxRetries: 0 });
    expect((await byHeader.messages.create({ model: "echo/echo-1", max_tokens: 10, messages: [{ role: "user", content: "b" }] })).content).toHaveLength(1);
    const res = await fetch(`${gw.url}/v1/messages`, { method: "POST", body: JSON.stringify({ model: "echo/echo-1", max_tokens: 5, messages: [{ role: "user", content: "x" }] }) });
    expect(res.status).toBe(401);
    const body = (await res.json()) as any;
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("authentication_error");
    expect(body.error.message).toStartWith("lmrelay: ");
  });

  test("stream through echo: text events and finalMessage()", async () => {
    const stream = client.messages.stream({ model: "echo/echo-1", max_tokens: 100, messages: [{ role: "user", content: "one two three" }] });
    const pieces: string[] = [];
    stream.on("text", (t) => pieces.push(t));
    const final = await stream.finalMessage();
    expect(pieces.join("")).toBe("one two three");
    expect(pieces.length).toBe(3);
    expect(final.content).toEqual([{ type: "text", text: "one two three" } as never]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  test("max_tokens reached → stop_reason max_tokens (stream and not)", async () => {
    const params = { model: "echo/echo-1", max_tokens: 2, messages: [{ role: "user" as const, content: "a b c d e" }] };
    const whole = await client.messages.create(params);
    expect(whole.stop_reason).toBe("max_tokens");
    expect((await client.messages.stream(params).finalMessage()).stop_reason).toBe("max_tokens");
  });

  test("the /anthropic prefix and ?beta=true (Claude Code) with role:system messages", async () => {
    const urls: string[] = [];
    const prefixed = new Anthropic({
      apiKey: CLIENT_KEY,
      baseURL: `${gw.url}/anthropic`,
      maxRetries: 0,
      fetch: (url, init) => {
        urls.push(String(url));
        return fetch(url, init);
      },
    });
    const res = await prefixed.beta.messages.create(
      {
        model: "local/llama3.2:latest",
        max_tokens: 50,
        system: [{ type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } }],
        messages: [{ role: "system", content: "Extra rules." } as never, { role: "user", content: "hi" }],
        betas: ["claude-code-20250219", "interleaved-thinking-2025-05-14"],
      },
      { query: { beta: "true" } },
    );
    expect(urls).toEqual([`${gw.url}/anthropic/v1/messages?beta=true`]);
    expect(res.content[0]).toEqual({ type: "text", text: "Hello from Ollama fake" } as never);
    const sent = lastBody(ollama, "/api/chat");
    // Hoisted after the top-level system, in order (the join separator is the upstream adapter's).
    expect(sent.messages[0].role).toBe("system");
    expect(sent.messages[0].content).toMatch(/^You are Claude Code\.\s+Extra rules\.$/);
    expect(sent.messages.filter((m: any) => m.role === "system")).toHaveLength(1);
    expect(sent.messages.at(-1)).toEqual({ role: "user", content: "hi" });
  });
});

describe("through a fake Ollama", () => {
  test("usage numbers are the upstream's, stream and not", async () => {
    ollama.reply({ text: "fine thanks", usage: { input: 123, output: 45 } });
    const params = { model: "local/llama3.2:latest", max_tokens: 50, system: "Be brief.", messages: [{ role: "user" as const, content: "how are you" }] };
    const whole = await client.messages.create(params);
    expect(whole.usage).toEqual({ input_tokens: 123, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 45 } as never);
    expect(lastBody(ollama, "/api/chat").messages[0]).toEqual({ role: "system", content: "Be brief." });
    const streamed = await client.messages.stream(params).finalMessage();
    expect(streamed.content).toEqual([{ type: "text", text: "fine thanks" } as never]);
    expect(streamed.usage).toEqual({ input_tokens: 123, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 45 } as never);
  });

  test("tool_use / tool_result round trip", async () => {
    ollama.reply({ toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }], usage: { input: 30, output: 9 } });
    const tools = [{ name: "get_weather", description: "Weather now", input_schema: { type: "object" as const, properties: { city: { type: "string" } } } }];
    const first = await client.messages.create({ model: "local/llama3.2:latest", max_tokens: 100, tools, messages: [{ role: "user", content: "Weather in Paris?" }] });
    expect(first.stop_reason).toBe("tool_use");
    const call = first.content.find((b) => b.type === "tool_use")!;
    expect(call).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } });
    expect(call.type === "tool_use" && call.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(lastBody(ollama, "/api/chat").tools[0].function).toEqual({ name: "get_weather", description: "Weather now", parameters: tools[0]!.input_schema });

    // The same call streamed: one tool_use block whose input the SDK assembles.
    const streamed = await client.messages.stream({ model: "local/llama3.2:latest", max_tokens: 100, tools, messages: [{ role: "user", content: "Weather in Paris?" }] }).finalMessage();
    expect(streamed.stop_reason).toBe("tool_use");
    expect(streamed.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "get_weather", input: { city: "Paris" } });

    ollama.reply({ text: "It is 18C in Paris." });
    const second = await client.messages.create({
      model: "local/llama3.2:latest",
      max_tokens: 100,
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.type === "tool_use" ? call.id : "", content: "18C and sunny" }] },
      ],
    });
    expect(second.content).toEqual([{ type: "text", text: "It is 18C in Paris." } as never]);
    const sent = lastBody(ollama, "/api/chat").messages;
    expect(sent.find((m: any) => m.role === "assistant").tool_calls[0].function).toEqual({ name: "get_weather", arguments: { city: "Paris" } });
    expect(sent.find((m: any) => m.role === "tool")).toMatchObject({ role: "tool", content: "18C and sunny", tool_name: "get_weather" });
  });

  test("an upstream error mid-stream reaches the SDK as an error event", async () => {
    ollama.reply({ text: "this will break", chunkDelayMs: 1 });
    ollama.failMidStream("model runner crashed", 2);
    const stream = client.messages.stream({ model: "local/llama3.2:latest", max_tokens: 50, messages: [{ role: "user", content: "go" }] });
    const err = await stream.finalMessage().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(String((err as Error).message)).toContain("model runner crashed");
    ollama.reply({});
  });
});

describe("through a fake Anthropic", () => {
  test("cache usage and thinking signatures survive, stream and not", async () => {
    claude.reply({ text: "Cached answer.", thinking: "Think first.", usage: { input: 100, output: 20, cached: 30 }, cacheWrite: 10 });
    const params = {
      model: "claude/claude-sonnet-4-5-20250929",
      max_tokens: 4096,
      thinking: { type: "enabled" as const, budget_tokens: 1024 },
      messages: [{ role: "user" as const, content: "hello" }],
    };
    const usage = { input_tokens: 60, cache_creation_input_tokens: 10, cache_read_input_tokens: 30, output_tokens: 20 };
    for (const answer of [await client.messages.create(params), await client.messages.stream(params).finalMessage()]) {
      expect(answer.usage).toMatchObject(usage);
      expect(answer.content[0]).toMatchObject({ type: "thinking", thinking: "Think first." });
      expect((answer.content[0] as { signature: string }).signature).toStartWith("sig_");
      expect(answer.content[1]).toEqual({ type: "text", text: "Cached answer." } as never);
    }
    expect(lastBody(claude, "/v1/messages").thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    // The client's beta flags reach an Anthropic upstream.
    await client.beta.messages.create({ ...params, betas: ["interleaved-thinking-2025-05-14"] });
    expect(claude.requests.at(-1)!.headers["anthropic-beta"]).toContain("interleaved-thinking-2025-05-14");
    claude.reply({});
  });
});

describe("count_tokens and models", () => {
  test("count_tokens for an upstream without a counter answers the lmrelay estimate, flagged, at both prefixes", async () => {
    const body = { model: "echo/echo-1", system: "Be brief.", messages: [{ role: "user" as const, content: "How many tokens is this sentence?" }] };
    const want = estimatePromptTokens(decodeMessagesRequest(body, { requireMaxTokens: false }));
    expect(want).toBeGreaterThan(0);
    const { data, response } = await client.messages.countTokens(body).withResponse();
    expect(data).toEqual({ input_tokens: want } as never);
    expect(response.headers.get("x-lmrelay-estimated")).toBe("true");
    const prefixed = new Anthropic({ apiKey: CLIENT_KEY, baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    expect(await prefixed.messages.countTokens(body)).toEqual({ input_tokens: want } as never);
  });

  test("models list with SDK pagination, and one model", async () => {
    const prefixed = new Anthropic({ apiKey: CLIENT_KEY, baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    const all: string[] = [];
    for await (const model of prefixed.models.list({ limit: 1 })) {
      all.push(model.id);
      if (all.length > 50) break;
    }
    expect(all).toContain("echo/echo-1");
    expect(all).toContain("local/llama3.2:latest");
    expect(new Set(all).size).toBe(all.length);
    const one = await prefixed.models.retrieve("local/llama3.2:latest");
    expect(one).toMatchObject({ type: "model", id: "local/llama3.2:latest", display_name: "local/llama3.2:latest" });
    expect(Number.isNaN(Date.parse(one.created_at))).toBe(false);
    const missing = await prefixed.models.retrieve("nope/none").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe("bad input → Anthropic-shaped errors starting with `lmrelay: `", () => {
  async function post(path: string, body: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { "x-api-key": CLIENT_KEY, "content-type": "application/json" }, body });
    return { status: res.status, body: await res.json() };
  }
  const cases: { name: string; path?: string; body: string; status: number; type: string; contains: string }[] = [
    { name: "malformed JSON", body: '{"model": ', status: 400, type: "invalid_request_error", contains: "not valid JSON" },
    { name: "empty body", body: "", status: 400, type: "invalid_request_error", contains: "empty" },
    { name: "missing model", body: JSON.stringify({ max_tokens: 5, messages: [{ role: "user", content: "x" }] }), status: 400, type: "invalid_request_error", contains: "model: field required" },
    { name: "missing max_tokens", body: JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: "x" }] }), status: 400, type: "invalid_request_error", contains: "max_tokens: field required" },
    { name: "messages of the wrong type", body: JSON.stringify({ model: "echo/echo-1", max_tokens: 5, messages: {} }), status: 400, type: "invalid_request_error", contains: "messages: expected an array" },
    { name: "server tool", body: JSON.stringify({ model: "echo/echo-1", max_tokens: 5, messages: [{ role: "user", content: "x" }], tools: [{ type: "web_search_20250305", name: "web_search" }] }), status: 400, type: "invalid_request_error", contains: "server tool" },
    { name: "count_tokens with a bad body", path: "/v1/messages/count_tokens", body: JSON.stringify({ model: "echo/echo-1" }), status: 400, type: "invalid_request_error", contains: "messages: field required" },
    { name: "unknown model", body: JSON.stringify({ model: "no-such-model", max_tokens: 5, messages: [{ role: "user", content: "x" }] }), status: 404, type: "not_found_error", contains: "no-such-model" },
    { name: "unknown path under /anthropic", path: "/anthropic/v1/nothing", body: "{}", status: 404, type: "not_found_error", contains: "/anthropic/v1/nothing" },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const res = await post(c.path ?? "/v1/messages", c.body);
      expect(res.status).toBe(c.status);
      expect(res.body.type).toBe("error");
      expect(res.body.error.type).toBe(c.type);
      expect(res.body.error.message).toStartWith("lmrelay: ");
      expect(res.body.error.message).toContain(c.contains);
      expect(typeof res.body.request_id).toBe("string");
    });
  }

  test("odd shapes anywhere in the body are 400s, never 500s", async () => {
    const ok = { model: "echo/echo-1", max_tokens: 5, messages: [{ role: "user", content: "x" }] };
    const user = (content: unknown) => ({ ...ok, messages: [{ role: "user", content }] });
    const bodies: unknown[] = [
      null,
      1,
      "text",
      [],
      {},
      { ...ok, model: null },
      { ...ok, max_tokens: 1.5 },
      { ...ok, messages: [null] },
      user([null]),
      user([{ type: "image" }]),
      user([{ type: "image", source: { type: "base64" } }]),
      user([{ type: "document", source: null }]),
      user([{ type: "tool_result" }]),
      user([{ type: "tool_result", tool_use_id: "t", content: [{ type: "video" }] }]),
      { ...ok, messages: [{ role: "assistant", content: [{ type: "thinking" }] }] },
      { ...ok, system: 5 },
      { ...ok, system: [null] },
      { ...ok, tools: "x" },
      { ...ok, tools: [null] },
      { ...ok, tools: [{ name: "f", input_schema: "object" }] },
      { ...ok, tool_choice: "auto" },
      { ...ok, metadata: "x" },
      { ...ok, metadata: { user_id: 5 } },
      { ...ok, thinking: "on" },
      { ...ok, thinking: { type: "enabled", budget_tokens: "many" } },
      { ...ok, output_config: 5 },
      { ...ok, output_config: { effort: "extreme" } },
      { ...ok, stop_sequences: "END" },
      { ...ok, top_k: 1.5 },
    ];
    for (const body of bodies) {
      for (const path of ["/v1/messages", "/anthropic/v1/messages/count_tokens"]) {
        const res = await post(path, JSON.stringify(body));
        if (res.status !== 400) throw new Error(`${path} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
        expect(res.body.error.type).toBe("invalid_request_error");
        expect(res.body.error.message).toStartWith("lmrelay: ");
      }
    }
  });

  test("the SDK surfaces a missing max_tokens as BadRequestError", async () => {
    const err = await client.messages.create({ model: "echo/echo-1", messages: [{ role: "user", content: "x" }] } as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).message).toContain("lmrelay: max_tokens: field required");
  });
});
