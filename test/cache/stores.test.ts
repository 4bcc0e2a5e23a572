import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { MemoryAnswerStore } from "../../src/cache/memory";
import { RedisAnswerStore } from "../../src/cache/redis";
import { portOpen } from "../cluster/nodes";
import type { CachedAnswer } from "../../src/core/answer-cache";
import { cacheAllowed, cacheKey, cachePolicyFor } from "../../src/router/cache";
import type { ChatRequest } from "../../src/core/types";

const entry = (text: string): CachedAnswer => ({
  answer: { id: "x", model: "m", content: [{ type: "text", text }], finishReason: "stop", usage: { inputTokens: 1, outputTokens: 1 } },
  provider: "p",
  model: "m",
  storedAt: 0,
});

describe("memory store", () => {
  test("least recently used answers leave first once maxBytes is passed", async () => {
    const size = JSON.stringify(entry("a".repeat(100))).length;
    const store = new MemoryAnswerStore(size * 2 + 10);
    await store.set("a", entry("a".repeat(100)), 60_000);
    await store.set("b", entry("b".repeat(100)), 60_000);
    expect(await store.get("a")).toBeDefined(); // a is now the most recent
    await store.set("c", entry("c".repeat(100)), 60_000);
    expect(await store.get("b")).toBeUndefined();
    expect(await store.get("a")).toBeDefined();
    expect(await store.get("c")).toBeDefined();
    expect(store.size.entries).toBe(2);
    store.resize(10);
    expect(store.size).toEqual({ entries: 0, bytes: 0 });
  });

  test("an entry is not served after its TTL, and a hit is a copy", async () => {
    let now = 1_000;
    const store = new MemoryAnswerStore(1 << 20, () => now);
    await store.set("k", entry("hello"), 500);
    const got = (await store.get("k"))!;
    (got.answer.content[0] as { text: string }).text = "changed";
    expect((await store.get("k"))!.answer.content[0]).toMatchObject({ text: "hello" });
    now = 1_500;
    expect(await store.get("k")).toBeUndefined();
    expect(store.size.bytes).toBe(0);
  });
});

describe("policy and key", () => {
  const config = resolveConfig({
    providers: { p: { type: "echo", models: ["m"] } },
    cache: { ttl: "10m", store: "memory" },
    models: { plain: ["p/m"], off: { targets: ["p/m"], cache: false }, long: { targets: ["p/m"], cache: { ttl: "2h", shared: true } } },
    clients: { a: { key: "lmr-a-123456789", cache: { store: "db" } }, never: { key: "lmr-n-123456789", cache: false } },
  });
  const a = config.clients.get("a");

  test("narrower levels win field by field; false anywhere excludes", () => {
    expect(cachePolicyFor(config, undefined, "plain")).toEqual({ ttlMs: 600_000, store: "memory", shared: false });
    expect(cachePolicyFor(config, a, "plain")).toEqual({ ttlMs: 600_000, store: "db", shared: false });
    expect(cachePolicyFor(config, a, "long")).toEqual({ ttlMs: 7_200_000, store: "db", shared: true });
    expect(cachePolicyFor(config, a, "off")).toBeUndefined();
    expect(cachePolicyFor(config, config.clients.get("never"), "plain")).toBeUndefined();
    const none = resolveConfig({ providers: { p: { type: "echo", models: ["m"] } } });
    expect(cachePolicyFor(none, undefined, "p/m")).toBeUndefined();
  });

  const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: "plain", system: [], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: false, ...over });

  test("the key ignores protocol and streaming, and separates clients, chains and parameters", () => {
    const base = cacheKey(req(), ["p/m"], "a");
    expect(cacheKey(req({ stream: true, includeUsage: true, original: { protocol: "openai", text: "{}", body: {} } }), ["p/m"], "a")).toBe(base);
    expect(cacheKey(req(), ["p/m"], "b")).not.toBe(base);
    expect(cacheKey(req(), ["p/m", "q/m"], "a")).not.toBe(base);
    expect(cacheKey(req({ maxTokens: 10 }), ["p/m"], "a")).not.toBe(base);
    expect(cacheKey(req({ temperature: 0 }), ["p/m"], "a")).not.toBe(base);
  });

  test("temperature above 0 needs force; bypass always skips", () => {
    expect(cacheAllowed(req(), null)).toBe(true);
    expect(cacheAllowed(req({ temperature: 0 }), null)).toBe(true);
    expect(cacheAllowed(req({ temperature: 0.2 }), null)).toBe(false);
    expect(cacheAllowed(req({ temperature: 0.2 }), "force")).toBe(true);
    expect(cacheAllowed(req(), "bypass")).toBe(false);
  });
});

const redisUp = await portOpen(6379);

describe.skipIf(!redisUp)("redis store (Redis on 127.0.0.1:6379)", () => {
  test("two nodes' stores share entries, with Redis keeping the TTL", async () => {
    const prefix = `lmrelay:test:${crypto.randomUUID()}:`;
    const one = new RedisAnswerStore("redis://127.0.0.1:6379", prefix);
    const two = new RedisAnswerStore("redis://127.0.0.1:6379", prefix);
    try {
      await one.set("k", entry("shared"), 300);
      expect((await two.get("k"))!.answer.content[0]).toMatchObject({ text: "shared" });
      await Bun.sleep(400);
      expect(await two.get("k")).toBeUndefined();
    } finally {
      one.close();
      two.close();
    }
  });

  test("a Redis that is not there answers (an error, or nothing) instead of queueing the lookup", async () => {
    const gone = new RedisAnswerStore("redis://127.0.0.1:1");
    try {
      // No offline queue: the lookup settles by itself; the gateway turns a rejection into a miss.
      const settled = await gone.get("k").then(
        (v) => ({ value: v }),
        (e: Error) => ({ error: e.message }),
      );
      expect("error" in settled ? settled.error.length > 0 : settled.value === undefined).toBe(true);
    } finally {
      gone.close();
    }
  });
});
