// One bounded wrk run, pinned to the load core, with the gateway's CPU time read around it.

import path from "node:path";
import { CORE_LOAD, cpuUs, pinned } from "./procs";

const LUA = path.join(import.meta.dir, "post.lua");

export interface WrkResult {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { min: number; mean: number; max: number; p50: number; p90: number; p99: number; p999: number };
}

export interface LoadRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU the process under test spent per request, µs (absent for the direct target). */
  cpuUsPerReq?: number;
  /** Share of one core the process under test used during the run. */
  cpuLoad?: number;
  /** `GET /healthz` latency through the same server while the load ran (its event-loop lag: a
   *  pause in the server shows up whole here), ms. */
  lagP99Ms?: number;
  lagMaxMs?: number;
}

/** Probes `url` one request at a time, every PROBE_MS, until `stop` resolves; latencies in ms. */
const PROBE_MS = 5;
async function probe(url: string, stop: Promise<unknown>): Promise<number[]> {
  let done = false;
  void stop.then(() => (done = true));
  const out: number[] = [];
  while (!done) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      out.push(performance.now() - t0);
    } catch {
      out.push(5_000);
    }
    await Bun.sleep(PROBE_MS);
  }
  return out;
}

export async function runWrk(opts: { url: string; bodyFile: string; key?: string; connections: number; seconds: number; pid?: number; probeUrl?: string }): Promise<LoadRun> {
  const cmd = pinned(CORE_LOAD, [
    "wrk",
    "-t1",
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    "--timeout",
    "5s",
    "-s",
    LUA,
    opts.url,
  ]);
  const cpu0 = opts.pid ? cpuUs(opts.pid) : 0;
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { env: { ...process.env, BENCH_BODY: opts.bodyFile, BENCH_KEY: opts.key ?? "" }, stdout: "pipe", stderr: "pipe" });
  // wrk stops itself after -d; the kill is only a bound should it hang.
  const guard = setTimeout(() => proc.kill("SIGKILL"), (opts.seconds + 15) * 1000);
  // The probe starts once wrk has its connections up, and stops with it.
  const probes = opts.probeUrl ? Bun.sleep(200).then(() => probe(opts.probeUrl!, proc.exited)) : undefined;
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const lags = (await probes)?.sort((a, b) => a - b);
  clearTimeout(guard);
  const wallUs = (performance.now() - t0) * 1000;
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk gave no result for ${opts.url}: ${(err || out).trim().slice(-400)}`);
  const r = JSON.parse(line.slice("BENCH_JSON ".length)) as WrkResult;
  const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
  const run: LoadRun = {
    rps: r.requests / (r.durationUs / 1e6),
    p50Ms: r.latencyUs.p50 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    errors,
  };
  if (lags?.length) {
    run.lagP99Ms = lags[Math.min(lags.length - 1, Math.floor(lags.length * 0.99))]!;
    run.lagMaxMs = lags[lags.length - 1]!;
  }
  if (opts.pid) {
    const used = cpuUs(opts.pid) - cpu0;
    run.cpuUsPerReq = r.requests ? used / r.requests : 0;
    run.cpuLoad = used / wallUs;
  }
  return run;
}
