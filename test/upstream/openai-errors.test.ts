import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { extractErrorInfo, parseRetryAfter } from "../../src/upstream/http";
import { openaiAdapter } from "../../src/upstream/openai";
import type { Fault } from "../fakes/common";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { callTo, chatRequest, collect, providerOf } from "./openai-helpers";

const KEY = "sk-live-0123456789abcdef";
let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ keys: [KEY] });
});
afterAll(() => fake.stop());

const provider = () => providerOf({ type: "openai", baseUrl: `${fake.url}/v1`, keys: [KEY] }, "oai");

/** Sends one chat request with `fault` queued and returns the GatewayError it failed with. */
async function failure(fault: Fault | undefined, opts: { stream?: boolean; key?: string; signal?: AbortSignal } = {}): Promise<GatewayError> {
  if (fault) fake.fail(fault);
  const p = opts.key ? providerOf({ type: "openai", baseUrl: `${fake.url}/v1`, keys: [opts.key] }, "oai") : provider();
  try {
    const reply = await openaiAdapter.chat(chatRequest({ stream: opts.stream ?? false }), callTo(p, "gpt-4o", opts.signal));
    await collect(reply.events);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    const err = e as GatewayError;
    expect(err.provider).toBe("oai");
    expect(err.message.startsWith("oai: ")).toBe(true);
    expect(err.message).not.toContain(KEY);
    return err;
  }
  throw new Error("expected the request to fail");
}

const openaiBody = (message: string, type: string, code: string | null, param: string | null = null) => ({ error: { message, type, param, code } });

describe("error classification (OpenAI envelopes through the fake)", () => {
  test("401 from a wrong key: authentication, faithful status, code", async () => {
    const err = await failure(undefined, { key: "sk-wrong-key-123456" });
    expect(err.kind).toBe("authentication");
    expect(err.status).toBe(401);
    expect(err.code).toBe("invalid_api_key");
    expect(err.message).toBe("oai: Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.");
  });

  test("a key echoed back by the upstream is scrubbed", async () => {
    const err = await failure({ kind: "status", status: 401, body: openaiBody(`Incorrect API key provided: ${KEY}.`, "invalid_request_error", "invalid_api_key") });
    expect(err.message).toBe("oai: Incorrect API key provided: ***.");
  });

  test("429 with Retry-After in seconds", async () => {
    const err = await failure({ kind: "status", status: 429, body: openaiBody("Rate limit reached for requests", "requests", "rate_limit_exceeded"), headers: { "retry-after": "20" } });
    expect(err.kind).toBe("rate_limited");
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBe(20_000);
    expect(err.code).toBe("rate_limit_exceeded");
  });

  test("429 with Retry-After as an HTTP date", async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    const err = await failure({ kind: "status", status: 429, body: openaiBody("slow down", "requests", "rate_limit_exceeded"), headers: { "retry-after": at } });
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  test("retry-after-ms wins over retry-after", async () => {
    const err = await failure({ kind: "status", status: 429, body: openaiBody("x", "requests", null), headers: { "retry-after-ms": "1500", "retry-after": "9" } });
    expect(err.retryAfterMs).toBe(1500);
  });

  test("429 insufficient_quota", async () => {
    const err = await failure({ kind: "status", status: 429, body: openaiBody("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota") });
    expect(err.kind).toBe("rate_limited");
    expect(err.code).toBe("insufficient_quota");
  });

  test("400 context_length_exceeded", async () => {
    const err = await failure({
      kind: "status",
      status: 400,
      body: openaiBody("This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", "invalid_request_error", "context_length_exceeded", "messages"),
    });
    expect(err.kind).toBe("context_length");
    expect(err.status).toBe(400);
    expect(err.param).toBe("messages");
    expect(err.code).toBe("context_length_exceeded");
  });

  test("400 prompt too long without a code (compatible servers) → context_length from the message", async () => {
    const err = await failure({ kind: "status", status: 400, body: { object: "error", message: "This model's maximum context length is 8192 tokens.", type: "BadRequestError", code: 400 } });
    expect(err.kind).toBe("context_length");
  });

  test("500 and 503", async () => {
    const e500 = await failure({ kind: "status", status: 500, body: openaiBody("The server had an error while processing your request.", "server_error", null) });
    expect([e500.kind, e500.status]).toEqual(["upstream_error", 500]);
    const e503 = await failure({ kind: "status", status: 503, body: openaiBody("The engine is currently overloaded, please try again later.", "server_error", null), headers: { "retry-after": "2" } });
    expect([e503.kind, e503.status, e503.retryAfterMs]).toEqual(["overloaded", 503, 2000]);
  });

  test("OpenRouter 402 insufficient credits → rate_limited (another key may answer)", async () => {
    const err = await failure({ kind: "status", status: 402, body: { error: { code: 402, message: "Insufficient credits", metadata: {} } } });
    expect([err.kind, err.status, err.code, err.message]).toEqual(["rate_limited", 402, "insufficient_quota", "oai: Insufficient credits"]);
  });

  test("Mistral 422 validation detail nested in message", async () => {
    const err = await failure({
      kind: "status",
      status: 422,
      body: { object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "stream_options"], msg: "Extra inputs are not permitted", input: true }] }, type: "invalid_request_error", param: null, code: null },
    });
    expect(err.kind).toBe("invalid_request");
    expect(err.message).toBe("oai: body.stream_options: Extra inputs are not permitted");
  });

  test("an HTML 502 page: the status classifies, a snippet explains", async () => {
    const err = await failure({ kind: "status", status: 502, body: "<html><body>Bad Gateway</body></html>" });
    expect([err.kind, err.status]).toEqual(["upstream_error", 502]);
    expect(err.message).toContain("Bad Gateway");
  });

  test("200 with a body that is not JSON → upstream_error (stream and not)", async () => {
    expect((await failure({ kind: "badJson" })).kind).toBe("upstream_error");
    expect((await failure({ kind: "badJson" }, { stream: true })).code).toBe("bad_response");
  });

  test("stream cut mid-way → connection_error thrown from the iterator after the first events", async () => {
    fake.reply({ text: "a b c d e f", chunkDelayMs: 10 });
    fake.fail({ kind: "cut", afterChunks: 3 });
    const reply = await openaiAdapter.chat(chatRequest({ stream: true }), callTo(provider(), "gpt-4o"));
    const seen: string[] = [];
    const err = await (async () => {
      for await (const ev of reply.events) seen.push(ev.type);
    })().catch((e) => e);
    fake.reply({});
    expect(seen.slice(0, 2)).toEqual(["start", "text"]);
    expect(err).toBeInstanceOf(GatewayError);
    expect([err.kind, err.code]).toEqual(["upstream_error", "connection_error"]);
  });

  test("connection refused → connection_error", async () => {
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = dead.port;
    await dead.stop(true);
    const p = providerOf({ type: "openai", baseUrl: `http://127.0.0.1:${port}/v1`, keys: [KEY] }, "oai");
    const err = await openaiAdapter.chat(chatRequest(), callTo(p, "m")).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect([err.kind, err.code, err.provider]).toEqual(["upstream_error", "connection_error", "oai"]);
    expect(err.message).not.toContain(KEY);
  });

  test("a timeout abort → timeout; a client abort → aborted", async () => {
    const timedOut = await failure({ kind: "hang" }, { signal: AbortSignal.timeout(100) });
    expect([timedOut.kind, timedOut.code]).toEqual(["timeout", "timeout"]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const aborted = await failure({ kind: "hang" }, { signal: ac.signal });
    expect([aborted.kind, aborted.code]).toEqual(["upstream_error", "aborted"]);
  });

  test("a timeout while the stream is flowing → timeout from the iterator", async () => {
    fake.reply({ text: "a b c d e f g h i j", chunkDelayMs: 100 });
    const reply = await openaiAdapter.chat(chatRequest({ stream: true }), callTo(provider(), "gpt-4o", AbortSignal.timeout(250)));
    const err = await collect(reply.events).catch((e) => e);
    fake.reply({});
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("timeout");
  });
});

describe("http helpers", () => {
  test("parseRetryAfter", () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(parseRetryAfter(h({}))).toBeUndefined();
    expect(parseRetryAfter(h({ "retry-after": "1.5" }))).toBe(1500);
    expect(parseRetryAfter(h({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }), Date.parse("Wed, 21 Oct 2015 07:27:00 GMT"))).toBe(60_000);
    expect(parseRetryAfter(h({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }), Date.parse("Wed, 21 Oct 2015 08:00:00 GMT"))).toBe(0);
    expect(parseRetryAfter(h({ "retry-after": "soon" }))).toBeUndefined();
    expect(parseRetryAfter(h({ "retry-after-ms": "250" }))).toBe(250);
  });

  test("extractErrorInfo reads the common envelopes", () => {
    expect(extractErrorInfo({ error: { message: "m", type: "t", code: "c", param: "p" } })).toEqual({ message: "m", type: "t", code: "c", param: "p", status: undefined });
    expect(extractErrorInfo({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).toMatchObject({ message: "Overloaded", type: "overloaded_error" });
    expect(extractErrorInfo({ error: { code: 400, message: "bad", status: "INVALID_ARGUMENT" } })).toMatchObject({ message: "bad", code: "INVALID_ARGUMENT", status: 400 });
    expect(extractErrorInfo({ error: "model 'x' not found" })).toMatchObject({ message: "model 'x' not found" });
    expect(extractErrorInfo({ detail: "Not Found" })).toMatchObject({ message: "Not Found" });
    expect(extractErrorInfo({ success: false, errors: [{ code: 7003, message: "No route for that URI" }] })).toMatchObject({ message: "No route for that URI", code: "7003" });
    expect(extractErrorInfo({ error: { code: "401", message: "Access denied" } })).toMatchObject({ message: "Access denied", code: undefined, status: 401 });
    expect(extractErrorInfo("plain")).toEqual({ message: "plain" });
    // Mistral's own numeric codes are codes, not HTTP statuses.
    expect(extractErrorInfo({ object: "error", message: "Invalid model", type: "invalid_model", code: 3001 })).toMatchObject({ code: "3001", status: undefined });
    expect(extractErrorInfo({ object: "error", message: "bad", type: "BadRequestError", code: 400 })).toMatchObject({ code: undefined, status: 400 });
  });
});
