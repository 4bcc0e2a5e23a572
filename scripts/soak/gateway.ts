#!/usr/bin/env bun
// The gateway under soak: the real Runtime on the real config loader (what `lmrelay serve` runs),
// plus a sampler that prints one JSON line per interval with what only the process itself can see
// — heap, open descriptors, event-loop lag. SIGHUP reloads the config file like `serve` does;
// SIGTERM drains and exits.
//
//   bun scripts/soak/gateway.ts <config.ts> <sampleMs>

import { readdirSync } from "node:fs";
import { loadConfig } from "../../src/config/load";
import { createLogger } from "../../src/log/logger";
import { Runtime } from "../../src/server/runtime";

const [file, sampleArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: bun scripts/soak/gateway.ts <config.ts> [sampleMs]\n");
  process.exit(2);
}
const sampleMs = Number(sampleArg ?? 1000);
// Warnings and errors only: request logs at soak rates would measure the log pipe, not lmrelay.
const log = createLogger({ level: "warn", pretty: false, write: (line) => process.stderr.write(`${line}\n`) });
const runtime = new Runtime(await loadConfig(file), log);
const { url } = await runtime.start({ port: 0 });
process.stdout.write(`${JSON.stringify({ listening: url })}\n`);

let reloads = 0;
let reloadErrors = 0;
process.on("SIGHUP", async () => {
  try {
    await runtime.reload(await loadConfig(file));
    reloads++;
  } catch (e) {
    reloadErrors++;
    log.error("soak: reload failed", { error: (e as Error).message });
  }
});

// Event-loop lag: how late a 20 ms timer fires; the worst of each sample window is reported.
let lagMax = 0;
let expected = performance.now() + 20;
setInterval(() => {
  const now = performance.now();
  lagMax = Math.max(lagMax, now - expected);
  expected = now + 20;
}, 20);

setInterval(() => {
  const mem = process.memoryUsage();
  let fds = -1;
  try {
    fds = readdirSync("/proc/self/fd").length;
  } catch {}
  const sample = {
    t: Date.now(),
    rssMb: mem.rss / 2 ** 20,
    heapUsedMb: mem.heapUsed / 2 ** 20,
    heapTotalMb: mem.heapTotal / 2 ** 20,
    fds,
    lagMs: lagMax,
    inFlight: runtime.inFlight + runtime.gateway.openAnswers,
    auditDepth: runtime.audit.depth,
    auditWritten: runtime.audit.written,
    auditDropped: runtime.audit.dropped,
    reloads,
    reloadErrors,
  };
  lagMax = 0;
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}, sampleMs);

process.on("SIGTERM", async () => {
  await runtime.stop({ drainMs: 5_000 });
  process.exit(0);
});
