#!/usr/bin/env bun
// The long fuzz run: the properties of test/reliability/fuzz.test.ts against a fresh gateway, round
// after round with new seeds, until the time budget is spent or a case fails.
//
//   bun scripts/fuzz.ts [--seconds 300] [--runs 200] [--seed N] [--only "ollama chat"] [--shrink]
//
// --runs is the number of cases per endpoint and round; --seed fixes the first round's seed (the
// next rounds use seed+1, seed+2…), so a reported failure replays with `--seed <its seed> --runs <n>`.
// LMRELAY_FUZZ_TRACE=1 prints every case before it is sent (for a case that hangs the server).

import { createLogger } from "../src/log/logger";
import { checkAlive, fuzzEndpoint, GET_ENDPOINTS, POST_ENDPOINTS, startFuzzTarget } from "../test/reliability/fuzz/harness";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const seconds = Number(flag("seconds") ?? 300);
const runs = Number(flag("runs") ?? 200);
const only = flag("only");
const shrink = process.argv.includes("--shrink");
let seed = Number(flag("seed") ?? Math.floor(Math.random() * 2 ** 31));
if (![seconds, runs, seed].every(Number.isFinite)) {
  process.stderr.write("usage: bun scripts/fuzz.ts [--seconds N] [--runs N] [--seed N] [--only NAME] [--shrink]\n");
  process.exit(2);
}

const internal: string[] = [];
const log = createLogger({ level: "error", pretty: false, write: (line) => /internal|unhandled/.test(line) && internal.push(line) });
const target = await startFuzzTarget(log);
const endpoints = [...POST_ENDPOINTS, ...GET_ENDPOINTS].filter((ep) => !only || ep.name.includes(only));
const deadline = Date.now() + seconds * 1000;
let cases = 0;
let rounds = 0;
let failed = false;

try {
  while (Date.now() < deadline && !failed) {
    for (const ep of endpoints) {
      const started = performance.now();
      try {
        await fuzzEndpoint(target.gateway, ep, { seed, runs, shrink });
      } catch (err) {
        const cause = (err as Error).cause as Error | undefined;
        process.stdout.write(`\nFAIL ${ep.name} (seed ${seed}, runs ${runs})\n${cause?.message ?? ""}\n${(err as Error).message}\n`);
        failed = true;
        break;
      }
      cases += ep.body ? runs : Math.max(5, Math.ceil(runs / 3));
      if (internal.length) {
        process.stdout.write(`\nFAIL ${ep.name} (seed ${seed}): internal errors logged:\n${internal.join("\n")}\n`);
        failed = true;
        break;
      }
      process.stdout.write(`seed ${seed} ${ep.name.padEnd(36)} ok  ${Math.round(performance.now() - started)} ms\n`);
      if (Date.now() >= deadline) break;
    }
    rounds++;
    seed++;
    target.forget();
  }
  const rt = target.gateway.runtime;
  const alive = await checkAlive(target.gateway);
  const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
  process.stdout.write(`\n${failed ? "FAILED" : "passed"}: ${cases} cases in ${rounds} round(s); in flight ${rt.inFlight}, open answers ${rt.gateway.openAnswers}; /healthz ${alive ?? "ok"}; rss ${rss} MB\n`);
  if (alive) failed = true;
} finally {
  await target.stop();
}
process.exit(failed ? 1 : 0);
