#!/usr/bin/env bun
// Soak test: lmrelay under mixed traffic for a long time, watching its memory settle.
//
//   bun scripts/soak.ts [--minutes 10] [--seconds N] [--reload-seconds 60] [--sample-seconds 5]
//                       [--concurrency 8] [--max-rss-slope 1] [--json soak-results.json]
//
// Traffic: OpenAI, Anthropic and Ollama clients, streams and not, embeddings and model lists;
// a tenth of the streams are abandoned by their client after the first chunk; failing upstreams
// (a refused port, a hostile server) sit in front of healthy fakes, so failover runs all along;
// the config is rewritten and reloaded (SIGHUP) every --reload-seconds. Reported over time: the
// gateway's RSS, heap, open descriptors, event-loop lag, open answers, audit queue. Passes when
// no client saw an error it did not cause, every request has its audit row, descriptors and
// open answers return to their start, and RSS levels off (slope after warm-up under the limit).

import { writeFileSync } from "node:fs";
import { runSoak } from "./soak/run";

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`--${name} needs a positive number\n`);
    process.exit(2);
  }
  return v;
}
const jsonAt = process.argv.indexOf("--json");
const jsonFile = jsonAt === -1 ? undefined : process.argv[jsonAt + 1];

const durationMs = (flag("seconds") ?? (flag("minutes") ?? 10) * 60) * 1000;
const maxSlope = flag("max-rss-slope") ?? 1;
const result = await runSoak({
  durationMs,
  reloadMs: (flag("reload-seconds") ?? 60) * 1000,
  sampleMs: (flag("sample-seconds") ?? 5) * 1000,
  concurrency: flag("concurrency") ?? 8,
  progress: (line) => process.stdout.write(line),
});

const first = result.samples[0]!;
const last = result.samples.at(-1)!;
const problems: string[] = [];
if (result.failures.count) problems.push(`${result.failures.count} requests failed: ${result.failures.examples.join(" | ")}`);
if (result.auditRows !== result.audited) problems.push(`${result.auditRows} audit rows for ${result.audited} requests`);
if (last.auditDropped) problems.push(`${last.auditDropped} audit rows dropped`);
if (last.reloads === 0 && durationMs > 60_000) problems.push("no reload happened");
if (last.reloadErrors) problems.push(`${last.reloadErrors} reloads failed`);
if (result.inFlightAtEnd !== 0) problems.push(`${result.inFlightAtEnd} answers still open after the traffic stopped`);
if (result.fdsAtEnd > result.fdsAtStart + 20) problems.push(`descriptors grew from ${result.fdsAtStart} to ${result.fdsAtEnd}`);
if (result.exitCode !== 0) problems.push(`the gateway exited with ${result.exitCode}`);
if (result.rssSlopeMbPerMin > maxSlope) problems.push(`RSS keeps growing: ${result.rssSlopeMbPerMin.toFixed(2)} MB/min after warm-up (limit ${maxSlope})`);

process.stdout.write(`
requests        ${result.requests} (${result.aborted} abandoned by their client on purpose), ${(result.requests / (durationMs / 1000)).toFixed(0)}/s
by scenario     ${Object.entries(result.byScenario).map(([k, v]) => `${k} ${v}`).join(", ")}
audit rows      ${result.auditRows} for ${result.audited} audited requests, ${last.auditDropped} dropped
reloads         ${last.reloads} (${last.reloadErrors} failed)
RSS             ${first.rssMb.toFixed(1)} → ${last.rssMb.toFixed(1)} MB, slope after warm-up ${result.rssSlopeMbPerMin.toFixed(2)} MB/min
heap used       ${first.heapUsedMb.toFixed(1)} → ${last.heapUsedMb.toFixed(1)} MB, slope after warm-up ${result.heapSlopeMbPerMin.toFixed(2)} MB/min
descriptors     ${result.fdsAtStart} at start, ${result.fdsAtEnd} after the traffic
event-loop lag  worst ${result.lagMaxMs.toFixed(0)} ms
verdict         ${problems.length ? `FAIL\n  - ${problems.join("\n  - ")}` : "pass"}
`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ ...result, problems }, null, 2));
process.exit(problems.length ? 1 : 0);
