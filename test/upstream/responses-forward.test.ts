import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import { azureAdapter } from "../../src/upstream/azure";
import { openaiAdapter } from "../../src/upstream/openai";
import { type OpenAIFake, startAzureFake } from "../fakes/openai";
import { type ResponsesFake, startResponsesFake } from "../fakes/openai-responses";
import { callTo, chatRequest, collect, providerOf } from "./openai-helpers";

// The native Responses passthrough at the adapter (upstream/openai/responses-forward.ts), and the
// fake it is tested against, itself checked with the `openai` SDK pointed straight at it.

const KEY = "sk-forward-test";
let native: ResponsesFake;
let azure: OpenAIFake;

beforeAll(async () => {
  [native, azure] = await Promise.all([startResponsesFake({ keys: [KEY] }), startAzureFake({ keys: ["az-key"], deployments: ["prod-5"] })]);
});
afterAll(async () => {
  await Promise.all([native.stop(), azure.stop()]);
});

function responsesRequest(body: Record<string, unknown>): ChatRequest {
  return { ...chatRequest({ stream: body.stream === true }), original: { protocol: "responses", text: JSON.stringify(body), body } };
}

describe("the fake serving the Responses API, read by the openai SDK directly", () => {
  const sdk = () => new OpenAI({ baseURL: `${native.url}/v1`, apiKey: KEY, maxRetries: 0 });

  test("create, stream + finalResponse, tool calls, previous_response_id", async () => {
    native.reply({ text: "from the fake", reasoning: "pondering" });
    const res = await sdk().responses.create({ model: "gpt-5", input: "hi" });
    expect(res.output_text).toBe("from the fake");
    const stream = sdk().responses.stream({ model: "gpt-5", input: "hi" });
    expect((await stream.finalResponse()).output_text).toBe("from the fake");
    native.reply({ toolCalls: [{ id: "call_f1", name: "weather", arguments: { city: "Paris" } }] });
    const call = await sdk().responses.create({ model: "gpt-5", input: "weather?", tools: [{ type: "function", name: "weather", parameters: {}, strict: false }] });
    expect(call.output.at(-1)).toMatchObject({ type: "function_call", call_id: "call_f1", name: "weather" });
    native.reply({ text: "sunny" });
    const next = await sdk().responses.create({ model: "gpt-5", previous_response_id: call.id, input: [{ type: "function_call_output", call_id: "call_f1", output: "sunny" }] });
    expect(next.output_text).toBe("sunny");
  });

  test("strict like the API: an output with no call, lmrelay's reasoning envelope, an unknown previous id", async () => {
    const orphan = await sdk().responses.create({ model: "gpt-5", input: [{ type: "function_call_output", call_id: "nope", output: "x" }] }).catch((e: unknown) => e);
    expect(orphan).toBeInstanceOf(OpenAI.BadRequestError);
    const foreign = await sdk().responses.create({ model: "gpt-5", input: [{ type: "reasoning", id: "rs_1", summary: [], encrypted_content: "lmrelay.r1.xyz" }] }).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(OpenAI.BadRequestError);
    const unknown = await sdk().responses.create({ model: "gpt-5", previous_response_id: "resp_unknown", input: "x" }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("forward", () => {
  test("goes only for a Responses original to openai/azure providers", () => {
    const p = providerOf({ type: "openai", baseUrl: `${native.url}/v1`, keys: [KEY] });
    expect(openaiAdapter.forward!(chatRequest(), callTo(p, "gpt-5"))).toBeUndefined();
    const az = providerOf({ type: "azure", baseUrl: azure.url, keys: ["az-key"] }, "az");
    const chatOriginal = { ...chatRequest(), original: { protocol: "openai" as const, text: '{"model":"m","messages":[]}', body: { model: "m", messages: [] } } };
    expect(azureAdapter.forward!(chatOriginal, callTo(az, "gpt-5"))).toBeUndefined();
    const compat = providerOf({ type: "openai-compatible", baseUrl: `${native.url}/v1`, keys: [KEY] });
    expect(openaiAdapter.forward!(responsesRequest({ model: "x", input: "hi" }), callTo(compat, "gpt-5"))).toBeUndefined();
  });

  test("the body as sent, model changed; the answer as raw bytes plus its usage", async () => {
    native.reply({ text: "native" });
    const p = providerOf({ type: "openai", baseUrl: `${native.url}/v1`, keys: [KEY] });
    const reply = await openaiAdapter.forward!(responsesRequest({ model: "native/gpt-5", input: "hi", tools: [{ type: "web_search" }] }), callTo(p, "gpt-5"))!;
    expect(reply.raw).toBe(true);
    const events = await collect(reply.events);
    const raw = events.find((e): e is Extract<StreamEvent, { type: "raw" }> => e.type === "raw")!;
    expect(JSON.parse(String(raw.data)).output[0].content[0].text).toBe("native");
    expect(events.find((e) => e.type === "usage")).toEqual({ type: "usage", usage: { inputTokens: 21, outputTokens: 9 } });
    expect(native.requests.at(-1)!.body).toEqual({ model: "gpt-5", input: "hi", tools: [{ type: "web_search" }] });
    expect(native.requests.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  test("stream: frames before the first content are held, then relayed whole with the usage decoded", async () => {
    native.reply({ text: "streamed natively" });
    const p = providerOf({ type: "openai", baseUrl: `${native.url}/v1`, keys: [KEY] });
    const reply = await openaiAdapter.forward!(responsesRequest({ model: "gpt-5", input: "hi", stream: true }), callTo(p, "gpt-5"))!;
    const events = await collect(reply.events);
    const raws = events.filter((e): e is Extract<StreamEvent, { type: "raw" }> => e.type === "raw");
    expect(raws[0]!.content).toBe(true);
    expect(String(raws[0]!.data)).toStartWith("event: response.created\n");
    const text = raws.map((r) => String(r.data)).join("");
    expect(text).toContain("event: response.completed\n");
    expect(events.some((e) => e.type === "usage")).toBe(true);
    expect(events.find((e) => e.type === "finish")).toEqual({ type: "finish", reason: "stop" });
  });

  test("azure: /openai/responses with a preview api-version and the deployment as model; a 404 there falls back to the deployment's Chat Completions", async () => {
    azure.reply({ text: "via chat completions" });
    const p = providerOf({ type: "azure", baseUrl: azure.url, keys: ["az-key"], deployments: { "gpt-5": "prod-5" }, apiVersion: "2024-10-21" }, "az");
    const reply = await azureAdapter.forward!(responsesRequest({ model: "az/gpt-5", input: "hi" }), callTo(p, "gpt-5"))!;
    expect(reply.raw).toBeUndefined();
    const events = await collect(reply.events);
    expect(events.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe("via chat completions");
    const urls = azure.requests.map((r) => r.url);
    expect(urls).toEqual(["/openai/responses?api-version=2025-04-01-preview", "/openai/deployments/prod-5/chat/completions?api-version=2024-10-21"]);
    expect(azure.requests[0]!.body.model).toBe("prod-5");
    // Remembered: the next Responses request for this provider is not forwarded at all.
    expect(azureAdapter.forward!(responsesRequest({ model: "az/gpt-5", input: "again" }), callTo(p, "gpt-5"))).toBeUndefined();
  });
});
