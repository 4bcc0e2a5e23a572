import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { ResponseFunctionToolCall, ResponseInputItem } from "openai/resources/responses/responses";
import { thoughtSignatures } from "../../src/upstream/gemini/signatures";
import { FAKE_THOUGHT_SIGNATURE } from "../fakes/gemini";
import { answerRequests, OTHER_KEY, RESPONSES_KEY, type ResponsesRig, startResponsesRig, toolThenAnswer, UPSTREAMS, type UpstreamName } from "./responses-rig";

// The `openai` SDK's Responses API, unmodified, through lmrelay to every kind of upstream:
// create, stream + finalResponse, a tool round trip over previous_response_id, retrieve,
// input_items, delete; the store's scoping and 404s; hosted tools; the native passthrough and its
// fallback to Chat Completions.

let rig: ResponsesRig;
let client: OpenAI;

beforeAll(async () => {
  rig = await startResponsesRig();
  client = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: RESPONSES_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => rig.reset());

const WEATHER_TOOL = {
  type: "function" as const,
  name: "weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true,
};
const RESULT = "Sunny, 21 degrees in Paris";
const FINAL = "It is sunny and 21 degrees in Paris.";

const names = Object.keys(UPSTREAMS) as UpstreamName[];

describe.each(names)("openai SDK responses → %s upstream", (name) => {
  const model = UPSTREAMS[name];

  test("responses.create: text, usage, status, and the response is stored", async () => {
    rig.fake(name).reply({ text: "Bonjour from upstream" });
    const res = await client.responses.create({ model, instructions: "Be brief.", input: "Say hello" });
    expect(res.object).toBe("response");
    expect(res.id).toStartWith("resp_");
    expect(res.status).toBe("completed");
    expect(res.output_text).toBe("Bonjour from upstream");
    expect(res.usage!.input_tokens).toBeGreaterThan(0);
    expect(res.usage!.output_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + res.usage!.output_tokens);
    const again = await client.responses.retrieve(res.id);
    expect(again.output_text).toBe("Bonjour from upstream");
  });

  test("responses.stream + finalResponse: events in order with rising sequence numbers", async () => {
    rig.fake(name).reply({ text: "one two three four five six" });
    const stream = client.responses.stream({ model, input: "count" });
    const seen: { type: string; seq: number }[] = [];
    let deltas = "";
    for await (const ev of stream) {
      seen.push({ type: ev.type, seq: ev.sequence_number });
      if (ev.type === "response.output_text.delta") deltas += ev.delta;
    }
    const final = await stream.finalResponse();
    expect(final.output_text).toBe("one two three four five six");
    expect(deltas).toBe("one two three four five six");
    expect(seen.map((s) => s.seq)).toEqual(seen.map((_, i) => i));
    expect(seen[0]!.type).toBe("response.created");
    expect(seen[1]!.type).toBe("response.in_progress");
    expect(seen.at(-1)!.type).toBe("response.completed");
    expect(seen.map((s) => s.type)).toContain("response.output_item.done");
  });

  test("tool round trip over previous_response_id; retrieve, input_items, delete", async () => {
    toolThenAnswer(rig.fake(name), { id: "call_rt1", name: "weather", arguments: { city: "Paris" } }, RESULT, FINAL);
    const first = await client.responses.create({ model, input: "Weather in Paris?", tools: [WEATHER_TOOL] });
    const call = first.output.find((o): o is ResponseFunctionToolCall => o.type === "function_call")!;
    expect(call).toBeDefined();
    expect(call.name).toBe("weather");
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
    expect(call.call_id).toBeTruthy();
    const output: ResponseInputItem = { type: "function_call_output", call_id: call.call_id, output: RESULT };
    const second = await client.responses.create({ model, previous_response_id: first.id, input: [output], tools: [WEATHER_TOOL] });
    expect(second.output_text).toBe(FINAL);
    // A native upstream got the history written out (it knows no lmrelay id), so it echoes none.
    expect(second.previous_response_id).toBe(name === "native" ? null : first.id);
    // The upstream saw the whole conversation: question, call, result.
    const last = answerRequests(rig.fake(name)).at(-1)!;
    const wire = JSON.stringify(last.body);
    expect(wire).toContain("Weather in Paris?");
    expect(wire).toContain(RESULT);
    const items = await client.responses.inputItems.list(second.id);
    expect(items.data.map((i) => i.type)).toEqual(["function_call_output"]);
    expect(items.data[0]!.id).toBeTruthy();
    const deleted = await client.responses.delete(second.id);
    expect(deleted).toMatchObject({ id: second.id, object: "response", deleted: true });
    const gone = await client.responses.retrieve(second.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect((gone as Error).message).toContain("lmrelay: ");
  });
});

describe("the store", () => {
  test("another client's response id is a 404, as a path and as previous_response_id", async () => {
    const mine = await client.responses.create({ model: UPSTREAMS.anthropic, input: "hi" });
    const other = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
    const get = await other.responses.retrieve(mine.id).catch((e: unknown) => e);
    expect(get).toBeInstanceOf(OpenAI.NotFoundError);
    const chained = await other.responses.create({ model: UPSTREAMS.anthropic, previous_response_id: mine.id, input: "again" }).catch((e: unknown) => e);
    expect(chained).toBeInstanceOf(OpenAI.NotFoundError);
    expect((chained as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ param: "previous_response_id", type: "invalid_request_error" });
    expect((chained as Error).message).toContain("lmrelay: previous response");
    const del = await other.responses.delete(mine.id).catch((e: unknown) => e);
    expect(del).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  test("store: false keeps nothing", async () => {
    const res = await client.responses.create({ model: UPSTREAMS.anthropic, input: "forget me", store: false });
    expect((res as unknown as { store: boolean }).store).toBe(false);
    expect(await client.responses.retrieve(res.id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    const chained = await client.responses.create({ model: UPSTREAMS.anthropic, previous_response_id: res.id, input: "x" }).catch((e: unknown) => e);
    expect(chained).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("an unknown item_reference is a 404; a known one resolves to the stored item", async () => {
    const unknown = await client.responses.create({ model: UPSTREAMS.anthropic, input: [{ type: "item_reference", id: "msg_nope" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as Error).message).toContain('lmrelay: item "msg_nope" not found');
    rig.anthropic.reply({ text: "stored answer" });
    const first = await client.responses.create({ model: UPSTREAMS.anthropic, input: "first" });
    rig.anthropic.reply({ text: "second answer" });
    await client.responses.create({ model: UPSTREAMS.anthropic, input: [{ role: "user", content: "first" }, { type: "item_reference", id: first.output[0]!.id! }, { role: "user", content: "and now?" }] });
    const sent = answerRequests(rig.anthropic).at(-1)!.body.messages;
    expect(sent).toEqual([
      { role: "user", content: [{ type: "text", text: "first" }] },
      { role: "assistant", content: [{ type: "text", text: "stored answer" }] },
      { role: "user", content: [{ type: "text", text: "and now?" }] },
    ]);
  });

  test("bad input is a 400 in OpenAI's shape naming the field", async () => {
    const bad = await client.responses.create({ model: UPSTREAMS.anthropic, input: [{ type: "no_such_item" } as never] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: "input[0].type", type: "invalid_request_error" });
    expect((bad as Error).message).toContain("lmrelay: ");
    const noCall = await client.responses.create({ model: UPSTREAMS.anthropic, input: [{ type: "function_call", name: "x", arguments: "{}" } as never] }).catch((e: unknown) => e);
    expect(noCall).toBeInstanceOf(OpenAI.BadRequestError);
    expect((noCall as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: "input[0].call_id" });
  });
});

describe("namespace tools (Codex's multi_agent_v1)", () => {
  const NAMESPACE = {
    type: "namespace",
    name: "multi_agent_v1",
    description: "Sub-agents",
    tools: [{ type: "function", name: "spawn_agent", description: "Start an agent", parameters: { type: "object", properties: { task: { type: "string" } }, required: ["task"] } }],
  };

  test.each(["anthropic", "gemini"] as const)("flattened for %s, the call comes back with its namespace, and goes back flattened", async (name) => {
    toolThenAnswer(rig.fake(name), { id: "call_ns1", name: "multi_agent_v1__spawn_agent", arguments: { task: "lint" } }, "agent started", "Spawned.");
    const first = await client.responses.create({ model: UPSTREAMS[name], input: "spawn a linter", tools: [NAMESPACE as never] });
    const call = first.output.find((o) => o.type === "function_call") as ResponseFunctionToolCall & { namespace?: string };
    expect([call.name, call.namespace, JSON.parse(call.arguments)]).toEqual(["spawn_agent", "multi_agent_v1", { task: "lint" }]);
    const second = await client.responses.create({
      model: UPSTREAMS[name],
      tools: [NAMESPACE as never],
      store: false,
      input: [{ role: "user", content: "spawn a linter" }, { type: "function_call", call_id: call.call_id, name: "spawn_agent", namespace: "multi_agent_v1", arguments: call.arguments } as never, { type: "function_call_output", call_id: call.call_id, output: "agent started" }],
    });
    expect(second.output_text).toBe("Spawned.");
    expect(JSON.stringify(answerRequests(rig.fake(name)).at(-1)!.body)).toContain("multi_agent_v1__spawn_agent");
  });
});

describe("reasoning round trip", () => {
  test("Anthropic thinking streams as a reasoning summary; sent back, it reaches Anthropic signed and no one else", async () => {
    rig.anthropic.reply({ thinking: "Let me weigh this.", text: "Forty-two." });
    const stream = client.responses.stream({ model: UPSTREAMS.anthropic, input: "Meaning of life?", reasoning: { effort: "high", summary: "auto" }, max_output_tokens: 4000, store: false });
    const types = new Set<string>();
    for await (const ev of stream) types.add(ev.type);
    const final = await stream.finalResponse();
    expect(types.has("response.reasoning_summary_text.delta")).toBe(true);
    expect(types.has("response.reasoning_summary_part.added")).toBe(true);
    const reasoning = final.output[0]!;
    expect(reasoning).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: "Let me weigh this." }] });
    const history = [{ role: "user" as const, content: "Meaning of life?" }, ...final.output, { role: "user" as const, content: "Why?" }] as never[];
    await client.responses.create({ model: UPSTREAMS.anthropic, input: history, reasoning: { effort: "high" }, max_output_tokens: 4000, store: false });
    const sent = answerRequests(rig.anthropic).at(-1)!.body.messages;
    expect(sent[1].content[0]).toMatchObject({ type: "thinking", thinking: "Let me weigh this.", signature: expect.stringMatching(/^sig_/) });
    // To another provider the same history goes without the thinking.
    await client.responses.create({ model: UPSTREAMS.ollama, input: history, store: false });
    expect(JSON.stringify(answerRequests(rig.ollama).at(-1)!.body)).not.toContain("Let me weigh this.");
  });

  test("a Gemini thought signature rides in the envelope and comes back even when lmrelay's cache has forgotten it", async () => {
    toolThenAnswer(rig.gemini, { id: "ignored", name: "weather", arguments: { city: "Paris" } }, RESULT, FINAL);
    const first = await client.responses.create({ model: UPSTREAMS.gemini, input: "Weather in Paris?", tools: [WEATHER_TOOL], store: false });
    expect(first.output.map((o) => o.type)).toEqual(["reasoning", "function_call"]);
    const call = first.output[1] as ResponseFunctionToolCall;
    // As after a restart: the adapter's own memory of signatures is empty.
    (thoughtSignatures as unknown as { byId: Map<string, string> }).byId.clear();
    const second = await client.responses.create({ model: UPSTREAMS.gemini, tools: [WEATHER_TOOL], store: false, input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, { type: "function_call_output", call_id: call.call_id, output: RESULT }] as never[] });
    expect(second.output_text).toBe(FINAL);
    const model = answerRequests(rig.gemini).at(-1)!.body.contents.find((c: { role: string }) => c.role === "model");
    expect(model.parts[0]).toMatchObject({ functionCall: { name: "weather" }, thoughtSignature: FAKE_THOUGHT_SIGNATURE });
  });
});

describe("hosted tools", () => {
  test("an offered web_search is left out for a translated upstream and named in x-lmrelay-adjusted", async () => {
    const { data, response } = await client.responses
      .create({ model: UPSTREAMS.anthropic, input: "hi", tools: [{ type: "web_search" }, WEATHER_TOOL] })
      .withResponse();
    expect(data.status).toBe("completed");
    expect(response.headers.get("x-lmrelay-adjusted")).toContain("tools.web_search dropped (hosted tool)");
    expect(answerRequests(rig.anthropic).at(-1)!.body.tools.map((t: { name: string }) => t.name)).toEqual(["weather"]);
    rig.gw.runtime.audit.flush();
    const row = rig.gw.runtime.db.$client.query("SELECT adjusted FROM requests WHERE request_id = ?").get(response.headers.get("x-request-id")) as { adjusted: string };
    expect(row.adjusted).toContain("tools.web_search dropped (hosted tool)");
  });

  test("a tool_choice forcing a hosted tool is a 400 naming it", async () => {
    const err = await client.responses.create({ model: UPSTREAMS.anthropic, input: "hi", tools: [{ type: "web_search" }], tool_choice: { type: "web_search" } as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('"web_search"');
  });

  test("the native upstream gets hosted tools as they are", async () => {
    const { response } = await client.responses.create({ model: UPSTREAMS.native, input: "hi", tools: [{ type: "web_search" }] }).withResponse();
    expect(response.headers.get("x-lmrelay-adjusted")).toBeNull();
    const sent = answerRequests(rig.native).at(-1)!;
    expect(sent.path).toBe("/v1/responses");
    expect(sent.body.tools).toEqual([{ type: "web_search" }]);
    expect(sent.body.model).toBe("gpt-5");
    // Nothing was left out on the way to a native upstream: nothing is named.
  });
});

describe("native passthrough", () => {
  test("streamed bytes are the upstream's; the response is stored and chains with the full history inlined", async () => {
    rig.native.reply({ text: "native words", reasoning: "thinking natively" });
    const stream = client.responses.stream({ model: UPSTREAMS.native, input: "go", include: ["reasoning.encrypted_content"] });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe("native words");
    expect(final.id).toStartWith("resp_fake");
    const reasoning = final.output.find((o) => o.type === "reasoning")!;
    expect(reasoning).toMatchObject({ encrypted_content: expect.stringContaining("gAAAAB-fake-openai-sealed:") });
    const next = await client.responses.create({ model: UPSTREAMS.native, previous_response_id: final.id, input: "more" });
    expect(next.status).toBe("completed");
    const sent = answerRequests(rig.native).at(-1)!.body;
    expect(sent.previous_response_id).toBeUndefined();
    expect(sent.input.map((i: { type?: string }) => i.type ?? "message")).toEqual(["message", "reasoning", "message", "message"]);
  });

  test("an OpenAI-compatible server without /responses: 404 there, served through Chat Completions, remembered", async () => {
    const first = await client.responses.create({ model: UPSTREAMS.openaiChat, input: "hello" });
    expect(first.status).toBe("completed");
    await client.responses.create({ model: UPSTREAMS.openaiChat, input: "hello again" });
    // Every test before this one may have tried /responses once already; after the first 404 it is never asked again.
    const paths = rig.openai.requests.filter((r) => r.method === "POST").map((r) => r.path);
    expect(paths.at(-1)).toBe("/v1/chat/completions");
    expect(paths.at(-2)).toBe("/v1/chat/completions");
    expect(paths.filter((p) => p === "/v1/responses").length).toBeLessThanOrEqual(1);
  });
});

describe("audit", () => {
  test("rows carry protocol responses and the served provider", async () => {
    const res = await client.responses.create({ model: UPSTREAMS.anthropic, input: "audit me" }).withResponse();
    const requestId = res.response.headers.get("x-request-id")!;
    rig.gw.runtime.audit.flush();
    const row = rig.gw.runtime.db.$client.query("SELECT protocol, endpoint, provider, status FROM requests WHERE request_id = ?").get(requestId);
    expect(row).toEqual({ protocol: "responses", endpoint: "/v1/responses", provider: "claude", status: 200 });
  });
});
