import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { LmrelayConfig } from "../../src/config/define";
import { startAnthropicFake, FAKE_ANTHROPIC_KEY, type AnthropicFake } from "../fakes/anthropic";
import { startOllamaFake, type OllamaFake } from "../fakes/ollama";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { auditRows, chat, closedPort, memoryLogger, servedBy, startCutStream, startResetServer, startSlowStream, withGateway } from "./support";

// Failover through the real server and real fake upstreams, one fault at a time: what the client
// gets, who served it, and how `x-lmrelay-attempts` / `x-lmrelay-route` and the audit row explain it.

let a: OpenAIFake;
let b: OpenAIFake;
let claude: AnthropicFake;
let ollama: OllamaFake;
let reset: { url: string; stop(): void };
let refused: string;

beforeAll(async () => {
  [a, b, claude, ollama] = await Promise.all([startOpenAIFake(), startOpenAIFake(), startAnthropicFake(), startOllamaFake()]);
  b.reply({ text: "from b" });
  reset = startResetServer();
  refused = await closedPort();
});

afterAll(async () => {
  reset.stop();
  await Promise.all([a.stop(), b.stop(), claude.stop(), ollama.stop()]);
});

const MODEL = "gpt-4o-mini";
const oa = (url: string, extra: Record<string, unknown> = {}) => ({ type: "openai" as const, baseUrl: `${url}/v1`, keys: ["sk-test"], models: [MODEL, "gpt-4.1"], ...extra });

function config(extra: Partial<LmrelayConfig> = {}, providers: LmrelayConfig["providers"] = {}): LmrelayConfig {
  return {
    providers: { a: oa(a.url), b: oa(b.url), ...providers },
    models: { chain: ["a/gpt-4o-mini", "b/gpt-4o-mini"] },
    health: { probeIntervalMs: 0, failureThreshold: 50, cooldownMs: 60_000, firstByteTimeoutMs: 400 },
    ...extra,
    routing: { explainHeader: true, ...extra.routing },
  };
}

const route = (res: Response) => res.headers.get("x-lmrelay-route") ?? "";

describe("fails over before the answer begins", () => {
  test.each([
    ["500", { kind: "status", status: 500, body: { error: { message: "boom", type: "server_error" } } }, "500 server_error"],
    ["529 overloaded", { kind: "status", status: 529, body: { error: { message: "Overloaded", type: "overloaded_error" } } }, "529 overloaded"],
    ["503", { kind: "status", status: 503 }, "503 overloaded"],
    ["broken JSON answer", { kind: "badJson" }, "502 server_error"],
  ] as const)("%s → the next candidate serves, and the headers say why", async (_name, fault, failed) => {
    await withGateway(config(), async (gw) => {
      a.fail(fault);
      const res = await chat(gw, "chain");
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).choices[0].message.content).toBe("from b");
      expect(servedBy(res)).toBe("b");
      expect(res.headers.get("x-lmrelay-attempts")).toBe("2");
      expect(route(res)).toMatch(new RegExp(`^served=b/gpt-4o-mini\\[fp:\\w+\\]; failed=a/gpt-4o-mini\\[fp:\\w+\\] ${failed.replace(/[()]/g, "\\$&")}$`));
    });
  });

  test("429 with Retry-After: next key/candidate now, and the target is skipped until then", async () => {
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "status", status: 429, body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }, headers: { "retry-after": "1" } });
      const first = await chat(gw, "chain");
      expect(servedBy(first)).toBe("b");
      expect(route(first)).toContain("429 rate_limited");
      const aBefore = a.requests.length;
      const second = await chat(gw, "chain");
      expect(servedBy(second)).toBe("b");
      expect(route(second)).toMatch(/skipped=a\/gpt-4o-mini rate-limited \(429\) until \d{4}-/);
      expect(second.headers.get("x-lmrelay-attempts")).toBe("1");
      expect(a.requests.length).toBe(aBefore);
      // Cooldown over: a serves again.
      await Bun.sleep(1050);
      const third = await chat(gw, "chain");
      expect(servedBy(third)).toBe("a");
    });
  });

  test("429 without Retry-After: the provider's own reset headers set the cooldown (OpenAI durations, Anthropic RFC 3339)", async () => {
    const cfg = config(
      { models: { chain: ["a/gpt-4o-mini", "claude/claude-haiku-4-5-20251001", "b/gpt-4o-mini"] } },
      { claude: { type: "anthropic", baseUrl: claude.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5-20251001"] } },
    );
    await withGateway(cfg, async (gw) => {
      a.fail({
        kind: "status",
        status: 429,
        body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } },
        headers: { "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "1s" },
      });
      const resetAt = new Date(Date.now() + 90_000).toISOString();
      claude.fail({
        kind: "status",
        status: 429,
        body: { type: "error", error: { type: "rate_limit_error", message: "Number of requests has exceeded your rate limit" } },
        headers: { "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": resetAt },
      });
      const t0 = Date.now();
      expect(servedBy(await chat(gw, "chain"))).toBe("b");
      const untils = Object.fromEntries(
        (route(await chat(gw, "chain")).split("skipped=")[1] ?? "").split(",").map((s) => [s.split("/")[0], Date.parse(s.split(" until ")[1]!) - t0]),
      );
      expect(untils.a).toBeGreaterThan(355_000);
      expect(untils.a).toBeLessThan(365_000);
      expect(untils.claude).toBeGreaterThan(85_000);
      expect(untils.claude).toBeLessThan(95_000);
    });
  });

  test("a connection reset and a refused connection fail over", async () => {
    await withGateway(
      config({ models: { chain: ["r/gpt-4o-mini", "x/gpt-4o-mini", "b/gpt-4o-mini"] } }, { r: { type: "openai-compatible", baseUrl: `${reset.url}/v1`, models: [MODEL] }, x: { type: "openai-compatible", baseUrl: `${refused}/v1`, models: [MODEL] } }),
      async (gw) => {
        const res = await chat(gw, "chain");
        expect(res.status).toBe(200);
        expect(servedBy(res)).toBe("b");
        expect(route(res)).toMatch(/failed=r\/gpt-4o-mini \d+ connection,x\/gpt-4o-mini \d+ connection/);
      },
    );
  });

  test("an upstream that never answers: the stream's first-byte timeout moves on; a non-stream one needs the provider's timeoutMs", async () => {
    await withGateway(config({}, { a: oa(a.url, { timeoutMs: 300 }) }), async (gw) => {
      a.fail({ kind: "hang" });
      const t0 = performance.now();
      const res = await chat(gw, "chain");
      expect(servedBy(res)).toBe("b");
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(route(res)).toContain("504 first_byte_timeout");
    });
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "hang" });
      const t0 = performance.now();
      const res = await chat(gw, "chain", { stream: true });
      expect(servedBy(res)).toBe("b");
      expect(await res.text()).toContain("data: [DONE]");
      expect(performance.now() - t0).toBeLessThan(2000);
    });
  });

  test("slow first byte: under the limit it is waited for; over it, the next candidate serves", async () => {
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "delay", ms: 150 });
      expect(servedBy(await chat(gw, "chain", { stream: true }))).toBe("a");
      a.fail({ kind: "delay", ms: 1500 });
      const res = await chat(gw, "chain", { stream: true });
      expect(servedBy(res)).toBe("b");
      await res.text();
    });
  });

  test("a loading Ollama gets a longer first-byte timeout and is not marked unhealthy for a slow start", async () => {
    const cfg = config(
      { models: { chain: ["local/llama3.2", "b/gpt-4o-mini"] }, health: { probeIntervalMs: 0, failureThreshold: 1, cooldownMs: 60_000, firstByteTimeoutMs: 150 } },
      { local: { type: "ollama", baseUrl: ollama.url, models: ["llama3.2:latest"] } },
    );
    await withGateway(cfg, async (gw) => {
      ollama.fail({ kind: "delay", ms: 300 });
      const slow = await chat(gw, "chain", { stream: true });
      expect(servedBy(slow)).toBe("local");
      await slow.text();
      ollama.fail({ kind: "delay", ms: 800 });
      const tooSlow = await chat(gw, "chain", { stream: true });
      expect(servedBy(tooSlow)).toBe("b");
      await tooSlow.text();
      // failureThreshold is 1, yet the circuit stayed closed: a slow start is not a failure.
      expect(gw.runtime.health.providerBlock("local")).toBeUndefined();
      expect(servedBy(await chat(gw, "chain", { stream: true }))).toBe("local");
    });
  });
});

describe("what is not routed around", () => {
  test("another 4xx goes straight back; the next candidate is not asked", async () => {
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "status", status: 400, body: { error: { message: "bad temperature", type: "invalid_request_error", param: "temperature" } } });
      const before = b.requests.length;
      const res = await chat(gw, "chain");
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.message).toBe("a: bad temperature");
      expect(b.requests.length).toBe(before);
      expect(route(res)).toContain("failed=a/gpt-4o-mini");
      expect(route(res)).toContain("400 client_error");
    });
  });

  test("a content-policy refusal is never routed around", async () => {
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "status", status: 400, body: { error: { message: "flagged by the safety system", type: "invalid_request_error", code: "content_policy_violation" } } });
      const before = b.requests.length;
      const res = await chat(gw, "chain");
      expect(res.status).toBe(400);
      expect(b.requests.length).toBe(before);
      expect(route(res)).toContain("400 content_policy");
    });
    // Unless the config says otherwise.
    await withGateway(config({ routing: { contentPolicyFailover: true } }), async (gw) => {
      a.fail({ kind: "status", status: 400, body: { error: { message: "flagged", type: "invalid_request_error", code: "content_policy_violation" } } });
      const res = await chat(gw, "chain");
      expect(res.status).toBe(200);
      expect(servedBy(res)).toBe("b");
    });
  });

  test("context length exceeded fails over only to a candidate with a larger known window", async () => {
    const ctxError = { kind: "status", status: 400, body: { error: { message: "This model's maximum context length is 128000 tokens.", type: "invalid_request_error", code: "context_length_exceeded" } } } as const;
    const cfg = config(
      { models: { big: ["a/gpt-4o-mini", "u/some-finetune", "b/gpt-4.1"], same: ["a/gpt-4o-mini", "b/gpt-4o-mini"] } },
      { u: { type: "openai-compatible", baseUrl: `${refused}/v1`, models: ["some-finetune"] } },
    );
    await withGateway(cfg, async (gw) => {
      a.fail(ctxError);
      const res = await chat(gw, "big");
      expect(res.status).toBe(200);
      expect(res.headers.get("x-lmrelay-model")).toBe("gpt-4.1");
      expect(route(res)).toContain("skipped=u/some-finetune context window not larger");
      a.fail(ctxError);
      const same = await chat(gw, "same");
      expect(same.status).toBe(400);
      expect(((await same.json()) as any).error.code).toBe("context_length_exceeded");
    });
  });
});

describe("keys", () => {
  test("401 disables only that key, loudly with its fingerprint and never the key; the request moves on", async () => {
    const log = memoryLogger();
    const cfg = config({ routing: { keyRotation: "round-robin" }, models: { chain: ["a/gpt-4o-mini"] } }, { a: oa(a.url, { keys: [{ key: "sk-revoked-0001", name: "old" }, { key: "sk-test", name: "good" }] }) });
    await withGateway(
      cfg,
      async (gw) => {
        const before = a.requests.length;
        for (let i = 0; i < 6; i++) expect((await chat(gw, "chain")).status).toBe(200);
        const auths = a.requests.slice(before).map((r) => r.headers.authorization);
        expect(auths.filter((h) => h === "Bearer sk-revoked-0001")).toHaveLength(1);
        expect(auths.filter((h) => h === "Bearer sk-test")).toHaveLength(6);
        const loud = log.lines.find((l) => l.level === "error" && l.msg.includes("disabled until the config reloads"));
        expect(loud?.fields).toMatchObject({ provider: "a", key: "old", status: 401 });
        expect(String(loud?.fields?.fingerprint)).toStartWith("fp:");
        expect(JSON.stringify(log.lines)).not.toContain("sk-revoked-0001");
        const rows = auditRows(gw);
        expect(rows[0]!.attempts.map((x: any) => [x.outcome, x.key, x.status])).toEqual([
          ["failed", "old", 401],
          ["served", "good", 200],
        ]);
        expect(JSON.stringify(rows)).not.toContain("sk-revoked-0001");
      },
      { log },
    );
  });

  test("a wrong key among an Anthropic provider's keys: the right one serves and the provider stays open", async () => {
    const cfg = config({ models: { c: ["claude/claude-haiku-4-5-20251001"] } }, { claude: { type: "anthropic", baseUrl: claude.url, keys: [{ key: "sk-ant-wrong", name: "wrong" }, { key: FAKE_ANTHROPIC_KEY, name: "right" }], models: ["claude-haiku-4-5-20251001"] } });
    await withGateway(cfg, async (gw) => {
      for (let i = 0; i < 3; i++) expect((await chat(gw, "c")).status).toBe(200);
      expect(gw.runtime.health.providerBlock("claude")).toBeUndefined();
    });
  });
});

describe("streams", () => {
  test("stream failover before the first byte: the client sees one clean stream from the next candidate", async () => {
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "status", status: 502 });
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: "chain", messages: [{ role: "user", content: "hi" }], stream: true });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe("from b");
    });
  });

  test("a stream cut mid-answer ends with the protocol's error event, no hang, no failover", async () => {
    const cut = startCutStream(4, 30);
    try {
      await withGateway(config({ models: { s: ["cut/slow", "b/gpt-4o-mini"] } }, { cut: { type: "openai-compatible", baseUrl: `${cut.url}/v1`, models: ["slow"] } }), async (gw) => {
        const before = b.requests.length;
        const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
        const stream = await client.chat.completions.create({ model: "s", messages: [{ role: "user", content: "hi" }], stream: true });
        let text = "";
        const t0 = performance.now();
        const failure = await (async () => {
          try {
            for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
          } catch (e) {
            return e as Error;
          }
        })();
        expect(performance.now() - t0).toBeLessThan(3000);
        expect(failure).toBeInstanceOf(OpenAI.APIError);
        expect(failure!.message).toContain("cut:");
        expect(text).toBe("w0 w1 w2 w3 ");
        expect(b.requests.length).toBe(before);
        await Bun.sleep(20);
        const row = auditRows(gw).at(-1)!;
        expect(row.status).toBeGreaterThanOrEqual(500);
        expect(gw.runtime.gateway.openAnswers).toBe(0);
      });
    } finally {
      cut.stop();
    }
  });

  test("a stream that stalls mid-answer is cut by the idle timeout with an error event", async () => {
    const slow = startSlowStream(800, 3);
    // The first token comes at once, then nothing for 800 ms: longer than the 300 ms limit.
    try {
      await withGateway(config({ models: { s: ["slow/slow"] } }, { slow: { type: "openai-compatible", baseUrl: `${slow.url}/v1`, models: ["slow"], timeoutMs: 300 } }), async (gw) => {
        const t0 = performance.now();
        const res = await chat(gw, "s", { stream: true });
        const body = await res.text();
        expect(performance.now() - t0).toBeLessThan(2500);
        expect(body).toContain("stalled");
        expect(body).not.toContain("[DONE]");
        await Bun.sleep(50);
        expect(slow.cancelled).toBe(true);
      });
    } finally {
      slow.stop();
    }
  });

  test("a client disconnect aborts the upstream request", async () => {
    const slow = startSlowStream(30, 500);
    try {
      await withGateway(config({ models: { s: ["slow/slow"] } }, { slow: { type: "openai-compatible", baseUrl: `${slow.url}/v1`, models: ["slow"] } }), async (gw) => {
        const abort = new AbortController();
        const res = await chat(gw, "s", { stream: true, signal: abort.signal });
        const reader = res.body!.getReader();
        await reader.read();
        await reader.read();
        abort.abort();
        for (let i = 0; i < 100 && !slow.cancelled; i++) await Bun.sleep(20);
        expect(slow.cancelled).toBe(true);
        const sentAtCancel = slow.sent;
        await Bun.sleep(200);
        expect(slow.sent).toBe(sentAtCancel);
        expect(sentAtCancel).toBeLessThan(100);
        await Bun.sleep(50);
        expect(auditRows(gw).at(-1)!.status).toBe(499);
        expect(gw.runtime.gateway.openAnswers).toBe(0);
      });
    } finally {
      slow.stop();
    }
  });
});

describe("when nothing works", () => {
  test("every attempt failed: 502 listing each attempt, with the route headers; the audit row has the same detail", async () => {
    await withGateway(config(), async (gw) => {
      a.fail({ kind: "status", status: 500, body: { error: { message: "a is down" } } });
      b.fail({ kind: "status", status: 503, body: { error: { message: "b is down" } } });
      const res = await chat(gw, "chain");
      expect(res.status).toBe(502);
      const body = (await res.json()) as any;
      expect(body.error.message).toStartWith("lmrelay: all 2 attempts failed: ");
      expect(body.error.message).toContain("a/gpt-4o-mini");
      expect(body.error.message).toContain("500 a: a is down");
      expect(body.error.message).toContain("503 b: b is down");
      expect(res.headers.get("x-lmrelay-attempts")).toBe("2");
      expect(route(res)).toContain("failed=a/gpt-4o-mini");
      const row = auditRows(gw).at(-1)!;
      expect(row.status).toBe(502);
      expect(row.attempts.map((x: any) => [x.outcome, x.provider, x.status])).toEqual([
        ["failed", "a", 500],
        ["failed", "b", 503],
      ]);
      expect(row.attempts[0].fingerprint).toStartWith("fp:");
    });
  });

  test("maxAttempts bounds the attempts; the rest are reported as not tried", async () => {
    const cfg = config({ routing: { maxAttempts: 2 }, models: { chain: ["a/gpt-4o-mini", "a/gpt-4.1", "b/gpt-4o-mini"] } });
    await withGateway(cfg, async (gw) => {
      a.fail({ kind: "status", status: 500 }, { kind: "status", status: 500 });
      const res = await chat(gw, "chain");
      expect(res.status).toBe(502);
      expect(route(res)).toContain("skipped=b/gpt-4o-mini maxAttempts reached");
    });
  });
});
