import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import { azureAdapter, DEFAULT_AZURE_API_VERSION } from "../../src/upstream/azure";
import { adapterFor } from "../../src/upstream/registry";
import { type OpenAIFake, startAzureFake } from "../fakes/openai";
import { callTo, chatRequest, collect, providerOf } from "./openai-helpers";

const KEY = "azure-key-0123456789";
let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startAzureFake({ keys: [KEY], deployments: ["prod-4o", "embed-small", "gpt-4o-mini"] });
});
afterAll(() => fake.stop());

const azure = (extra: Record<string, unknown> = {}) =>
  providerOf({ type: "azure", baseUrl: fake.url, keys: [KEY], deployments: { "gpt-4o": "prod-4o", "text-embedding-3-small": "embed-small" }, apiVersion: "2025-04-01-preview", ...extra }, "az");

describe("azure adapter", () => {
  test("registered for the azure wire", () => expect(adapterFor("azure")).toBe(azureAdapter));

  test("deployment URL with api-version, api-key header, no Authorization", async () => {
    fake.reply({ text: "hi from azure", usage: { input: 3, output: 2 } });
    const r = foldEvents(await collect((await azureAdapter.chat(chatRequest({ maxTokens: 7 }), callTo(azure(), "gpt-4o"))).events));
    expect(r.content).toEqual([{ type: "text", text: "hi from azure" }]);
    expect(r.usage).toEqual({ inputTokens: 3, outputTokens: 2 });
    const req = fake.requests.at(-1)!;
    expect(req.url).toBe("/openai/deployments/prod-4o/chat/completions?api-version=2025-04-01-preview");
    expect(req.headers["api-key"]).toBe(KEY);
    expect(req.headers.authorization).toBeUndefined();
    expect(req.body).toMatchObject({ model: "gpt-4o", max_completion_tokens: 7 });
  });

  test("no deployment mapping: the model name is the deployment; default api-version", async () => {
    await collect((await azureAdapter.chat(chatRequest(), callTo(azure({ apiVersion: undefined }), "gpt-4o-mini"))).events);
    expect(fake.requests.at(-1)!.url).toBe(`/openai/deployments/gpt-4o-mini/chat/completions?api-version=${DEFAULT_AZURE_API_VERSION}`);
  });

  test("stream: the empty first chunk is skipped; id/model from the first real chunk; usage asked", async () => {
    fake.reply({ text: "streamed words", usage: { input: 5, output: 2 } });
    const events = await collect((await azureAdapter.chat(chatRequest({ stream: true }), callTo(azure(), "gpt-4o"))).events);
    expect(events[0]).toMatchObject({ type: "start", model: "gpt-4o" });
    expect((events[0] as { id?: string }).id).toMatch(/^chatcmpl-fake/);
    expect(events.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe("streamed words");
    expect(events.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 5, outputTokens: 2 } });
    expect(fake.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
  });

  test("output filtered: 200 with finish_reason content_filter", async () => {
    fake.reply({ text: "partial", finishReason: "content_filter" });
    const r = foldEvents(await collect((await azureAdapter.chat(chatRequest({ stream: true }), callTo(azure(), "gpt-4o"))).events));
    expect(r.finishReason).toBe("content_filter");
    fake.reply({});
  });

  test("prompt filtered: 400 code content_filter → kind content_filter", async () => {
    fake.fail({
      kind: "status",
      status: 400,
      body: {
        error: {
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
          type: null,
          param: "prompt",
          code: "content_filter",
          status: 400,
          innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { hate: { filtered: true, severity: "high" } } },
        },
      },
    });
    const err = (await azureAdapter.chat(chatRequest(), callTo(azure(), "gpt-4o")).catch((e) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect([err.kind, err.status, err.code, err.param, err.provider]).toEqual(["content_filter", 400, "content_filter", "prompt", "az"]);
    expect(err.message.startsWith("az: The response was filtered")).toBe(true);
  });

  test("wrong key → 401 authentication; unknown deployment → 404 DeploymentNotFound", async () => {
    const bad = await azureAdapter.chat(chatRequest(), callTo(azure({ keys: ["other-key-xyz"] }), "gpt-4o")).catch((e) => e);
    expect([bad.kind, bad.status, bad.code]).toEqual(["authentication", 401, undefined]);
    expect(bad.message).toStartWith("az: Access denied");
    const missing = await azureAdapter.chat(chatRequest(), callTo(azure(), "no-such-model")).catch((e) => e);
    expect([missing.kind, missing.status, missing.code]).toEqual(["not_found", 404, "DeploymentNotFound"]);
  });

  test("429 with Azure's retry-after-ms and retry-after headers", async () => {
    fake.fail({
      kind: "status",
      status: 429,
      body: { error: { code: "429", message: "Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 6 seconds." } },
      headers: { "retry-after": "6", "retry-after-ms": "5800" },
    });
    const err = await azureAdapter.chat(chatRequest(), callTo(azure(), "gpt-4o")).catch((e) => e);
    expect([err.kind, err.status, err.retryAfterMs]).toEqual(["rate_limited", 429, 5800]);
  });

  test("embeddings go to the embedding deployment", async () => {
    const res = await azureAdapter.embed!({ model: "x", input: ["a"] }, callTo(azure(), "text-embedding-3-small"));
    expect(res.vectors).toHaveLength(1);
    const req = fake.requests.at(-1)!;
    expect(req.url).toBe("/openai/deployments/embed-small/embeddings?api-version=2025-04-01-preview");
    expect(req.body.encoding_format).toBe("float");
  });

  test("catalog = configured deployments, without a request", async () => {
    const before = fake.requests.length;
    expect(await azureAdapter.listModels!(azure(), azure().keys[0], AbortSignal.timeout(1000))).toEqual(["gpt-4o", "text-embedding-3-small"]);
    expect(fake.requests.length).toBe(before);
  });

  test("v1 surface (baseUrl …/openai/v1): plain paths, deployment as model, no api-version", async () => {
    const v1 = providerOf({ type: "azure", baseUrl: `${fake.url}/openai/v1`, keys: [KEY], deployments: { "gpt-4o": "prod-4o" } }, "az");
    await collect((await azureAdapter.chat(chatRequest(), callTo(v1, "gpt-4o"))).events);
    const req = fake.requests.at(-1)!;
    expect(req.url).toBe("/openai/v1/chat/completions");
    expect(req.body.model).toBe("prod-4o");
    expect(req.headers["api-key"]).toBe(KEY);
    const bare = providerOf({ type: "azure", baseUrl: `${fake.url}/openai/v1`, keys: [KEY] }, "az");
    expect(await azureAdapter.listModels!(bare, bare.keys[0], AbortSignal.timeout(5000))).toEqual(fake.models);
    expect(fake.requests.at(-1)!.url).toBe("/openai/v1/models");
  });
});
