import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import { ApiError, GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { INBOUNDS } from "./clients";
import type { InboundName, UpstreamFixture, WireName } from "./types";
import { startFixture, WIRES } from "./upstreams";

// Upstream errors (issue 3): every upstream wire answers an error in its own envelope; every client
// gets it back in its own protocol's shape, through its official SDK, with the upstream's message
// prefixed by the provider id and the upstream's status.

/** An error body exactly as each upstream sends it. */
const NATIVE_ERROR: Record<WireName, (status: number, message: string) => unknown> = {
  openai: (s, message) => ({ error: { message, type: s === 429 ? "requests" : s >= 500 ? "server_error" : "invalid_request_error", param: null, code: null } }),
  azure: (s, message) => ({ error: { code: s === 429 ? "429" : s >= 500 ? "InternalServerError" : "BadRequest", message } }),
  anthropic: (s, message) => ({ type: "error", error: { type: s === 429 ? "rate_limit_error" : s >= 500 ? "api_error" : "invalid_request_error", message }, request_id: "req_x" }),
  gemini: (s, message) => ({ error: { code: s, message, status: s === 429 ? "RESOURCE_EXHAUSTED" : s >= 500 ? "INTERNAL" : "INVALID_ARGUMENT" } }),
  cohere: (_s, message) => ({ id: "0b9a2d4e-0000-4000-8000-000000000000", message }),
  ollama: (_s, message) => ({ error: message }),
};

/** Google's status names (SPEC §2). */
const GOOGLE_STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL" };

interface SeenError {
  status: number;
  message: string;
  retryAfter?: string | null;
}

/** Sends a chat that fails and returns the error as the client's SDK surfaced it, checking its shape. */
async function errorThrough(inbound: InboundName, baseUrl: string, model: string, stream: boolean): Promise<SeenError> {
  const ask = [{ role: "user" as const, content: "hello" }];
  if (inbound === "openai") {
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "matrix", maxRetries: 0 });
    const err = await (stream ? client.chat.completions.create({ model, messages: ask, stream: true }) : client.chat.completions.create({ model, messages: ask })).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const body = (err as InstanceType<typeof OpenAI.APIError>).error as { message: string; type: string; param: unknown; code: unknown };
    expect(Object.keys(body).sort()).toEqual(["code", "message", "param", "type"]);
    expect(typeof body.type).toBe("string");
    return { status: err.status, message: body.message, retryAfter: err.headers?.get("retry-after") };
  }
  if (inbound === "anthropic") {
    const client = new Anthropic({ baseURL: baseUrl, apiKey: "matrix", maxRetries: 0 });
    const params = { model, max_tokens: 64, messages: ask };
    const err = await (stream ? client.messages.stream(params).finalMessage() : client.messages.create(params)).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(typeof body.error.type).toBe("string");
    return { status: err.status, message: body.error.message, retryAfter: err.headers?.get("retry-after") };
  }
  if (inbound === "gemini") {
    const ai = new GoogleGenAI({ apiKey: "matrix", httpOptions: { baseUrl } });
    const params = { model, contents: "hello" };
    const err = await (stream ? ai.models.generateContentStream(params).then(async (s) => { for await (const _ of s); }) : ai.models.generateContent(params)).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    // The SDK keeps Google's error body, as JSON text, as the message.
    const body = JSON.parse((err as ApiError).message).error as { code: number; message: string; status: string; details?: unknown };
    // `details` carries a RetryInfo when the upstream said when to retry.
    expect(Object.keys(body).filter((k) => k !== "details").sort()).toEqual(["code", "message", "status"]);
    expect(body.code).toBe((err as ApiError).status);
    expect(body.status).toBe(GOOGLE_STATUS[body.code]!);
    const retryDelay = (body.details as { retryDelay?: string }[] | undefined)?.find((d) => d.retryDelay)?.retryDelay;
    return { status: (err as ApiError).status, message: body.message, retryAfter: retryDelay === undefined ? undefined : retryDelay.replace(/s$/, "") };
  }
  const client = new Ollama({ host: baseUrl });
  const err = (await (stream ? client.chat({ model, messages: ask, stream: true }) : client.chat({ model, messages: ask, stream: false })).then(
    () => undefined,
    (e) => e,
  )) as { name: string; error: string; status_code: number } | undefined;
  expect(err?.name).toBe("ResponseError");
  return { status: err!.status_code, message: err!.error };
}

// A 4xx the client caused goes back as it is. Errors that fail over (429, 5xx) go through the
// attempt loop; when the one upstream tried is all there was, its own answer goes back faithfully:
// status, message prefixed by the provider id (`up: …`), Retry-After. (Several failed attempts
// give the router's summary instead: see test/router.)
const CASES = [
  { status: 400, stream: false, expected: 400, verbatim: true },
  { status: 404, stream: true, expected: 404, verbatim: true },
  // A 429 cools its key down for Retry-After, a 5xx counts against the provider's health: a
  // gateway of their own keeps the other cases apart.
  { status: 429, stream: false, expected: 429, verbatim: true, retryAfter: "7", ownGateway: true },
  { status: 500, stream: true, expected: 500, verbatim: true, ownGateway: true },
];

for (const wire of WIRES) {
  describe(`errors from ${wire}`, () => {
    let up: UpstreamFixture;
    let gw: TestGateway;
    beforeAll(async () => {
      up = await startFixture(wire);
      gw = await startGateway({ providers: { up: up.provider }, routing: { maxAttempts: 1 } });
    });
    afterAll(async () => {
      await gw?.stop();
      await up?.fake.stop();
    });

    for (const inbound of INBOUNDS)
      for (const c of CASES)
        test(`${inbound} client · HTTP ${c.status}${c.stream ? " · stream" : ""}`, async () => {
          const upstreamMessage = `${wire} says no (${c.status}) to this request`;
          const headers = c.retryAfter ? { "retry-after": c.retryAfter } : undefined;
          up.fake.fail({ kind: "status", status: c.status, body: NATIVE_ERROR[wire](c.status, upstreamMessage), headers });
          const own = c.ownGateway ? await startGateway({ providers: { up: up.provider }, routing: { maxAttempts: 1 } }) : undefined;
          let seen: SeenError;
          try {
            seen = await errorThrough(inbound, (own ?? gw).url, `up/${up.model}`, c.stream);
          } finally {
            await own?.stop();
          }
          expect(seen.status).toBe(c.expected);
          if (c.verbatim) expect(seen.message).toBe(`up: ${upstreamMessage}`);
          else expect(seen.message).toContain(`up: ${upstreamMessage}`);
          if (c.retryAfter && seen.retryAfter !== undefined) expect(seen.retryAfter).toBe(c.retryAfter);
        });
  });
}
