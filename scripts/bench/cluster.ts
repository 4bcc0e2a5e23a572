#!/usr/bin/env bun
// What several nodes cost one request: the same node served embedded (limits in memory, audit in
// SQLite) and with `cluster` + `storage.postgres` (limits in Redis, audit shipped to PostgreSQL),
// over real sockets to the machine's Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432),
// against the built-in echo provider, as a client with rpm, tpm and concurrency limits (so every
// request makes its admission and settlement round trips). Bounded: REQUESTS per case, CONCURRENCY
// at a time, a fresh key prefix and database, removed after.
//
//   bun scripts/bench/cluster.ts [requests]

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RedisClient, SQL } from "bun";
import { resolveConfig } from "../../src/config/resolve";
import { createLogger } from "../../src/log/logger";
import { Runtime } from "../../src/server/runtime";

const REQUESTS = Math.min(Number(process.argv[2] ?? 2000), 20_000);
const CONCURRENCY = 8;
const KEY = "bench-client-key-0001";
const REDIS = "redis://127.0.0.1:6379";
const PG = "postgres://postgres@127.0.0.1:5432";

interface Result {
  name: string;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
}

async function run(name: string, extra: Record<string, unknown>, dir: string): Promise<Result> {
  const config = resolveConfig(
    {
      storage: { path: path.join(dir, `${name}.db`) },
      ...extra,
      providers: { echo: { type: "echo", models: ["echo-1"], free: true } },
      clients: { bench: { key: KEY, rpm: 10_000_000, tpm: 1_000_000_000, concurrency: 10_000 } },
      health: { probeIntervalMs: 0 },
    },
    path.join(dir, "lmrelay.config.ts"),
  );
  const runtime = new Runtime(config, createLogger({ level: "error", write: () => {} }));
  const { url } = await runtime.start({ port: 0 });
  const body = JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hello bench" }] });
  const ask = async () => {
    const t = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${name}: status ${res.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 200; i++) await ask(); // warm-up: JIT, connections, scripts loaded
  const times: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next++;
        times.push(await ask());
      }
    }),
  );
  const elapsed = performance.now() - started;
  await runtime.stop({ drainMs: 2000 });
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.ceil(times.length * p) - 1)]!;
  return { name, meanMs: times.reduce((a, b) => a + b, 0) / times.length, p50Ms: at(0.5), p99Ms: at(0.99), perSecond: (times.length / elapsed) * 1000 };
}

const dir = mkdtempSync(path.join(os.tmpdir(), "lmrelay-bench-cluster-"));
const prefix = `lmrelay-bench-${crypto.randomUUID().slice(0, 8)}:`;
const database = `lmrelay_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
const admin = new SQL(`${PG}/postgres`, { max: 1 });
await admin.unsafe(`CREATE DATABASE "${database}"`);
try {
  const embedded = await run("embedded", {}, dir);
  const redis = await run("redis", { cluster: { redis: REDIS, node: "bench", keyPrefix: prefix } }, dir);
  const cluster = await run(
    "redis+pg",
    { cluster: { redis: REDIS, node: "bench", keyPrefix: prefix }, storage: { path: path.join(dir, "spool.db"), postgres: `${PG}/${database}` } },
    dir,
  );
  const fmt = (r: Result) =>
    `${r.name.padEnd(9)} mean ${r.meanMs.toFixed(3)} ms  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  ${Math.round(r.perSecond)} req/s`;
  console.log(`${REQUESTS} requests, ${CONCURRENCY} at a time, bun ${Bun.version}, ${os.cpus().length} CPUs`);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} (a busy machine makes every number noisy)`);
  for (const r of [embedded, redis, cluster]) console.log(fmt(r));
  for (const r of [redis, cluster])
    console.log(`${r.name} adds per request: mean ${(r.meanMs - embedded.meanMs).toFixed(3)} ms, p50 ${(r.p50Ms - embedded.p50Ms).toFixed(3)} ms, p99 ${(r.p99Ms - embedded.p99Ms).toFixed(3)} ms`);
} finally {
  const r = new RedisClient(REDIS);
  const keys = (await r.send("KEYS", [`${prefix}*`])) as string[];
  if (keys.length) await r.send("DEL", keys);
  r.close();
  await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
}
