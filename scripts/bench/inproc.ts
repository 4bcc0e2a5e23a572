#!/usr/bin/env bun
// lmrelay's own CPU per request, with no sockets: the real app (`app.handle`) and runtime (auth,
// routing, health, governance, metrics, audit, the request log formatted and dropped), with
// `fetch` answering from memory as the fast fake upstream would. On a shared machine this is a far
// steadier number than req/s over loopback, so it is the one to watch as features land.
//
//   bun run bench --inproc                            the table
//   bun --cpu-prof scripts/bench/inproc.ts [case]     a profile of lmrelay's own work, no I/O in it
//   bun scripts/bench/inproc.ts --alloc [case]        heap cells allocated per request, by type
//
// CPU is counted twice: the whole process (every thread, the audit writer's included) and the
// request thread alone (/proc/thread-self/schedstat, in ns) — what bookkeeping moved off it shows
// as the difference.

import { gcAndSweep, heapStats } from "bun:jsc";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { createLogger } from "../../src/log/logger";
import { buildApp } from "../../src/server/app";
import { Runtime } from "../../src/server/runtime";
import { CHAT_BODY, CHUNKS, CLIENT_KEY } from "./setup";

const UPSTREAM = "http://127.0.0.1:9";
const CONCURRENCY = 16;

const enc = new TextEncoder();
const answer = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
});
const head = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":';
const frames = [
  ...Array.from({ length: CHUNKS }, (_, i) => enc.encode(`data: ${head}[{"index":0,"delta":{"content":"tok_${i} "},"logprobs":null,"finish_reason":null}]}\n\n`)),
  enc.encode(`data: ${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\ndata: ${head}[],"usage":{"prompt_tokens":42,"completion_tokens":${CHUNKS},"total_tokens":${42 + CHUNKS}}}\n\ndata: [DONE]\n\n`),
];

/** The upstream, from memory: a whole answer, or the 50-chunk stream one chunk per read. */
function fakeUpstream(_url: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (typeof init?.body === "string" && init.body.includes('"stream":true')) {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < frames.length) c.enqueue(frames[i++]!);
        else c.close();
      },
    });
    return Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } }));
  }
  return Promise.resolve(new Response(answer, { headers: { "content-type": "application/json", "content-length": String(answer.length) } }));
}

interface Case {
  name: string;
  path: string;
  body: string;
}

const { messages, temperature, max_tokens } = CHAT_BODY;
export const CASES: Case[] = [
  { name: "openai→openai", path: "/v1/chat/completions", body: JSON.stringify(CHAT_BODY) },
  { name: "openai→openai stream", path: "/v1/chat/completions", body: JSON.stringify({ ...CHAT_BODY, stream: true }) },
  {
    name: "anthropic→openai stream",
    path: "/v1/messages",
    body: JSON.stringify({ model: "bench", system: messages[0]!.content, messages: messages.slice(1), max_tokens, temperature, stream: true }),
  },
  // The same chat request translated: the reference for the Responses case below, on the same
  // provider. Its system turn sent as `developer`, a role this openai-compatible provider does not
  // take, keeps it off the same-format passthrough (the translation sends it as `system`): the
  // upstream gets the request the Responses case sends it.
  {
    name: "openai→openai stream translated",
    path: "/v1/chat/completions",
    body: JSON.stringify({ ...CHAT_BODY, model: "spare/bench-model", messages: [{ ...messages[0]!, role: "developer" }, ...messages.slice(1)], stream: true }),
  },
  // The Responses API translated to Chat Completions (an openai-compatible provider: no native
  // /responses), the full event sequence written back; judged against "openai→openai stream translated".
  {
    name: "responses→openai stream",
    path: "/v1/responses",
    body: JSON.stringify({
      model: "spare/bench-model",
      instructions: messages[0]!.content,
      input: messages.slice(1).map((m) => ({ role: m.role, content: m.content })),
      max_output_tokens: max_tokens,
      temperature,
      store: false,
      stream: true,
    }),
  },
];

export interface InprocResult {
  case: string;
  /** CPU per request, µs: the best round and the median round. */
  bestUs: number;
  medianUs: number;
  /** The request thread's own CPU per request, µs (best and median round). */
  threadBestUs?: number;
  threadMedianUs?: number;
}

/** This thread's CPU time so far, µs (Linux; NaN elsewhere). */
function threadCpuUs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

export interface AllocProfile {
  case: string;
  /** Heap cells allocated per request, all types. */
  cells: number;
  /** The most allocated types: cells per request. */
  top: { type: string; cells: number }[];
}

export async function runInproc(o: { rounds: number; requests: number; only?: string; alloc?: AllocProfile[]; telemetry?: LmrelayConfig["telemetry"] }): Promise<InprocResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lmrelay-inproc-"));
  const config = resolveConfig(
    {
      server: { host: "127.0.0.1", port: 0 },
      storage: { path: "bench.db" },
      providers: {
        fast: { type: "openai", baseUrl: `${UPSTREAM}/v1`, keys: [{ key: "sk-bench-upstream-0001", name: "bench" }], models: ["bench-model"] },
        spare: { type: "openai-compatible", baseUrl: `${UPSTREAM}/v1`, keys: ["sk-bench-upstream-0002"], models: ["bench-model"] },
      },
      models: { bench: ["fast/bench-model", "spare/bench-model"] },
      clients: { bench: { key: CLIENT_KEY, models: ["bench", "bench-*", "fast/*", "spare/*"] } },
      routing: { strategy: "health", keyRotation: "round-robin", maxAttempts: 3, timeoutMs: 120_000 },
      health: { probeIntervalMs: 30_000, failureThreshold: 3, cooldownMs: 60_000 },
      telemetry: o.telemetry,
    },
    path.join(dir, "lmrelay.config.ts"),
  );
  // Formatted like the real log, then dropped: the write is I/O, not lmrelay's work.
  const log = createLogger({ pretty: false, write: () => {} });
  const realFetch = globalThis.fetch;
  globalThis.fetch = fakeUpstream as typeof fetch;
  const runtime = new Runtime(config, log);
  try {
    await Promise.all([runtime.catalog.load(runtime.config, { wait: true }), runtime.telemetry.configure(runtime.config)]);
    const app = buildApp(runtime, log);
    const results: InprocResult[] = [];
    for (const c of CASES.filter((x) => !o.only || x.name === o.only)) {
      const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(c.body)), authorization: `Bearer ${CLIENT_KEY}`, "anthropic-version": "2023-06-01" };
      const one = async () => {
        const res = await app.handle(new Request(`http://localhost${c.path}`, { method: "POST", headers, body: c.body }));
        if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      };
      const rounds: number[] = [];
      const threadRounds: number[] = [];
      // Round 0 warms the JIT and is not counted.
      for (let r = 0; r <= o.rounds; r++) {
        const before = process.cpuUsage();
        const thread0 = threadCpuUs();
        const per = Math.ceil(o.requests / CONCURRENCY);
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
          for (let i = 0; i < per; i++) await one();
        }));
        const used = process.cpuUsage(before);
        const thread = threadCpuUs() - thread0;
        if (r > 0) {
          rounds.push((used.user + used.system) / (per * CONCURRENCY));
          threadRounds.push(thread / (per * CONCURRENCY));
        }
      }
      rounds.sort((a, b) => a - b);
      threadRounds.sort((a, b) => a - b);
      results.push({ case: c.name, bestUs: rounds[0]!, medianUs: rounds[rounds.length >> 1]!, threadBestUs: threadRounds[0], threadMedianUs: threadRounds[threadRounds.length >> 1] });
      if (o.alloc) o.alloc.push(await allocations(c.name, one, c.name.includes("stream") ? 4 : 20));
    }
    return results;
  } finally {
    globalThis.fetch = realFetch;
    await runtime.stop({ drainMs: 0 }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Heap cells a request allocates, by type: the heap swept, then a few requests one after another
 *  (few enough that no collection runs between the two counts), then the count again. */
async function allocations(name: string, one: () => Promise<void>, n: number): Promise<AllocProfile> {
  await one();
  await Bun.sleep(50); // let timers that follow a request (audit post, log flush) run first
  gcAndSweep();
  const before = heapStats().objectTypeCounts;
  for (let i = 0; i < n; i++) await one();
  const after = heapStats().objectTypeCounts;
  const diff = Object.entries(after).map(([type, count]) => ({ type, cells: (count - (before[type] ?? 0)) / n }));
  return {
    case: name,
    cells: diff.reduce((sum, d) => sum + d.cells, 0),
    top: diff.filter((d) => d.cells > 0).sort((a, b) => b.cells - a.cells).slice(0, 12),
  };
}

if (import.meta.main) {
  const json = process.argv.includes("--json");
  const only = process.argv.slice(2).find((a) => !a.startsWith("--"));
  const results: InprocResult[] = [];
  const alloc: AllocProfile[] | undefined = process.argv.includes("--alloc") ? [] : undefined;
  // Streams cost ~50× a plain request per request: fewer of them keep the rounds comparable.
  for (const c of CASES.filter((x) => !only || x.name === only))
    results.push(...(await runInproc({ rounds: 5, requests: c.name.includes("stream") ? 800 : 4000, only: c.name, alloc })));
  if (json) process.stdout.write(`BENCH_INPROC ${JSON.stringify(results)}\n`);
  else
    for (const r of results)
      console.log(
        `${r.case.padEnd(26)} CPU µs/request: best ${r.bestUs.toFixed(1)}, median ${r.medianUs.toFixed(1)}; request thread: best ${r.threadBestUs?.toFixed(1)}, median ${r.threadMedianUs?.toFixed(1)}`,
      );
  for (const a of alloc ?? []) {
    console.log(`\n${a.case}: ${a.cells.toFixed(0)} heap cells allocated per request`);
    for (const t of a.top) console.log(`  ${t.type.padEnd(28)} ${t.cells.toFixed(1)}`);
  }
  process.exit(0);
}
