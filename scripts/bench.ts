#!/usr/bin/env bun
// lmrelay's benchmark harness (issue 7). `bun run bench` measures, on 127.0.0.1, the compiled
// dist/lmrelay against a bare Bun proxy and the fake upstream itself, interleaved in one run:
// non-stream req/s and latency at c=1/16/64, streaming TTFB/total/chunk-per-write, CPU per request,
// memory, start-up; then prints the tables and the targets, and writes bench-results.json.
//
//   bun run bench                       the full run (≈ 4 minutes)
//   bun run bench --quick               fewer/shorter rounds (≈ 1.5 minutes)
//   bun run bench --streams 2000,10000  hold that many slow SSE streams open (bare proxy and lmrelay)
//   bun run bench --profile             profile the gateway from source under load (bun --cpu-prof)
//   bun run bench --inproc              lmrelay's own CPU per request, in process (no sockets)
//   bun run bench --cluster [N]         one node embedded vs with Redis (+ PostgreSQL): the added cost
//                                       per request (scripts/bench/cluster.ts; needs both servers)
//   options: --rounds N  --seconds S  --open N  --out FILE  --no-build  --keep (keep the temp
//            folder: config, logs, audit database, profiles)  --binary FILE (measure that build
//            instead of dist/lmrelay, e.g. an older commit's for a paired before/after run; no build)
//
// Gateways run on core 0; wrk, the stream client and the fake upstream on core 1 (taskset).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runInprocPhase, runLoadPhase, runOpenStreams, runStartup, runStreamPhase, type Stack, startGateway, startStack, stopStack } from "./bench/phases";
import { runProfile } from "./bench/profile-run";
import { CORE_LOAD, cpuModel, ensureWrk, hasCommand, loadAverage, memoryMb, raiseOpenFiles } from "./bench/procs";
import { inprocTable, loadTable, openStreamsTable, ratioTable, streamTable, verdicts, verdictTable } from "./bench/report";

const root = path.resolve(import.meta.dir, "..");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : (argv[i + 1] ?? "");
};
const has = (name: string) => argv.includes(`--${name}`);
const num = (name: string, fallback: number) => {
  const v = flag(name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} takes a positive number, got "${v}"`);
  return n;
};

const quick = has("quick");
const opts = {
  rounds: num("rounds", quick ? 2 : 3),
  seconds: num("seconds", quick ? 2 : 3),
  streamRounds: quick ? 3 : 5,
  open: num("open", 1000),
  startupRuns: quick ? 5 : 10,
  out: path.resolve(root, flag("out") ?? "bench-results.json"),
  streams: flag("streams")
    ?.split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0),
  profile: has("profile"),
  inproc: has("inproc"),
  build: !has("no-build") && flag("binary") === undefined,
  binary: flag("binary"),
  keep: has("keep"),
};

const log = (s: string) => process.stderr.write(`${s}\n`);

function gitCommit(): string {
  if (!hasCommand("git")) return "unknown";
  return Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: root, stderr: "ignore" }).stdout.toString().trim() || "unknown";
}

const FLAGS = new Set(["quick", "rounds", "seconds", "open", "out", "streams", "profile", "inproc", "cluster", "no-build", "keep", "binary"]);

async function main(): Promise<void> {
  const unknown = argv.filter((a) => a.startsWith("--") && !FLAGS.has(a.slice(2)));
  if (unknown.length) throw new Error(`unknown option ${unknown.join(", ")} (see the header of scripts/bench.ts)`);
  if (has("cluster")) {
    const requests = /^\d+$/.test(flag("cluster") ?? "") ? flag("cluster") : undefined;
    const run = Bun.spawnSync([process.execPath, path.join(root, "scripts/bench/cluster.ts"), ...(requests ? [requests] : [])], { stdout: "inherit", stderr: "inherit" });
    if (run.exitCode !== 0) throw new Error("the cluster benchmark failed");
    return;
  }
  if (process.platform !== "linux") throw new Error("the benchmark reads /proc and pins cores with taskset: it runs on Linux only");
  ensureWrk(log);
  // Keep this process (polling, probing) off the gateway's core.
  if (hasCommand("taskset")) Bun.spawnSync(["taskset", "-cp", CORE_LOAD, String(process.pid)], { stdout: "ignore", stderr: "ignore" });
  const binary = opts.binary ? path.resolve(opts.binary) : path.join(root, "dist", "lmrelay");
  if (opts.build && !opts.profile && !opts.inproc) {
    log("building dist/lmrelay…");
    const b = Bun.spawnSync([process.execPath, "run", "build"], { cwd: root, stdout: "ignore", stderr: "inherit" });
    if (b.exitCode !== 0) throw new Error("bun run build failed");
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "lmrelay-bench-"));
  const meta = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    bun: Bun.version,
    cpu: cpuModel(),
    cores: os.cpus().length,
    loadAverageBefore: loadAverage(),
    options: { ...opts, out: undefined },
  };
  let stack: Stack | undefined;
  const stopAll = async () => {
    if (stack) await stopStack(stack);
    stack = undefined;
  };
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    if (opts.inproc) {
      const inproc = await runInprocPhase(root);
      console.log(inprocTable(inproc));
      writeFileSync(opts.out, JSON.stringify({ meta, inproc }, null, 2));
      log(`\nwrote ${path.relative(process.cwd(), opts.out)}`);
      return;
    }
    if (opts.profile) {
      stack = await startStack({ root, dir, binary, openStreams: opts.open, openFilesLimit: raiseOpenFiles(0), log });
      const profile = await runProfile(stack, { seconds: opts.seconds * 3 });
      writeFileSync(opts.out, JSON.stringify({ meta, profile }, null, 2));
      log(`\nwrote ${path.relative(process.cwd(), opts.out)}`);
      return;
    }
    if (opts.streams?.length) {
      const most = Math.max(...opts.streams);
      // Each stream holds a socket in the client and the upstream, and two in the gateway.
      const limit = raiseOpenFiles(2 * most + 10_000);
      if (limit < 2 * most + 1_000) log(`warning: the open-files limit is ${limit}; ${most} streams need about ${2 * most + 1_000} (run as root, or raise the hard limit)`);
      stack = await startStack({ root, dir, binary, openStreams: most, openFilesLimit: limit, log });
      await startGateway(stack);
      const runs = [];
      for (const n of opts.streams)
        for (const target of ["bare", "lmrelay"] as const) {
          log(`holding ${n} slow streams through ${target}…`);
          runs.push(await runOpenStreams(stack, target, n));
        }
      const memory = { peakMb: memoryMb(stack.gateway.pid).peak };
      await stopAll();
      console.log(`## Open slow streams (one chunk a second)\n\n${openStreamsTable(runs)}\n\ngateway peak RSS ${memory.peakMb.toFixed(0)} MB`);
      const v = verdicts({ load: [], streams: [], idleRssMb: NaN, openStreams: runs }).filter((x) => x.target.includes("open streams"));
      console.log(`\n${verdictTable(v)}`);
      writeFileSync(opts.out, JSON.stringify({ meta, openStreams: runs, memory, verdicts: v }, null, 2));
      log(`\nwrote ${path.relative(process.cwd(), opts.out)}`);
      return;
    }

    stack = await startStack({ root, dir, binary, openStreams: opts.open, openFilesLimit: raiseOpenFiles(2 * opts.open + 10_000), log });
    const startup = await runStartup(stack, opts.startupRuns);
    await startGateway(stack);
    await Bun.sleep(500);
    const idleRssMb = memoryMb(stack.gateway.pid).rss;
    const load = await runLoadPhase(stack, { rounds: opts.rounds, seconds: opts.seconds, log });
    const streams = await runStreamPhase(stack, { rounds: opts.streamRounds, log });
    log(`holding ${opts.open} slow streams through lmrelay…`);
    const openStreams = [await runOpenStreams(stack, "lmrelay", opts.open)];
    await Bun.sleep(1000);
    const after = memoryMb(stack.gateway.pid);
    const memory = { idleMb: idleRssMb, idleAfterLoadMb: after.rss, peakMb: after.peak, withOpenStreamsMb: openStreams[0]!.rssMb, openStreams: opts.open };
    const auditRows = stack.auditRows();
    await stopAll();
    // In process means this tree's source: not the build --binary named.
    if (!opts.binary) log("measuring lmrelay's own CPU per request in process…");
    const inproc = opts.binary ? [] : await runInprocPhase(root);

    const v = verdicts({ load, streams, idleRssMb, openStreams, startupMs: startup.medianMs, serviceStartupMs: startup.service.medianMs });
    const text = [
      `lmrelay benchmark — ${meta.date}, commit ${meta.commit}, Bun ${meta.bun}, ${meta.cpu} × ${meta.cores}`,
      `${opts.rounds} interleaved rounds of ${opts.seconds} s per cell; medians. Gateway on core 0, load + upstream on core 1.`,
      "",
      "## Non-stream (OpenAI chat completion)",
      "",
      loadTable(load),
      "",
      ratioTable(load),
      "",
      `## Streaming (16 concurrent streams × 50 chunks; paced = one chunk per 5 ms, burst = no delay; ${opts.streamRounds} rounds)`,
      "",
      streamTable(streams),
      "",
      "## lmrelay's own work (in process: the real app and runtime, the upstream answered from memory)",
      "",
      inprocTable(inproc),
      "",
      "## Memory and start-up",
      "",
      `RSS idle ${idleRssMb.toFixed(1)} MB, idle after load ${after.rss.toFixed(1)} MB, peak ${after.peak.toFixed(1)} MB, with ${opts.open} open streams ${openStreams[0]!.rssMb.toFixed(0)} MB`,
      `start-up to first answered chat request: median ${startup.medianMs.toFixed(0)} ms (min ${startup.minMs.toFixed(0)}, first run with a fresh database ${startup.firstMs.toFixed(0)} ms, ${startup.runsMs.length} runs)`,
      `start-up as the systemd unit runs it (BUN_CONFIG_MAX_HTTP_REQUESTS set, no re-exec): median ${startup.service.medianMs.toFixed(0)} ms (min ${startup.service.minMs.toFixed(0)}, ${startup.service.runsMs.length} runs)`,
      `audit rows written during the run: ${auditRows}`,
      "",
      openStreamsTable(openStreams),
      "",
      "## Targets",
      "",
      verdictTable(v),
    ].join("\n");
    console.log(text);
    const ratios = Object.fromEntries(
      [1, 16, 64].map((c) => {
        const at = (t: string) => load.find((x) => x.target === t && x.connections === c)!.median;
        return [
          `c${c}`,
          {
            rpsVsBare: at("lmrelay").rps / at("bare").rps,
            rpsVsDirect: at("lmrelay").rps / at("direct").rps,
            p50AddedMs: at("lmrelay").p50Ms - at("bare").p50Ms,
            p99VsBare: at("lmrelay").p99Ms / at("bare").p99Ms,
            cpuAddedUs: (at("lmrelay").cpuUsPerReq ?? NaN) - (at("bare").cpuUsPerReq ?? NaN),
            lagMaxAddedMs: (at("lmrelay").lagMaxMs ?? NaN) - (at("bare").lagMaxMs ?? NaN),
          },
        ];
      }),
    );
    writeFileSync(opts.out, JSON.stringify({ meta: { ...meta, loadAverageAfter: loadAverage() }, startup, memory, auditRows, load, ratios, streams, inproc, openStreams, verdicts: v }, null, 2));
    log(`\nwrote ${path.relative(process.cwd(), opts.out)}`);
  } finally {
    await stopAll();
    if (opts.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main().catch((e) => {
  log(`bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
