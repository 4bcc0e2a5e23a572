import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { type HostileUpstream, startHostileUpstream } from "../fakes/hostile";
import { type ProcessGateway, spawnGateway } from "./helpers/process-gateway";

// Misbehaving clients against lmrelay as its own process, measured from the outside (RSS, open
// files, CPU, what the upstream was made to send): slow readers must back-pressure the upstream
// instead of being buffered for, and thousands of idle connections (past the file limit, even)
// must not stop the gateway from answering once they go.

let hostile: HostileUpstream;

beforeAll(async () => {
  hostile = await startHostileUpstream();
});

afterAll(async () => {
  await hostile?.stop();
});

const MB = 1024 * 1024;

function rawRequest(port: number, path: string, body: unknown, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(body);
  const lines = [`POST ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, "content-type: application/json", `content-length: ${Buffer.byteLength(text)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join("\r\n")}\r\n\r\n${text}`;
}

/** A client that reads its answer very slowly: one socket read every 100 ms, paused in between,
 *  so TCP flow control is all that stops the sender. */
function slowReader(port: number, request: string): { received: () => number; close: () => void } {
  let received = 0;
  const socket: Socket = connect(port, "127.0.0.1", () => socket.write(request));
  socket.on("data", (d) => {
    received += d.length;
    socket.pause();
  });
  socket.on("error", () => {});
  const timer = setInterval(() => socket.resume(), 100);
  return {
    received: () => received,
    close: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

describe("slow readers", () => {
  let gw: ProcessGateway;

  beforeAll(async () => {
    gw = await spawnGateway({ providers: { hs: { type: "openai", baseUrl: `${hostile.url}/v1`, keys: ["sk-x"] }, hso: { type: "ollama", baseUrl: hostile.url } } });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test("an endless fast stream read slowly by clients of all three protocols: the upstream is held back, not buffered", async () => {
    const before = { rss: gw.rssMb(), written: hostile.written.get("endless") ?? 0 };
    const messages = [{ role: "user", content: "go" }];
    const readers = [
      slowReader(gw.port, rawRequest(gw.port, "/v1/chat/completions", { model: "hs/endless", stream: true, messages })),
      slowReader(gw.port, rawRequest(gw.port, "/v1/messages", { model: "hs/endless", stream: true, max_tokens: 100, messages }, { "anthropic-version": "2023-06-01" })),
      slowReader(gw.port, rawRequest(gw.port, "/api/chat", { model: "hso/endless", messages })),
    ];
    await Bun.sleep(4_000);
    const after = { rss: gw.rssMb(), written: hostile.written.get("endless") ?? 0 };
    const received = readers.reduce((n, r) => n + r.received(), 0);
    for (const r of readers) r.close();
    const upstreamSent = after.written - before.written;
    // A loopback upstream left unchecked sends gigabytes in 4 s; held back by the slow readers it
    // gets no further than the socket buffers on the way (a few MB per hop and stream).
    expect(received).toBeGreaterThan(0);
    expect(upstreamSent).toBeLessThan(received * 3 + 64 * MB);
    expect(after.rss - before.rss).toBeLessThan(64);
    process.stderr.write(`slow readers: clients read ${(received / MB).toFixed(1)} MB, upstream sent ${(upstreamSent / MB).toFixed(1)} MB, gateway RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MB\n`);
  }, 20_000);
});

describe("memory against hostile upstreams", () => {
  test("huge answers, endless lines and endless streams: the gateway's RSS stays bounded", async () => {
    const gw = await spawnGateway({
      limits: { maxUpstreamBodyBytes: 8 * MB },
      providers: { hs: { type: "openai", baseUrl: `${hostile.url}/v1`, keys: ["sk-x"] }, echo: { type: "echo" } },
      models: { "via-huge": ["hs/huge", "echo/echo-1"], "via-huge-line": ["hs/huge-line", "echo/echo-1"], "via-huge-event": ["hs/huge-event", "echo/echo-1"] },
      health: { failureThreshold: 100_000, cooldownMs: 0 },
    });
    try {
      const before = gw.rssMb();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, gw.rssMb())), 25);
      const ask = async (model: string, stream: boolean) => {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "fine" }] }),
        });
        const text = await res.text();
        return res.status === 200 && text.includes("fine") && res.headers.get("x-lmrelay-provider") === "echo";
      };
      // Eight 1 GB answers at once (cut at 8 MB each), then 1 GB stream lines (cut at the 32 Mi event bound).
      const huge = await Promise.all(Array.from({ length: 8 }, () => ask("via-huge", false)));
      const lines = await Promise.all([ask("via-huge-line", true), ask("via-huge-event", true)]);
      // An endless stream read as fast as it comes, for three seconds.
      const ctl = new AbortController();
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "hs/endless", stream: true, messages: [{ role: "user", content: "go" }] }),
        signal: ctl.signal,
      });
      const reader = res.body!.getReader();
      let relayed = 0;
      const endAt = Date.now() + 3_000;
      while (Date.now() < endAt) relayed += (await reader.read()).value?.byteLength ?? 0;
      ctl.abort();
      clearInterval(sampler);
      expect(huge.every(Boolean)).toBe(true);
      expect(lines.every(Boolean)).toBe(true);
      expect(relayed).toBeGreaterThan(10 * MB);
      // Eight bounded bodies and two bounded lines in flight at once, nothing more.
      expect(peak - before).toBeLessThan(400);
      process.stderr.write(`hostile memory: RSS ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB; endless stream relayed ${(relayed / MB).toFixed(0)} MB in 3 s\n`);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

/** Opens `n` TCP connections; `partial` ones send half a request line and then nothing. */
async function openIdle(port: number, n: number, partial = false): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect(port, "127.0.0.1");
    s.on("error", () => {});
    sockets.push(s);
    opened.push(
      new Promise((resolve) => {
        s.once("connect", () => {
          if (partial) s.write("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-le");
          resolve();
        });
        s.once("error", () => resolve());
        s.once("close", () => resolve());
      }),
    );
  }
  await Promise.all(opened);
  return sockets;
}

async function healthzMs(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  await res.text();
  return performance.now() - started;
}

async function chatWorks(url: string): Promise<void> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", connection: "close" },
    body: JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: "still here" }] }),
    signal: AbortSignal.timeout(5_000),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as any).choices[0].message.content).toBe("still here");
}

describe("idle connections", () => {
  test("thousands of idle and half-open connections: the gateway keeps answering, cheaply", async () => {
    const gw = await spawnGateway({ providers: { echo: { type: "echo" } } });
    try {
      await chatWorks(gw.url);
      const before = { rss: gw.rssMb(), fds: gw.openFds() };
      const idle = [...(await openIdle(gw.port, 2_000)), ...(await openIdle(gw.port, 1_000, true))];
      await Bun.sleep(200);
      const during = { rss: gw.rssMb(), fds: gw.openFds(), healthz: await healthzMs(gw.url) };
      await chatWorks(gw.url);
      // They really are open (the kernel may keep the last few hundred in its accept queue).
      expect(during.fds - before.fds).toBeGreaterThan(2_000);
      expect(during.healthz).toBeLessThan(500);
      // Per connection: a few KB, not a buffer of its own.
      expect(((during.rss - before.rss) * MB) / 3_000).toBeLessThan(32 * 1024);
      for (const s of idle) s.destroy();
      // Their descriptors are released. (A few connections the kernel completed from its SYN
      // cookies after the client had already gone stay half-open until the idle timeout.)
      const opened = during.fds - before.fds;
      let fds = gw.openFds();
      for (let i = 0; i < 100 && fds - before.fds > opened * 0.05; i++) {
        await Bun.sleep(50);
        fds = gw.openFds();
      }
      expect(fds - before.fds).toBeLessThan(opened * 0.05);
      process.stderr.write(`3000 idle connections: RSS ${before.rss.toFixed(0)} → ${during.rss.toFixed(0)} MB, fds ${before.fds} → ${during.fds} → ${fds}, /healthz ${during.healthz.toFixed(0)} ms\n`);
    } finally {
      await gw.stop();
    }
  }, 30_000);

  test("past the open-file limit: no crash, and full service once the connections go", async () => {
    const gw = await spawnGateway({ providers: { echo: { type: "echo" } } }, { nofile: 256 });
    try {
      await chatWorks(gw.url);
      const idle = await openIdle(gw.port, 600);
      await Bun.sleep(300);
      const cpuBefore = gw.cpuMs();
      await Bun.sleep(2_000);
      const cpuSaturated = gw.cpuMs() - cpuBefore;
      for (const s of idle) s.destroy();
      await Bun.sleep(300);
      // The connections the kernel queued beyond the limit are accepted and closed in turn.
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        try {
          await healthzMs(gw.url);
          ok = true;
        } catch {
          await Bun.sleep(100);
        }
      }
      expect(ok).toBe(true);
      await chatWorks(gw.url);
      // Known Bun limitation (reported, not asserted): while every descriptor is taken, its accept
      // loop keeps retrying and burns about half a core until connections free up. The fix is
      // operational: a high LimitNOFILE (README, Reliability).
      process.stderr.write(`fd limit 256 with 600 connections: ${cpuSaturated} ms CPU in 2 s while saturated\n`);
    } finally {
      await gw.stop("SIGKILL");
    }
  }, 30_000);
});
