// `bun run bench --profile`: runs the gateway from source under `bun --cpu-prof`, loads it (the
// non-stream matrix's c=16 cell, then the burst streaming cases) and prints the top frames.
// The gateway is left unpinned here: pinned to one core, the profiler's sampling thread would only
// get to run while the JS thread waits in a syscall, and the profile would blame the syscalls.

import { readdirSync } from "node:fs";
import path from "node:path";
import { FETCH_ENV, runStreamLoad, type Stack, startGateway } from "./phases";
import { stopChild } from "./procs";
import { formatProfile, type ProfileSummary, summariseProfile } from "./profile";
import { CLIENT_KEY } from "./setup";
import { runWrk } from "./wrk";

async function profiled(stack: Stack, name: string, load: () => Promise<string>): Promise<ProfileSummary & { load: string }> {
  const dir = path.join(stack.dir, `prof-${name}`);
  const cmd = [process.execPath, "--cpu-prof", `--cpu-prof-dir=${dir}`, path.join(stack.root, "src", "main.ts"), "serve", "--config", stack.configFile];
  // With the variable set, serve does not re-execute itself (which would end the profiled process).
  await startGateway(stack, cmd, `profile-${name}.log`, FETCH_ENV);
  const loadNote = await load();
  // The profile is written when the process exits; SIGTERM is lmrelay's graceful shutdown.
  await stopChild(stack.gateway, 15_000);
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no CPU profile was written to ${dir}`);
  const summary = summariseProfile(await Bun.file(path.join(dir, file)).json(), stack.root, 20);
  console.log(`${formatProfile(`## ${name} (${loadNote})`, summary)}\n`);
  return { ...summary, load: loadNote };
}

export async function runProfile(stack: Stack, o: { seconds: number }): Promise<Record<string, ProfileSummary & { load: string }>> {
  const nonStream = await profiled(stack, "non-stream", async () => {
    const url = `http://127.0.0.1:${stack.gatewayPort}/v1/chat/completions`;
    const run = await runWrk({ url, bodyFile: stack.bodyFile, key: CLIENT_KEY, connections: 16, seconds: o.seconds, pid: stack.gateway.pid });
    return `wrk c=16 for ${o.seconds} s: ${run.rps.toFixed(0)} req/s, ${run.cpuUsPerReq?.toFixed(1)} µs CPU/req`;
  });
  const streams = await profiled(stack, "streams", async () => {
    const cases = stack.cases.filter((c) => c.name.includes("burst"));
    const deadline = performance.now() + o.seconds * 1000;
    let n = 0;
    while (performance.now() < deadline) n += await runStreamLoad(stack, cases, "lmrelay");
    return `${cases.map((c) => c.name).join(" + ")} through lmrelay for ${o.seconds} s: ${n} streams`;
  });
  return { nonStream, streams };
}
