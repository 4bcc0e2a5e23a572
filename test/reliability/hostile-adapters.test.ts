import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import { adapterFor } from "../../src/upstream/registry";
import type { Target } from "../../src/upstream/types";
import { type HostileUpstream, startHostileUpstream } from "../fakes/hostile";

// Each upstream wire adapter against a hostile server (test/fakes/hostile.ts): whatever the
// upstream does, the adapter ends with events or a GatewayError — never an unbounded buffer, a
// hang past its signal, or a raw exception — and releases the connection when it stops reading.

let hostile: HostileUpstream;
const LIMIT = 1024 * 1024;

beforeAll(async () => {
  hostile = await startHostileUpstream();
});

afterAll(async () => {
  await hostile?.stop();
});

function targetFor(type: "openai" | "ollama", model: string, limits?: { maxUpstreamBodyBytes: number }): Target {
  const config = resolveConfig({
    limits,
    providers: {
      h: type === "openai" ? { type: "openai", baseUrl: `${hostile.url}/v1`, keys: ["sk-hostile-key"], models: [model] } : { type: "ollama", baseUrl: hostile.url, models: [model] },
    },
  });
  const provider = config.providers.get("h")!;
  return { provider, key: provider.keys[0], model };
}

const request = (stream: boolean): ChatRequest => ({ model: "m", system: [], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream });

/** Runs one chat call to the end (or to `maxEvents`), returning the events or the error thrown. */
async function run(type: "openai" | "ollama", model: string, opts: { stream: boolean; timeoutMs?: number; maxEvents?: number; limits?: { maxUpstreamBodyBytes: number } }) {
  const target = targetFor(type, model, opts.limits);
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  const events: StreamEvent[] = [];
  const started = performance.now();
  try {
    const reply = await adapterFor(target.provider.type)!.chat(request(opts.stream), { target, signal });
    for await (const ev of reply.events) {
      events.push(ev);
      if (ev.type === "error") return { events, error: ev.error, ms: performance.now() - started };
      if (opts.maxEvents !== undefined && events.length >= opts.maxEvents) break;
    }
    return { events, ms: performance.now() - started };
  } catch (err) {
    return { events, error: err, ms: performance.now() - started };
  }
}

const waitFor = async (cond: () => boolean, ms = 3_000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await Bun.sleep(10);
  return cond();
};

describe.each(["openai", "ollama"] as const)("%s adapter against a hostile upstream", (type) => {
  test("a 1 GB non-stream body (chunked) is cut at limits.maxUpstreamBodyBytes and the connection dropped", async () => {
    const before = hostile.abortedByPeer.get("huge") ?? 0;
    const r = await run(type, "huge", { stream: false, limits: { maxUpstreamBodyBytes: LIMIT } });
    expect(r.error).toBeInstanceOf(GatewayError);
    expect((r.error as GatewayError).kind).toBe("upstream_error");
    expect((r.error as GatewayError).code).toBe("response_too_large");
    expect((r.error as GatewayError).message).toStartWith("h: ");
    expect(await waitFor(() => (hostile.abortedByPeer.get("huge") ?? 0) > before)).toBe(true);
  });

  test("a declared 1 GB content-length is refused before reading", async () => {
    const r = await run(type, "huge-cl", { stream: false, limits: { maxUpstreamBodyBytes: LIMIT } });
    expect((r.error as GatewayError).code).toBe("response_too_large");
    expect(r.ms).toBeLessThan(2_000);
  });

  test("the default limit (128 MiB) also stops a 1 GB body", async () => {
    const r = await run(type, "huge", { stream: false, timeoutMs: 20_000 });
    expect((r.error as GatewayError).code).toBe("response_too_large");
    expect((r.error as GatewayError).message).toContain(String(128 * 1024 * 1024));
  }, 30_000);

  test("a stream line of 1 GB is cut at the event bound, not buffered", async () => {
    const r = await run(type, "huge-line", { stream: true, timeoutMs: 20_000 });
    expect(r.error).toBeInstanceOf(GatewayError);
    expect((r.error as GatewayError).kind).toBe("upstream_error");
  }, 30_000);

  test("an endless stream is read lazily; stopping early releases the upstream connection", async () => {
    const before = hostile.abortedByPeer.get("endless") ?? 0;
    const r = await run(type, "endless", { stream: true, maxEvents: 500 });
    expect(r.error).toBeUndefined();
    expect(r.events.filter((e) => e.type === "text").length).toBeGreaterThan(400);
    expect(await waitFor(() => (hostile.abortedByPeer.get("endless") ?? 0) > before)).toBe(true);
  });

  test("keep-alives forever: the call's signal ends it with a timeout", async () => {
    const r = await run(type, "keepalive", { stream: true, timeoutMs: 300 });
    expect(r.error).toBeInstanceOf(GatewayError);
    expect((r.error as GatewayError).kind).toBe("timeout");
    expect(r.ms).toBeLessThan(2_000);
  });

  for (const stream of [true, false])
    test(`headers then silence (${stream ? "stream" : "non-stream"}): a timeout, not a hang`, async () => {
      const r = await run(type, "headers-only", { stream, timeoutMs: 300 });
      expect((r.error as GatewayError).kind).toBe("timeout");
      expect(r.ms).toBeLessThan(2_000);
    });

  for (const stream of [true, false])
    test(`half an answer then silence (${stream ? "stream" : "non-stream"}): a timeout`, async () => {
      const r = await run(type, "stall", { stream, timeoutMs: 300 });
      expect((r.error as GatewayError).kind).toBe("timeout");
    });

  test("broken framing ends in an upstream_error, never a raw exception", async () => {
    const r = await run(type, "bad-framing", { stream: true });
    expect(r.error).toBeInstanceOf(GatewayError);
    expect((r.error as GatewayError).kind).toBe("upstream_error");
  });

  for (const stream of [true, false])
    test(`an HTML page with status 200 (${stream ? "stream" : "non-stream"}) is an upstream_error`, async () => {
      const r = await run(type, "wrong-type", { stream });
      expect(r.error).toBeInstanceOf(GatewayError);
      expect((r.error as GatewayError).kind).toBe("upstream_error");
    });

  test("the socket closed in the headers is a connection error", async () => {
    const r = await run(type, "reset-headers", { stream: true });
    expect((r.error as GatewayError).kind).toBe("upstream_error");
  });

  test("the socket closed at every point of a valid answer: a complete answer or an upstream_error", async () => {
    const full = type === "openai" ? 420 : 400;
    for (const stream of [true, false])
      for (let n = 0; n < full; n += 7) {
        const r = await run(type, `close-at-${n}`, { stream, timeoutMs: 3_000 });
        if (r.error === undefined) {
          // Only a cut after the whole answer may look complete.
          expect(r.events.some((e) => e.type === "finish")).toBe(true);
          continue;
        }
        expect(r.error).toBeInstanceOf(GatewayError);
        expect(["upstream_error"]).toContain((r.error as GatewayError).kind);
      }
  });
});

test("no key leaks into any hostile-upstream error", async () => {
  const r = await run("openai", "wrong-type", { stream: false });
  expect(String((r.error as Error).message)).not.toContain("sk-hostile-key");
});
