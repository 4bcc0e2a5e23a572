import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import OpenAI from "openai";
import { requests } from "../../src/store/schema";
import { type HostileUpstream, startHostileUpstream } from "../fakes/hostile";
import { startGateway, type TestGateway } from "../helpers/gateway";

// lmrelay in front of a hostile upstream (test/fakes/hostile.ts) with a healthy one behind it:
// whatever the hostile one does before the answer reaches the client, the client gets the healthy
// answer (failover); after the first byte, the client gets its protocol's error event; a client
// that leaves makes lmrelay abort the upstream, and the audit row still says what happened.

let hostile: HostileUpstream;
let gw: TestGateway;

const BEFORE_FIRST_BYTE = ["huge", "huge-cl", "huge-line", "huge-event", "wrong-type", "bad-framing", "reset-headers", "close-at-0", "close-at-40", "close-at-120", "headers-only", "keepalive", "silent"];

beforeAll(async () => {
  hostile = await startHostileUpstream();
  const models: Record<string, string[]> = {};
  for (const b of [...BEFORE_FIRST_BYTE, "stall"]) {
    models[`via-${b}`] = [`h/${b}`, "echo/echo-1"];
    models[`via-ollama-${b}`] = [`ho/${b}`, "echo/echo-1"];
  }
  // Answers that do start: through providers without the tight first-byte limit, so a loaded
  // machine cannot turn them into a failover.
  for (const b of ["endless", "cut-mid-stream"]) {
    models[`via-${b}`] = [`hs/${b}`, "echo/echo-1"];
    models[`via-ollama-${b}`] = [`hso/${b}`, "echo/echo-1"];
  }
  gw = await startGateway({
    limits: { maxUpstreamBodyBytes: 1024 * 1024 },
    providers: {
      h: { type: "openai", baseUrl: `${hostile.url}/v1`, keys: ["sk-hostile-secret"], timeoutMs: 400 },
      ho: { type: "ollama", baseUrl: hostile.url, timeoutMs: 400 },
      hs: { type: "openai", baseUrl: `${hostile.url}/v1`, keys: ["sk-hostile-secret"] },
      hso: { type: "ollama", baseUrl: hostile.url },
      echo: { type: "echo" },
    },
    models,
    routing: { timeoutMs: 10_000, maxAttempts: 3, explainHeader: true },
    // Every case must meet the hostile upstream: no circuit may open between tests.
    health: { failureThreshold: 100_000, cooldownMs: 0, probeIntervalMs: 0 },
  });
});

afterAll(async () => {
  await gw?.stop();
  await hostile?.stop();
});

async function auditRow(requestId: string) {
  for (let i = 0; i < 100; i++) {
    gw.runtime.audit.flush();
    const [row] = await gw.runtime.db.select().from(requests).where(eq(requests.requestId, requestId));
    if (row) return row;
    await Bun.sleep(20);
  }
  throw new Error(`no audit row for ${requestId}`);
}

const waitFor = async (cond: () => boolean, ms = 3_000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await Bun.sleep(10);
  return cond();
};

function chat(model: string, stream: boolean, signal?: AbortSignal) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "the healthy answer" }] }),
    signal,
  });
}

describe("failover while nothing has reached the client", () => {
  // A half-sent non-stream answer is still "nothing reached the client" (a half-sent stream is not: below).
  for (const behaviour of [...BEFORE_FIRST_BYTE, "stall"])
    for (const stream of behaviour === "stall" ? [false] : [false, true])
      for (const wire of ["openai", "ollama"] as const)
        test(`${wire} upstream ${behaviour}, ${stream ? "stream" : "non-stream"}: the healthy upstream answers`, async () => {
          const started = performance.now();
          const res = await chat(wire === "openai" ? `via-${behaviour}` : `via-ollama-${behaviour}`, stream);
          const text = await res.text();
          expect(res.status).toBe(200);
          expect(res.headers.get("x-lmrelay-provider")).toBe("echo");
          expect(text).toContain("healthy");
          // The hostile upstream was really tried (no circuit skipped it) and its failure is on record.
          expect(res.headers.get("x-lmrelay-route")).toContain(`failed=${wire === "openai" ? "h" : "ho"}/${behaviour}`);
          expect(performance.now() - started).toBeLessThan(5_000);
          const row = await auditRow(res.headers.get("x-request-id")!);
          expect(row.status).toBe(200);
          expect(JSON.parse(row.attempts).length).toBeGreaterThanOrEqual(2);
        });

  test("the official OpenAI SDK sees only the healthy answer", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: "via-huge", messages: [{ role: "user", content: "still fine" }] });
    expect(answer.choices[0]!.message.content).toBe("still fine");
    const stream = await client.chat.completions.create({ model: "via-bad-framing", stream: true, messages: [{ role: "user", content: "still fine" }] });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("still fine");
  });

  test("no hostile-upstream error message carries the upstream key", async () => {
    const res = await chat("h/wrong-type", false);
    const body = await res.text();
    expect(res.status).toBe(502);
    expect(body).not.toContain("sk-hostile-secret");
    expect(res.headers.get("x-lmrelay-route") ?? "").not.toContain("sk-hostile-secret");
  });
});

describe("after the first byte", () => {
  for (const wire of ["openai", "ollama"] as const)
    test(`${wire} upstream cut mid-stream: the client gets an error event, not a hang or a clean end`, async () => {
      const res = await chat(wire === "openai" ? "via-cut-mid-stream" : "via-ollama-cut-mid-stream", true);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get("x-lmrelay-provider")).toBe(wire === "openai" ? "hs" : "hso");
      expect(text).toContain('"content":"Hello "');
      expect(text).toContain('data: {"error":');
      expect(text).not.toContain("[DONE]");
      const row = await auditRow(res.headers.get("x-request-id")!);
      expect(row.status).toBeGreaterThanOrEqual(500);
    });

  for (const wire of ["openai", "ollama"] as const)
    test(`${wire} upstream silent after half a stream: the idle timeout ends it with an error event`, async () => {
      const started = performance.now();
      const res = await chat(wire === "openai" ? "h/stall" : "ho/stall", true);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).toContain('"content":"Hello ');
      expect(text).toContain('data: {"error":');
      expect(text).toContain("stalled");
      expect(performance.now() - started).toBeLessThan(3_000);
    });

  test("an endless stream is relayed as it comes; the client leaving aborts the upstream and is audited", async () => {
    const before = hostile.abortedByPeer.get("endless") ?? 0;
    const ctl = new AbortController();
    const res = await chat("via-endless", true, ctl.signal);
    expect(`${res.headers.get("x-lmrelay-provider")} ${res.headers.get("x-lmrelay-route")}`).toStartWith("hs ");
    const reader = res.body!.getReader();
    let bytes = 0;
    while (bytes < 256 * 1024) bytes += (await reader.read()).value!.byteLength;
    ctl.abort();
    expect(await waitFor(() => (hostile.abortedByPeer.get("endless") ?? 0) > before)).toBe(true);
    const row = await auditRow(res.headers.get("x-request-id")!);
    expect(row.status).toBe(499);
    expect(row.provider).toBe("hs");
    expect(row.stream).toBe(true);
    expect(row.outputTokens).toBeGreaterThan(1000);
    expect(await waitFor(() => gw.runtime.gateway.openAnswers === 0)).toBe(true);
  });
});

describe("clients that leave", () => {
  for (const [what, model, stream] of [
    ["before the upstream answers (non-stream)", "hs/silent", false],
    ["before the upstream answers (stream)", "hs/silent", true],
    ["while a non-stream answer is half sent", "hs/stall", false],
    ["during an endless slow stream", "hs/endless-slow", true],
  ] as const)
    test(`${what}: the upstream request is aborted and the request is audited`, async () => {
      const behaviour = model.slice(3);
      const before = hostile.abortedByPeer.get(behaviour) ?? 0;
      const ctl = new AbortController();
      const sent = chat(model, stream, ctl.signal).then(
        async (r) => {
          const reader = r.body!.getReader();
          for (;;) if ((await reader.read()).done) break;
        },
        () => {},
      );
      await Bun.sleep(300);
      ctl.abort();
      await sent.catch(() => {});
      expect(await waitFor(() => (hostile.abortedByPeer.get(behaviour) ?? 0) > before)).toBe(true);
      // The row is the newest one for this model.
      let row: typeof requests.$inferSelect | undefined;
      for (let i = 0; i < 100 && !row; i++) {
        gw.runtime.audit.flush();
        const rows = await gw.runtime.db.select().from(requests).where(eq(requests.requestedModel, model));
        row = rows.at(-1);
        if (!row || row.status !== 499) row = undefined;
        if (!row) await Bun.sleep(20);
      }
      expect(row?.status).toBe(499);
      expect(await waitFor(() => gw.runtime.inFlight === 0 && gw.runtime.gateway.openAnswers === 0)).toBe(true);
    });
});
