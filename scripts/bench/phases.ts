// The benchmark's phases: start the stack (fake upstream, bare proxy, lmrelay, stream client),
// measure start-up, the interleaved non-stream matrix, the streaming cases, and open slow streams.

import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { type LoadCell, median, medianRun, type OpenStreamsRun, type StreamRow, streamRow, type Target } from "./report";
import { type Child, CORE_GATEWAY, CORE_LOAD, cpuUs, freePort, memoryMb, pinned, startChild, stopChild } from "./procs";
import { CHAT_BODY, CHUNKS, CLIENT_KEY, slowTarget, type StreamCase, streamCases, type StreamTarget, writeGatewayConfig } from "./setup";
import { percentiles, type StreamSpec, type StreamStats } from "./stream-client";
import type { InprocResult } from "./inproc";
import { type LoadRun, runWrk } from "./wrk";

export interface Stack {
  dir: string;
  root: string;
  binary: string;
  configFile: string;
  bodyFile: string;
  slowChunks: number;
  upstream: Child & { port: number };
  bare: Child & { port: number };
  gatewayPort: number;
  gateway: Child;
  client: Child;
  cases: StreamCase[];
  /** The open-files limit the children run with. */
  openFilesLimit: number;
  log: (s: string) => void;
  auditRows(): number;
}

const CONNECTIONS = [1, 16, 64];
const STREAMS = 16;
/** Slow streams open at this rate, so the listen backlog never overflows. */
const RAMP_PER_SEC = 2000;
/** Seconds every slow stream stays open after the last one opened. */
const HOLD_S = 8;
/** Bun's fetch sends at most 256 requests at once and queues the rest unless this is raised (read
 *  once at process start). `lmrelay serve` re-executes itself with it (start-up pays for that, as
 *  users do); the bare proxy and a gateway run from source under the profiler get it from us. */
export const FETCH_ENV = { BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" };

async function portOf(child: Child): Promise<Child & { port: number }> {
  const { port } = await child.lines!.expect<{ port: number }>("", 10_000).catch((e) => {
    throw new Error(`${child.name} did not start: ${(e as Error).message}`);
  });
  return Object.assign(child, { port });
}

/** Upstream, bare proxy, config and stream client; the gateway itself starts with `startGateway`. */
export async function startStack(o: { root: string; dir: string; binary: string; openStreams: number; openFilesLimit: number; log: (s: string) => void }): Promise<Stack> {
  const bun = process.execPath;
  const script = (name: string) => path.join(o.root, "scripts", "bench", name);
  const upstream = await portOf(startChild("upstream", pinned(CORE_LOAD, [bun, script("upstream.ts")]), { lines: true }));
  const bare = await portOf(
    startChild("bare proxy", pinned(CORE_GATEWAY, [bun, script("bare-proxy.ts")]), { lines: true, env: { ...FETCH_ENV, BENCH_UPSTREAM: `http://127.0.0.1:${upstream.port}` } }),
  );
  const slowChunks = Math.ceil(o.openStreams / RAMP_PER_SEC) + HOLD_S + 2;
  const gatewayPort = freePort();
  const configFile = writeGatewayConfig(o.dir, gatewayPort, upstream.port, slowChunks);
  const bodyFile = path.join(o.dir, "chat.json");
  writeFileSync(bodyFile, JSON.stringify(CHAT_BODY));
  const client = startChild("stream client", pinned(CORE_LOAD, [bun, script("stream-client.ts")]), { lines: true, stdin: true });
  const stack: Stack = {
    ...o,
    configFile,
    bodyFile,
    slowChunks,
    upstream,
    bare,
    gatewayPort,
    gateway: undefined as unknown as Child,
    client,
    cases: streamCases({ upstream: upstream.port, bare: bare.port, gateway: gatewayPort }, slowChunks),
    auditRows: () => countAuditRows(path.join(o.dir, "bench.db")),
  };
  return stack;
}

function gatewayCommand(stack: Stack): string[] {
  return pinned(CORE_GATEWAY, [stack.binary, "serve", "--config", stack.configFile]);
}

/** Starts lmrelay and waits until it relays a chat request; returns ms from spawn to that answer. */
export async function startGateway(stack: Stack, cmd = gatewayCommand(stack), logName = "gateway.log", env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  stack.gateway = startChild("lmrelay", cmd, { cwd: stack.dir, stdout: path.join(stack.dir, logName), env });
  const url = `http://127.0.0.1:${stack.gatewayPort}/v1/chat/completions`;
  const init = { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify(CHAT_BODY) };
  while (performance.now() - t0 < 15_000) {
    if (stack.gateway.proc.exitCode !== null) throw new Error(`lmrelay exited with ${stack.gateway.proc.exitCode}; see ${path.join(stack.dir, logName)}`);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      const text = await res.text();
      if (res.status !== 200 || !text.includes("Hello from the bench upstream")) throw new Error(`lmrelay answered ${res.status}: ${text.slice(0, 300)}`);
      return performance.now() - t0;
    } catch (e) {
      if ((e as Error).message.startsWith("lmrelay answered")) throw e;
      await Bun.sleep(1);
    }
  }
  throw new Error("lmrelay did not answer within 15 s");
}

export async function stopStack(stack: Stack): Promise<void> {
  stack.client.proc.stdin && (stack.client.proc.stdin as import("bun").FileSink).end();
  await Promise.all([stopChild(stack.gateway), stopChild(stack.bare), stopChild(stack.upstream), stopChild(stack.client)]);
}

export interface StartupStats {
  runsMs: number[];
  medianMs: number;
  minMs: number;
  /** The first run, with a fresh database. */
  firstMs: number;
}

function startupStats(runsMs: number[]): StartupStats {
  return { runsMs, medianMs: median(runsMs), minMs: Math.min(...runsMs), firstMs: runsMs[0]! };
}

/** Spawn → first relayed chat answer, `runs` times per way, the two ways interleaved: plain (serve
 *  re-executes itself to raise the fetch limit) and as the systemd unit runs it (variable set, no
 *  re-exec). The plain way goes first, so its first run has the fresh database. */
export async function runStartup(stack: Stack, runs: number): Promise<StartupStats & { service: StartupStats }> {
  stack.log(`measuring start-up (${runs} runs plain, ${runs} as the service runs it)…`);
  const plain: number[] = [];
  const service: number[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await startGateway(stack, gatewayCommand(stack), "startup.log"));
    await stopChild(stack.gateway);
    service.push(await startGateway(stack, gatewayCommand(stack), "startup.log", FETCH_ENV));
    await stopChild(stack.gateway);
  }
  return { ...startupStats(plain), service: startupStats(service) };
}

function loadTargets(stack: Stack): { target: Target; url: string; key?: string; pid?: number; probeUrl?: string }[] {
  const path = "/v1/chat/completions";
  return [
    { target: "direct", url: `http://127.0.0.1:${stack.upstream.port}${path}` },
    { target: "bare", url: `http://127.0.0.1:${stack.bare.port}${path}`, pid: stack.bare.pid, probeUrl: `http://127.0.0.1:${stack.bare.port}/healthz` },
    { target: "lmrelay", url: `http://127.0.0.1:${stack.gatewayPort}${path}`, key: CLIENT_KEY, pid: stack.gateway.pid, probeUrl: `http://127.0.0.1:${stack.gatewayPort}/healthz` },
  ];
}

/** Connections at which the servers' event-loop lag is probed (the busiest cell). */
const PROBE_AT = 64;

/** Non-stream matrix: every (connections, target) cell once per round, rounds interleaved. */
export async function runLoadPhase(stack: Stack, o: { rounds: number; seconds: number; log: (s: string) => void }): Promise<LoadCell[]> {
  const targets = loadTargets(stack);
  o.log("warming up (2 s per target)…");
  for (const t of targets) await runWrk({ url: t.url, bodyFile: stack.bodyFile, key: t.key, connections: 16, seconds: 2 });
  const runs = new Map<string, LoadRun[]>();
  for (let r = 0; r < o.rounds; r++) {
    o.log(`non-stream round ${r + 1}/${o.rounds}…`);
    for (const c of CONNECTIONS)
      for (const t of targets) {
        const run = await runWrk({ url: t.url, bodyFile: stack.bodyFile, key: t.key, connections: c, seconds: o.seconds, pid: t.pid, probeUrl: c === PROBE_AT ? t.probeUrl : undefined });
        const k = `${c}:${t.target}`;
        runs.set(k, [...(runs.get(k) ?? []), run]);
      }
  }
  return CONNECTIONS.flatMap((c) =>
    targets.map((t) => {
      const list = runs.get(`${c}:${t.target}`)!;
      return { target: t.target, connections: c, runs: list, median: medianRun(list) };
    }),
  );
}

function specFor(t: StreamTarget, o: { streams: number; expectChunks: number; rampPerSec?: number; timeoutMs: number }): StreamSpec {
  return { host: "127.0.0.1", port: t.port, path: t.path, headers: t.headers, body: t.body, marker: "tok_", ...(t.countIn ? { countIn: t.countIn } : {}), ...o };
}

async function clientRun(stack: Stack, spec: StreamSpec, onOpen?: () => void): Promise<StreamStats> {
  const stdin = stack.client.proc.stdin as import("bun").FileSink;
  stdin.write(`${JSON.stringify(spec)}\n`);
  stdin.flush();
  for (;;) {
    const line = await stack.client.lines!.next(spec.timeoutMs + 30_000);
    if (line === undefined) throw new Error("the stream client stopped answering");
    if (line.startsWith("BENCH_OPEN ")) onOpen?.();
    if (line.startsWith("BENCH_STREAMS ")) return JSON.parse(line.slice("BENCH_STREAMS ".length)) as StreamStats;
  }
}

function pidOf(stack: Stack, target: Target): number | undefined {
  return target === "lmrelay" ? stack.gateway.pid : target === "bare" ? stack.bare.pid : undefined;
}

/** Streaming cases: 16 streams at once per run; every (case, target) once per round. */
export async function runStreamPhase(stack: Stack, o: { rounds: number; log: (s: string) => void }): Promise<StreamRow[]> {
  const results = new Map<string, { runs: StreamStats[]; cpu: number }>();
  for (let r = 0; r < o.rounds + 1; r++) {
    o.log(r === 0 ? "streaming warm-up…" : `streaming round ${r}/${o.rounds}…`);
    for (const c of stack.cases)
      for (const t of c.targets) {
        const pid = pidOf(stack, t.target);
        const cpu0 = pid ? cpuUs(pid) : 0;
        const stats = await clientRun(stack, specFor(t, { streams: STREAMS, expectChunks: CHUNKS, timeoutMs: 20_000 }));
        if (r === 0) continue; // the warm-up round only wakes the JITs and connection pools
        const k = `${c.name}\0${t.target}`;
        const entry = results.get(k) ?? { runs: [], cpu: 0 };
        entry.runs.push(stats);
        entry.cpu += pid ? cpuUs(pid) - cpu0 : 0;
        results.set(k, entry);
      }
  }
  return stack.cases.flatMap((c) =>
    c.targets.map((t) => {
      const e = results.get(`${c.name}\0${t.target}`)!;
      return streamRow(c.name, c.reference, t.target, e.runs, pidOf(stack, t.target) ? e.cpu : undefined, CHUNKS);
    }),
  );
}

/** One run of 16 streams for each of `cases` through `target`; returns how many streams ran. */
export async function runStreamLoad(stack: Stack, cases: StreamCase[], target: Target): Promise<number> {
  let n = 0;
  for (const c of cases)
    for (const t of c.targets.filter((x) => x.target === target)) {
      const stats = await clientRun(stack, specFor(t, { streams: STREAMS, expectChunks: CHUNKS, timeoutMs: 20_000 }));
      n += stats.streams;
    }
  return n;
}

/** Holds `n` slow streams (one chunk a second) open through `target`, sampling RSS and /healthz. */
export async function runOpenStreams(stack: Stack, target: "bare" | "lmrelay", n: number): Promise<OpenStreamsRun> {
  const port = target === "bare" ? stack.bare.port : stack.gatewayPort;
  const pid = pidOf(stack, target)!;
  const spec = specFor(slowTarget(target, port, stack.slowChunks), {
    streams: n,
    expectChunks: stack.slowChunks,
    rampPerSec: RAMP_PER_SEC,
    timeoutMs: (stack.slowChunks + n / RAMP_PER_SEC + 20) * 1000,
  });
  let allOpen = false;
  let done = false;
  let rssMb = 0;
  const probes: number[] = [];
  const sampler = (async () => {
    while (!done) {
      await Bun.sleep(200);
      if (!allOpen || done) continue;
      rssMb = Math.max(rssMb, memoryMb(pid).rss);
      const t0 = performance.now();
      try {
        await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) });
        probes.push(performance.now() - t0);
      } catch {
        probes.push(5_000);
      }
    }
  })();
  const stats = await clientRun(stack, spec, () => (allOpen = true));
  done = true;
  await sampler;
  if (probes.length === 0) rssMb = memoryMb(pid).rss;
  return {
    target,
    streams: n,
    ok: stats.ok,
    errors: stats.errors,
    rssMb,
    probeMs: percentiles(probes),
    forwardMs: stats.forwardMs,
    openFilesLimit: stack.openFilesLimit,
  };
}

/** lmrelay's own CPU per request without sockets (inproc.ts), in a child pinned to the gateway's core. */
export async function runInprocPhase(root: string): Promise<InprocResult[]> {
  const proc = Bun.spawn(pinned(CORE_GATEWAY, [process.execPath, path.join(root, "scripts", "bench", "inproc.ts"), "--json"]), { stdout: "pipe", stderr: "pipe" });
  const guard = setTimeout(() => proc.kill("SIGKILL"), 180_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(guard);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_INPROC "));
  if (!line) throw new Error(`the in-process measurement failed: ${(err || out).trim().slice(-500)}`);
  return JSON.parse(line.slice("BENCH_INPROC ".length)) as InprocResult[];
}

function countAuditRows(file: string): number {
  try {
    const db = new Database(file, { readonly: true });
    try {
      return (db.query("SELECT count(*) AS n FROM requests").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}
