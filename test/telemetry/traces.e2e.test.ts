import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { configSecrets } from "../../src/config/secrets";
import { startAnthropicFake, FAKE_ANTHROPIC_KEY, type AnthropicFake } from "../fakes/anthropic";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { type OtlpFake, type ReceivedSpan, SPAN_KIND, startOtlpFake } from "../fakes/otlp";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Traces through the real server (SPEC §9): what reaches an OTLP/HTTP collector started here,
// decoded with the official message definitions — span kinds, parent/child links, GenAI
// attributes, `traceparent` continued from the client and sent to every upstream — and that no
// secret appears in any attribute.

const UPSTREAM_KEY = "sk-test";
const CLIENT_KEY = "lmr-client-secret-key-123456";
const COLLECTOR_TOKEN = "otlp-collector-token-abcdef";

let a: OpenAIFake;
let b: OpenAIFake;
let claude: AnthropicFake;
let collector: OtlpFake;

beforeAll(async () => {
  [a, b, claude] = await Promise.all([startOpenAIFake(), startOpenAIFake(), startAnthropicFake()]);
  b.reply({ text: "from b", usage: { input: 12, output: 3 } });
  collector = startOtlpFake();
});

afterAll(async () => {
  collector.stop();
  await Promise.all([a.stop(), b.stop(), claude.stop()]);
});

function config(telemetry: LmrelayConfig["telemetry"]): LmrelayConfig {
  const oa = (url: string) => ({ type: "openai" as const, baseUrl: `${url}/v1`, keys: [UPSTREAM_KEY], models: ["gpt-4o-mini"] });
  return {
    providers: { a: oa(a.url), b: oa(b.url), claude: { type: "anthropic", baseUrl: claude.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] } },
    models: { chain: ["a/gpt-4o-mini", "b/gpt-4o-mini"] },
    clients: { team: { key: CLIENT_KEY } },
    health: { probeIntervalMs: 0, failureThreshold: 50, cooldownMs: 60_000, firstByteTimeoutMs: 2_000 },
    telemetry,
  };
}

async function withTraced<T>(telemetry: LmrelayConfig["telemetry"], fn: (gw: TestGateway) => Promise<T>): Promise<T> {
  const gw = await startGateway(config(telemetry));
  try {
    return await fn(gw);
  } finally {
    await gw.stop();
  }
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

function spansOf(traceId: string): ReceivedSpan[] {
  return collector.spans.filter((s) => s.traceId === traceId);
}

async function settle(gw: TestGateway, traceId: string, n: number): Promise<ReceivedSpan[]> {
  await gw.runtime.telemetry.flush();
  const until = Date.now() + 5_000;
  while (spansOf(traceId).length < n && Date.now() < until) {
    await Bun.sleep(20);
    await gw.runtime.telemetry.flush();
  }
  return spansOf(traceId);
}

describe("a failover request", () => {
  test("one SERVER span continuing the client's trace, a CLIENT span per attempt, traceparent sent upstream", async () => {
    await withTraced({ otlp: { endpoint: collector.url, headers: { authorization: `Bearer ${COLLECTOR_TOKEN}` } } }, async (gw) => {
      a.fail({ kind: "status", status: 500, body: { error: { message: "boom", type: "server_error" } } });
      const before = { a: a.requests.length, b: b.requests.length };
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
      const res = await client.chat.completions.create(
        { model: "chain", messages: [{ role: "user", content: "hi" }] },
        { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } },
      );
      expect(res.choices[0]!.message.content).toBe("from b");

      const spans = await settle(gw, TRACE_ID, 3);
      const server = spans.filter((s) => s.kind === SPAN_KIND.SERVER);
      const attempts = spans.filter((s) => s.kind === SPAN_KIND.CLIENT);
      expect(server).toHaveLength(1);
      expect(attempts).toHaveLength(2);
      const req = server[0]!;
      expect(req.parentSpanId).toBe(CLIENT_SPAN);
      expect(req.name).toBe("chat chain");
      expect(req.resource["service.name"]).toBe("lmrelay");
      expect(req.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "chain",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.response.finish_reasons": ["stop"],
        "lmrelay.client": "team",
        "lmrelay.alias": "chain",
        "lmrelay.attempts": 2,
        "lmrelay.provider": "b",
        "http.response.status_code": 200,
      });
      expect(typeof req.attributes["lmrelay.cost_usd"]).toBe("number");

      for (const s of attempts) expect(s.parentSpanId).toBe(req.spanId);
      const failed = attempts.find((s) => s.attributes["lmrelay.provider"] === "a")!;
      const served = attempts.find((s) => s.attributes["lmrelay.provider"] === "b")!;
      expect(failed.attributes).toMatchObject({ "lmrelay.outcome": "failed", "http.response.status_code": 500, "gen_ai.request.model": "gpt-4o-mini" });
      expect(String(failed.attributes["lmrelay.key"])).toMatch(/^fp:\w+$/);
      expect(failed.status.code).toBe(2); // STATUS_CODE_ERROR
      expect(served.attributes).toMatchObject({ "lmrelay.outcome": "served", "http.response.status_code": 200 });
      expect(served.status.code).not.toBe(2);

      // Each upstream request carried the trace context of its own attempt span.
      const sentA = a.requests.slice(before.a).find((r) => r.path.endsWith("/chat/completions"))!;
      const sentB = b.requests.slice(before.b).find((r) => r.path.endsWith("/chat/completions"))!;
      expect(sentA.headers.traceparent).toBe(`00-${TRACE_ID}-${failed.spanId}-01`);
      expect(sentB.headers.traceparent).toBe(`00-${TRACE_ID}-${served.spanId}-01`);

      // No secret in any attribute or anywhere in what was exported.
      const exported = collector.bodies.map((b) => Buffer.from(b).toString("latin1")).join("\n");
      for (const secret of [UPSTREAM_KEY, CLIENT_KEY, COLLECTOR_TOKEN]) expect(exported).not.toContain(secret);
    });
  });
});

describe("a stream", () => {
  test("an Anthropic client's stream: its span ends with the answer and carries the usage", async () => {
    await withTraced({ otlp: { endpoint: collector.url, protocol: "http/json" } }, async (gw) => {
      const traceId = "0af7651916cd43dd8448eb211c80319c";
      const client = new Anthropic({ baseURL: gw.url, apiKey: CLIENT_KEY, maxRetries: 0 });
      claude.reply({ text: "streamed words here", usage: { input: 20, output: 4 } });
      const stream = client.messages.stream(
        { model: "claude/claude-haiku-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] },
        { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } },
      );
      const msg = await stream.finalMessage();
      expect(msg.content[0]).toMatchObject({ type: "text", text: "streamed words here" });
      const spans = await settle(gw, traceId, 2);
      expect(collector.contentTypes.at(-1)).toContain("application/json");
      const req = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
      const attempt = spans.find((s) => s.kind === SPAN_KIND.CLIENT)!;
      expect(req.attributes).toMatchObject({
        "gen_ai.request.model": "claude/claude-haiku-4-5",
        "gen_ai.response.model": "claude-haiku-4-5",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 4,
        "lmrelay.stream": true,
        "lmrelay.attempts": 1,
      });
      expect(req.attributes["lmrelay.alias"]).toBeUndefined();
      expect(attempt.parentSpanId).toBe(req.spanId);
      expect(attempt.attributes).toMatchObject({ "lmrelay.provider": "claude", "lmrelay.outcome": "served" });
      expect(attempt.endMs).toBeLessThanOrEqual(req.endMs);
      expect(claude.requests.at(-1)!.headers.traceparent).toBe(`00-${traceId}-${attempt.spanId}-01`);
    });
  });
});

describe("sampling and failure to export", () => {
  test("sampleRatio 0 records no new trace, but a sampled incoming traceparent is followed", async () => {
    await withTraced({ otlp: { endpoint: collector.url }, sampleRatio: 0 }, async (gw) => {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
      const before = collector.spans.length;
      await client.chat.completions.create({ model: "b/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
      await gw.runtime.telemetry.flush();
      expect(collector.spans.length).toBe(before);
      expect(b.requests.at(-1)!.headers.traceparent).toBeUndefined();

      const traceId = "11111111111111111111111111111111";
      await client.chat.completions.create({ model: "b/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, { headers: { traceparent: `00-${traceId}-2222222222222222-01` } });
      expect(await settle(gw, traceId, 2)).toHaveLength(2);
    });
  });

  test("a collector that refuses every export costs requests nothing; the drops are counted in /metrics", async () => {
    await withTraced({ otlp: { endpoint: collector.url } }, async (gw) => {
      collector.failWith(400); // not retryable by the OTLP spec: each export fails at once
      try {
        const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
        for (let i = 0; i < 3; i++) {
          const res = await client.chat.completions.create({ model: "b/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
          expect(res.choices[0]!.message.content).toBe("from b");
        }
        await gw.runtime.telemetry.flush();
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        const dropped = Number(/lmrelay_trace_spans_total\{outcome="dropped"\} (\d+)/.exec(metrics)?.[1]);
        expect(dropped).toBeGreaterThanOrEqual(6);
      } finally {
        collector.failWith(undefined);
      }
    });
  });

  test("without telemetry nothing is exported and no traceparent is invented", async () => {
    await withTraced(undefined, async (gw) => {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
      await client.chat.completions.create({ model: "b/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
      expect(b.requests.at(-1)!.headers.traceparent).toBeUndefined();
      expect(gw.runtime.telemetry.stats()).toEqual({ exported: 0, dropped: 0, queued: 0 });
    });
  });
});

describe("content and config", () => {
  test("captureContent records the messages, redacted by the audit rules", async () => {
    const gw = await startGateway({ ...config({ otlp: { endpoint: collector.url }, captureContent: true }), audit: { redact: ["/hunter2/"] } });
    try {
      const traceId = "33333333333333333333333333333333";
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
      await client.chat.completions.create(
        { model: "b/gpt-4o-mini", messages: [{ role: "user", content: `my password is hunter2 and the key is ${UPSTREAM_KEY}-suffix` }] },
        { headers: { traceparent: `00-${traceId}-4444444444444444-01` } },
      );
      const req = (await settle(gw, traceId, 2)).find((s) => s.kind === SPAN_KIND.SERVER)!;
      const captured = String(req.attributes["gen_ai.input.messages"]);
      expect(captured).toContain("my password is [redacted]");
      expect(captured).not.toContain("hunter2");
    } finally {
      await gw.stop();
    }
  });

  test("without captureContent no message text is exported", async () => {
    await withTraced({ otlp: { endpoint: collector.url } }, async (gw) => {
      const traceId = "55555555555555555555555555555555";
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
      await client.chat.completions.create({ model: "b/gpt-4o-mini", messages: [{ role: "user", content: "a very private sentence" }] }, { headers: { traceparent: `00-${traceId}-6666666666666666-01` } });
      const spans = await settle(gw, traceId, 2);
      expect(JSON.stringify(spans)).not.toContain("a very private sentence");
    });
  });

  test("a bad telemetry block is a config error naming the field; the collector's credentials are scrubbed from logs", () => {
    expect(() => resolveConfig({ providers: {}, telemetry: { otlp: { endpoint: "collector:4318" } } })).toThrow(/telemetry\.otlp\.endpoint/);
    const resolved = resolveConfig({ providers: {}, telemetry: { otlp: { endpoint: "http://127.0.0.1:4318", headers: { "x-honeycomb-team": "hc-secret-team-key" } } } });
    expect(configSecrets(resolved)).toContain("hc-secret-team-key");
  });
});
