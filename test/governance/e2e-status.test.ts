import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Governance refusals as each inbound protocol's official SDK sees them: 401 (no or wrong key),
// 403 (model outside the client's allow-list), 404 (unknown model), 429 (over rpm) with
// Retry-After and the protocol's rate-limit headers; and what a client is allowed to list.

let gw: TestGateway;
let upstream: OpenAIFake;

const KEYS = {
  full: "lmr-full-0001",
  narrow: "lmr-narrow-0002",
  rpmOpenAI: "lmr-rpm-openai-0003",
  rpmAnthropic: "lmr-rpm-anthropic-0004",
  rpmOllama: "lmr-rpm-ollama-0005",
};

beforeAll(async () => {
  upstream = await startOpenAIFake();
  upstream.reply({ text: "fine", usage: { input: 10, output: 2 } });
  gw = await startGateway({
    providers: { oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini", "gpt-4o"] } },
    models: { fast: ["oa/gpt-4o-mini"] },
    clients: {
      full: { key: KEYS.full },
      narrow: { key: KEYS.narrow, models: ["fast"] },
      rpmOpenAI: { key: KEYS.rpmOpenAI, rpm: 1 },
      rpmAnthropic: { key: KEYS.rpmAnthropic, rpm: 1 },
      rpmOllama: { key: KEYS.rpmOllama, rpm: 1 },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
});

const openai = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0 });
const anthropic = (apiKey: string) => new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0 });
const ollama = (key?: string) => new Ollama({ host: gw.url, headers: key ? { authorization: `Bearer ${key}` } : {} });

async function caught<T>(p: Promise<T>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail");
}

const chat = (c: OpenAI, model: string) => c.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
const message = (c: Anthropic, model: string) => c.messages.create({ model, max_tokens: 16, messages: [{ role: "user", content: "hi" }] });
const ollamaChat = (c: Ollama, model: string) => c.chat({ model, messages: [{ role: "user", content: "hi" }], stream: false });

describe("OpenAI SDK", () => {
  test("401 without a valid key", async () => {
    const e = await caught(chat(openai("wrong-key"), "fast"));
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e.status).toBe(401);
    expect(e.error.message).toBe("lmrelay: invalid API key");
    expect(e.code).toBe("invalid_api_key");
    expect(e.headers.get("x-request-id")).toBeTruthy();
  });

  test("403 for a model outside the allow-list, naming client and model", async () => {
    const e = await caught(chat(openai(KEYS.narrow), "oa/gpt-4o"));
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.error.message).toBe('lmrelay: client "narrow" is not allowed to use model "oa/gpt-4o"');
    expect(e.error.type).toBe("permission_error");
    expect(JSON.stringify(e.error)).not.toContain(KEYS.narrow);
    // The alias it is allowed works.
    expect((await chat(openai(KEYS.narrow), "fast")).choices[0]!.message.content).toBe("fine");
  });

  test("404 for an unknown model, with the nearest names", async () => {
    const e = await caught(chat(openai(KEYS.full), "gpt-4o-minii"));
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.error.message).toStartWith('lmrelay: model "gpt-4o-minii" is not known');
    expect(e.error.message).toContain("oa/gpt-4o-mini");
    expect(e.code).toBe("model_not_found");
  });

  test("429 over rpm, with Retry-After and x-ratelimit-* headers", async () => {
    const c = openai(KEYS.rpmOpenAI);
    const ok = await c.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(ok.response.headers.get("x-ratelimit-limit-requests")).toBe("1");
    expect(ok.response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const e = await caught(chat(c, "fast"));
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.error.message).toStartWith('lmrelay: client "rpmOpenAI" is over its limit of 1 requests per minute');
    expect(e.code).toBe("rate_limit_exceeded");
    const retry = Number(e.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(55);
    expect(retry).toBeLessThanOrEqual(60);
    expect(e.headers.get("x-ratelimit-limit-requests")).toBe("1");
    expect(e.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(e.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+s$|^1m0s$/);
  });

  test("/v1/models lists only what the client may use", async () => {
    // Allowed "fast" only: its target is reached through the alias, not by its own name.
    const ids = (await openai(KEYS.narrow).models.list()).data.map((m) => m.id);
    expect(ids).toEqual(["fast"]);
    const all = (await openai(KEYS.full).models.list()).data.map((m) => m.id);
    expect(all.sort()).toEqual(["fast", "oa/gpt-4o", "oa/gpt-4o-mini"]);
  });
});

describe("Anthropic SDK", () => {
  test("401 without a valid key", async () => {
    const e = await caught(message(anthropic("wrong-key"), "fast"));
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(e.error).toMatchObject({ type: "error", error: { type: "authentication_error", message: "lmrelay: invalid API key" } });
  });

  test("403 for a model outside the allow-list", async () => {
    const e = await caught(message(anthropic(KEYS.narrow), "oa/gpt-4o"));
    expect(e).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(e.error.error).toEqual({ type: "permission_error", message: 'lmrelay: client "narrow" is not allowed to use model "oa/gpt-4o"' });
  });

  test("404 for an unknown model", async () => {
    const e = await caught(message(anthropic(KEYS.full), "no-such-model"));
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect(e.error.error.type).toBe("not_found_error");
    expect(e.error.error.message).toStartWith("lmrelay: ");
  });

  test("429 over rpm, with Retry-After and anthropic-ratelimit-* headers", async () => {
    const c = anthropic(KEYS.rpmAnthropic);
    const ok = await c.messages.create({ model: "fast", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(ok.response.headers.get("anthropic-ratelimit-requests-limit")).toBe("1");
    const e = await caught(message(c, "fast"));
    expect(e).toBeInstanceOf(Anthropic.RateLimitError);
    expect(e.error.error.type).toBe("rate_limit_error");
    expect(e.error.error.message).toStartWith('lmrelay: client "rpmAnthropic" is over its limit');
    expect(Number(e.headers.get("retry-after"))).toBeGreaterThanOrEqual(55);
    expect(e.headers.get("anthropic-ratelimit-requests-limit")).toBe("1");
    expect(e.headers.get("anthropic-ratelimit-requests-remaining")).toBe("0");
    expect(e.headers.get("anthropic-ratelimit-requests-reset")).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(e.headers.get("x-ratelimit-limit-requests")).toBeNull();
  });
});

describe("Ollama SDK", () => {
  test("401 without a key", async () => {
    const e = await caught(ollamaChat(ollama(), "fast"));
    expect(e.name).toBe("ResponseError");
    expect(e.status_code).toBe(401);
    expect(e.error).toStartWith("lmrelay: missing API key");
  });

  test("403 for a model outside the allow-list", async () => {
    const e = await caught(ollamaChat(ollama(KEYS.narrow), "oa/gpt-4o"));
    expect(e.status_code).toBe(403);
    expect(e.error).toBe('lmrelay: client "narrow" is not allowed to use model "oa/gpt-4o"');
  });

  test("404 for an unknown model", async () => {
    const e = await caught(ollamaChat(ollama(KEYS.full), "llama9"));
    expect(e.status_code).toBe(404);
    expect(e.error).toStartWith('lmrelay: model "llama9"');
  });

  test("429 over rpm with Retry-After", async () => {
    const c = ollama(KEYS.rpmOllama);
    expect((await ollamaChat(c, "fast")).message.content).toBe("fine");
    const e = await caught(ollamaChat(c, "fast"));
    expect(e.status_code).toBe(429);
    expect(e.error).toStartWith('lmrelay: client "rpmOllama" is over its limit');
    // The SDK does not expose headers: read the same refusal raw.
    const raw = await fetch(`${gw.url}/api/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEYS.rpmOllama}` },
      body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get("retry-after"))).toBeGreaterThanOrEqual(55);
    expect(await raw.json()).toEqual({ error: expect.stringContaining("requests per minute") });
  });

  test("/api/tags lists only what the client may use", async () => {
    const names = (await ollama(KEYS.narrow).list()).models.map((m) => m.name);
    expect(names).toEqual(["fast"]);
  });
});
