#!/usr/bin/env bun
// What traces cost per request (SPEC §9, README "Traces"): lmrelay's own CPU per request in process
// (scripts/bench/inproc.ts), with telemetry off and with every request traced (sampleRatio 1) and
// exported over OTLP/HTTP protobuf to a collector on 127.0.0.1 that accepts everything. Bounded:
// a few thousand requests per case.
//
//   bun scripts/trace-cost.ts

import { CASES, runInproc } from "./bench/inproc";

const collector = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    await req.arrayBuffer();
    return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
  },
});

const rows: string[] = [];
try {
  for (const c of CASES) {
    const requests = c.name.includes("stream") ? 800 : 4000;
    const [off] = await runInproc({ rounds: 5, requests, only: c.name });
    const [on] = await runInproc({ rounds: 5, requests, only: c.name, telemetry: { otlp: { endpoint: `http://127.0.0.1:${collector.port}` }, sampleRatio: 1 } });
    rows.push(`| ${c.name} | ${off!.medianUs.toFixed(1)} | ${on!.medianUs.toFixed(1)} | +${(on!.medianUs - off!.medianUs).toFixed(1)} |`);
  }
} finally {
  collector.stop(true);
}
console.log("| case | CPU µs/request, traces off | traced (ratio 1) | added |\n|---|---|---|---|");
for (const r of rows) console.log(r);
process.exit(0);
