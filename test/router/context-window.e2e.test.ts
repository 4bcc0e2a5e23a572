import { afterAll, beforeAll, expect, test } from "bun:test";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { auditRows, chat, servedBy, withGateway } from "./support";

// A prompt far over a model's context window (the catalog's, or the provider's `modelInfo`) skips
// that candidate before asking it, with the reason `context window`; when every candidate is too
// small the client gets a 400 naming the largest window, and no upstream is asked.

let a: OpenAIFake;
let b: OpenAIFake;
beforeAll(async () => {
  a = await startOpenAIFake();
  b = await startOpenAIFake();
});
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const prompt = "word ".repeat(2_000); // ~2,500 tokens by lmrelay's estimate
const config = (bWindow?: number) => ({
  providers: {
    a: { type: "openai" as const, baseUrl: `${a.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"], modelInfo: { "gpt-4o-*": { contextWindow: 1000 } } },
    b: { type: "openai" as const, baseUrl: `${b.url}/v1`, keys: ["sk-test"], models: ["gpt-4o"], ...(bWindow ? { modelInfo: { "gpt-4o": { contextWindow: bWindow } } } : {}) },
  },
  models: { chain: ["a/gpt-4o-mini", "b/gpt-4o"] },
  routing: { explainHeader: true },
});

test("a candidate whose window the prompt far exceeds is skipped; the next one serves", async () => {
  await withGateway(config(), async (gw) => {
    const before = a.requests.length;
    const res = await chat(gw, "chain", { text: prompt });
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("b");
    expect(res.headers.get("x-lmrelay-route")).toContain("skipped=a/gpt-4o-mini context window");
    expect(a.requests.length).toBe(before);
    const row = auditRows(gw).at(-1)!;
    expect(row.attempts).toContainEqual({ outcome: "skipped", provider: "a", model: "gpt-4o-mini", status: 0, reason: "context window", window: 1000 });
    // A prompt that fits is not skipped.
    const small = await chat(gw, "chain", { text: "hello" });
    expect(servedBy(small)).toBe("a");
  });
});

test("every candidate too small: 400 naming the largest window, no upstream asked", async () => {
  await withGateway(config(2000), async (gw) => {
    const before = a.requests.length + b.requests.length;
    const res = await chat(gw, "chain", { text: prompt });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("context_length_exceeded");
    expect(body.error.message).toBe("lmrelay: the prompt is larger than the context window of every model for this request (largest: 2000 tokens, b/gpt-4o)");
    expect(a.requests.length + b.requests.length).toBe(before);
  });
});
