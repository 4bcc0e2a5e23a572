import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Body capture (`audit.bodies`) at the HTTP edge: streams stay streams (chunks reach the client as
// they come), are captured whole and redacted; a client leaving mid-stream still stops the
// upstream and frees its concurrency slot; with capture off nothing is stored.

let upstream: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startOpenAIFake();
  gw = await startGateway({
    audit: { bodies: true, redact: ["/\\b\\d{4}-\\d{4}-\\d{4}-\\d{4}\\b/"] },
    providers: { oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] } },
    clients: { one: { key: "lmr-one-key", concurrency: 1 } },
  });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
});

const bodies = () => {
  gw.runtime.audit.flush();
  return gw.runtime.db.$client.query("select request_id as id, request, response, truncated from request_bodies order by id").all() as {
    id: string;
    request: string;
    response: string;
    truncated: number;
  }[];
};

const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(10);
  expect(cond()).toBe(true);
};

describe("capture on", () => {
  test("a stream still arrives chunk by chunk, and is stored whole with patterns masked", async () => {
    upstream.reply({ text: "card 1234-5678-9012-3456 is on file, thanks", usage: { input: 5, output: 9 }, chunkDelayMs: 40 });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-one-key", maxRetries: 0 });
    const stream = await client.chat.completions.create(
      { model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "my card is 1234-5678-9012-3456" }], stream: true },
      { headers: { "x-request-id": "cap-stream" } },
    );
    const arrivals: number[] = [];
    let text = "";
    for await (const c of stream) {
      arrivals.push(performance.now());
      text += c.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("card 1234-5678-9012-3456 is on file, thanks");
    // Spread over time like the upstream sent them, not all at once at the end.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(100);
    await waitFor(() => bodies().some((b) => b.id === "cap-stream"));
    const row = bodies().find((b) => b.id === "cap-stream")!;
    expect(row.request).toContain("my card is [redacted]");
    expect(row.request).not.toContain("1234-5678");
    expect(row.response).toContain("data: [DONE]");
    expect(row.response).not.toContain("1234-5678");
    expect(row.truncated).toBe(0);
  });

  test("Gemini's streamed JSON array (no alt=sse) still streams, and is stored whole", async () => {
    // The upstream holds its last chunk until the client has read the first one.
    let release!: () => void;
    upstream.reply({ text: "one two three", holdLast: new Promise<void>((r) => (release = r)) });
    const res = await fetch(`${gw.url}/v1beta/models/oa/gpt-4o-mini:streamGenerateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": "lmr-one-key", "x-request-id": "cap-gemini-array" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "count" }] }] }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toStartWith('[{"candidates"');
    release();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
    expect((JSON.parse(text) as unknown[]).length).toBeGreaterThan(1);
    await waitFor(() => bodies().some((b) => b.id === "cap-gemini-array"));
    expect(bodies().find((b) => b.id === "cap-gemini-array")!.response).toBe(text);
  });

  test("error answers are captured too", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer lmr-one-key", "x-request-id": "cap-404" },
      body: JSON.stringify({ model: "missing", messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(404);
    const sent = await res.json();
    await waitFor(() => bodies().some((b) => b.id === "cap-404"));
    expect(JSON.parse(bodies().find((b) => b.id === "cap-404")!.response)).toEqual(sent);
  });

  test("a client leaving mid-stream stops the upstream and frees its slot", async () => {
    upstream.reply({ text: Array.from({ length: 50 }, (_, i) => `w${i}`).join(" "), usage: { input: 5, output: 50 }, chunkDelayMs: 50 });
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer lmr-one-key", "x-request-id": "cap-left" },
      body: JSON.stringify({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "long" }], stream: true }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await waitFor(() => gw.runtime.gateway.openAnswers === 0);
    await waitFor(() => gw.runtime.governance.usage(gw.runtime.config.clients.get("one")!).inFlight === 0);
    gw.runtime.audit.flush();
    const row = gw.runtime.db.$client.query("select status from requests where request_id = 'cap-left'").get() as { status: number };
    expect(row.status).toBe(499);
    await waitFor(() => bodies().some((b) => b.id === "cap-left"));
  });

  test("a client that leaves before reading any of the body frees its slot too", async () => {
    upstream.reply({ text: "a b c d e f", usage: { input: 5, output: 6 }, chunkDelayMs: 50 });
    const abort = new AbortController();
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer lmr-one-key", "x-request-id": "cap-gone" },
      body: JSON.stringify({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream: true }),
      signal: abort.signal,
    });
    abort.abort();
    await waitFor(() => gw.runtime.governance.usage(gw.runtime.config.clients.get("one")!).inFlight === 0);
    // The slot is free again: the next request is admitted.
    upstream.reply({ text: "next", usage: { input: 1, output: 1 } });
    const ok = await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "lmr-one-key", maxRetries: 0 }).chat.completions.create({
      model: "oa/gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
    });
    expect(ok.choices[0]!.message.content).toBe("next");
  });
});

describe("capture off", () => {
  test("no bodies are stored", async () => {
    const plain = await startGateway({ providers: { echo: { type: "echo", models: ["echo-1"] } } });
    try {
      await fetch(`${plain.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: "x" }] }) }).then((r) => r.text());
      plain.runtime.audit.flush();
      expect(plain.runtime.db.$client.query("select count(*) as n from request_bodies").get()).toEqual({ n: 0 });
      expect(plain.runtime.db.$client.query("select count(*) as n from requests").get()).toEqual({ n: 1 });
    } finally {
      await plain.stop();
    }
  });
});
