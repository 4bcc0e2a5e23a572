#!/usr/bin/env bun
// The paired benchmark of issue 16's last bullet: CPU per upstream request for `fetch` (which
// hands every request to Bun's separate HTTP thread) against the same-thread Bun.connect client in
// connect-client.ts. The upstream runs in a child process (its CPU is not counted); this process
// only makes requests, so its CPU is the client's cost. Rounds alternate fetch / connect so a noisy
// neighbour on a shared machine hits both alike; medians are reported.
//
//   bun scripts/bench/connect-vs-fetch.ts [--rounds 7] [--json 2000] [--sse 200] [--max-seconds 240]
//
// CPU is counted twice, as inproc.ts does: the whole process (every thread — fetch's HTTP thread
// included) and the request thread alone (/proc/thread-self/schedstat).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { resolveConfig } from "../../src/config/resolve";
import { createLogger } from "../../src/log/logger";
import { buildApp } from "../../src/server/app";
import { Runtime } from "../../src/server/runtime";
import { ConnectClient } from "./connect-client";
import { CLIENT_KEY } from "./setup";

const CHUNKS = 50;

if (process.argv.includes("--upstream")) {
  const answer = JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "bench-model",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
  });
  const enc = new TextEncoder();
  const head = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":';
  const frames = [
    ...Array.from({ length: CHUNKS }, (_, i) => enc.encode(`data: ${head}[{"index":0,"delta":{"content":"tok_${i} "},"logprobs":null,"finish_reason":null}]}\n\n`)),
    enc.encode(`data: ${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`),
  ];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      if (body.includes('"stream":true')) {
        let i = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(c) {
              if (i < frames.length) c.enqueue(frames[i++]!);
              else c.close();
              await Promise.resolve();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        );
      }
      return new Response(answer, { headers: { "content-type": "application/json" } });
    },
  });
  console.log(server.port);
  // The parent closes stdin when it is done: exit then (and never outlive it).
  for await (const _ of Bun.stdin.stream()) {
  }
  process.exit(0);
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROUNDS = arg("--rounds", 7);
const JSON_N = arg("--json", 2000);
const SSE_N = arg("--sse", 200);
const MAX_MS = arg("--max-seconds", 240) * 1000;
const GATEWAY = process.argv.includes("--gateway");

function threadCpuUs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

const child = Bun.spawn([process.execPath, import.meta.path, "--upstream"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
const reader = child.stdout.getReader();
const first = await reader.read();
const port = Number(new TextDecoder().decode(first.value).trim());
if (!port) throw new Error("upstream did not start");
const base = `http://127.0.0.1:${port}/v1/chat/completions`;

const connect = new ConnectClient();
const realFetch = globalThis.fetch;
type Send = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<Response>;
const clients: Record<string, Send> = {
  fetch: (url, init) => realFetch(url, { ...init, redirect: "manual" }),
  connect: (url, init) => connect.request(url, init),
};
/** As sendUpstream calls fetch; used for lmrelay's upstream calls in --gateway mode. */
const viaConnect = ((input: string, init: RequestInit & { headers?: Record<string, string> }) =>
  connect.request(input, { method: init.method, headers: init.headers, body: init.body as string | undefined, signal: init.signal ?? undefined })) as unknown as typeof fetch;

const headers = { "content-type": "application/json", authorization: "Bearer sk-bench-upstream-0001", accept: "application/json" };
const jsonBody = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say hello." }] });
const sseBody = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say hello." }], stream: true });

interface Case {
  name: string;
  body: string;
  n: number;
  concurrency: number;
  check(text: string): boolean;
}
const CASES: Case[] = [
  { name: "json c=1", body: jsonBody, n: JSON_N, concurrency: 1, check: (t) => t.includes("Hello from the bench upstream.") },
  { name: "json c=16", body: jsonBody, n: JSON_N, concurrency: 16, check: (t) => t.includes("Hello from the bench upstream.") },
  { name: "sse50 c=1", body: sseBody, n: SSE_N, concurrency: 1, check: (t) => t.includes(`tok_${CHUNKS - 1} `) },
  { name: "sse50 c=16", body: sseBody, n: SSE_N, concurrency: 16, check: (t) => t.includes(`tok_${CHUNKS - 1} `) },
];

/** One request and its whole answer as text, read chunk by chunk when it is a stream (as the router does). */
async function drain(res: Response, c: Case): Promise<void> {
  if (res.status !== 200) throw new Error(`${c.name}: status ${res.status} ${await res.text()}`);
  let text = "";
  const dec = new TextDecoder();
  if (c.body.includes('"stream":true')) for await (const chunk of res.body!) text += dec.decode(chunk, { stream: true });
  else text = await res.text();
  if (!c.check(text)) throw new Error(`${c.name}: wrong body ${text.slice(0, 80)}`);
}

type One = (c: Case) => Promise<void>;
let runner: (name: string) => One;
let stopGateway = async () => {};
if (GATEWAY) {
  // The real app and runtime (auth, routing, health, metrics, audit), its upstream calls made by
  // `fetch` or by the Bun.connect client: lmrelay's whole CPU per request with each.
  const dir = mkdtempSync(path.join(os.tmpdir(), "lmrelay-connect-"));
  const config = resolveConfig(
    {
      server: { host: "127.0.0.1", port: 0 },
      storage: { path: "bench.db" },
      providers: { fast: { type: "openai", baseUrl: `http://127.0.0.1:${port}/v1`, keys: [{ key: "sk-bench-upstream-0001", name: "bench" }], models: ["bench-model"] } },
      clients: { bench: { key: CLIENT_KEY, models: ["fast/*"] } },
      health: { probeIntervalMs: 30_000, failureThreshold: 3, cooldownMs: 60_000 },
    },
    path.join(dir, "lmrelay.config.ts"),
  );
  const log = createLogger({ pretty: false, write: () => {} });
  const runtime = new Runtime(config, log);
  await runtime.catalog.load(runtime.config, { wait: true });
  const app = buildApp(runtime, log);
  const gwHeaders = { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` };
  for (const c of CASES) c.body = c.body.replace('"bench-model"', '"fast/bench-model"');
  runner = (name) => {
    globalThis.fetch = name === "connect" ? viaConnect : realFetch;
    return async (c) => drain(await app.handle(new Request("http://localhost/v1/chat/completions", { method: "POST", headers: gwHeaders, body: c.body })), c);
  };
  stopGateway = async () => {
    globalThis.fetch = realFetch;
    await runtime.stop({ drainMs: 0 }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
} else {
  const signal = new AbortController().signal; // as sendUpstream always passes one
  runner = (name) => async (c) => drain(await clients[name]!(base, { method: "POST", headers, body: c.body, signal }), c);
}

async function round(one: One, c: Case): Promise<{ proc: number; thread: number; wall: number }> {
  const per = Math.ceil(c.n / c.concurrency);
  const w0 = performance.now();
  const before = process.cpuUsage();
  const t0 = threadCpuUs();
  await Promise.all(
    Array.from({ length: c.concurrency }, async () => {
      for (let i = 0; i < per; i++) await one(c);
    }),
  );
  const used = process.cpuUsage(before);
  const n = per * c.concurrency;
  return { proc: (used.user + used.system) / n, thread: (threadCpuUs() - t0) / n, wall: ((performance.now() - w0) * 1000) / n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const started = Date.now();
const f1 = (x: number) => x.toFixed(1).padStart(7);
console.log(`${GATEWAY ? "through lmrelay (app.handle), " : "client alone, "}rounds ${ROUNDS} (+1 warm-up), json ${JSON_N} requests/round, sse ${SSE_N} streams/round; µs per request (CPU: whole process, request thread; wall: elapsed / requests), median of rounds`);
console.log(`${"case".padEnd(12)} ${"fetch proc".padStart(10)} ${"conn proc".padStart(10)} ${"saved".padStart(8)} | ${"fetch thr".padStart(10)} ${"conn thr".padStart(10)} ${"saved".padStart(8)} | ${"fetch wall".padStart(10)} ${"conn wall".padStart(10)}`);
try {
  for (const c of CASES) {
    const got: Record<string, { proc: number[]; thread: number[]; wall: number[] }> = { fetch: { proc: [], thread: [], wall: [] }, connect: { proc: [], thread: [], wall: [] } };
    for (let r = 0; r <= ROUNDS && Date.now() - started < MAX_MS; r++) {
      // Alternate which client goes first, so drift within a round favours neither.
      const order = r % 2 === 0 ? ["fetch", "connect"] : ["connect", "fetch"];
      for (const name of order) {
        const m = await round(runner(name), c);
        if (r > 0) {
          got[name]!.proc.push(m.proc);
          got[name]!.thread.push(m.thread);
          got[name]!.wall.push(m.wall);
        }
      }
    }
    if (got.fetch!.proc.length === 0) break;
    const fp = median(got.fetch!.proc);
    const cp = median(got.connect!.proc);
    const ft = median(got.fetch!.thread);
    const ct = median(got.connect!.thread);
    const fw = median(got.fetch!.wall);
    const cw = median(got.connect!.wall);
    console.log(
      `${c.name.padEnd(12)} ${f1(fp).padStart(10)} ${f1(cp).padStart(10)} ${f1(fp - cp).padStart(8)} | ${f1(ft).padStart(10)} ${f1(ct).padStart(10)} ${f1(ft - ct).padStart(8)} | ${f1(fw).padStart(10)} ${f1(cw).padStart(10)}`,
    );
  }
} finally {
  await stopGateway();
  connect.close();
  child.stdin.end();
  await child.exited;
}
