import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log/logger";
import { checkAlive, type FuzzTarget, fuzzEndpoint, GET_ENDPOINTS, POST_ENDPOINTS, startFuzzTarget } from "./fuzz/harness";

// Every inbound endpoint under generated, mutated input (seeded, so a failure reproduces): each
// answer is a 4xx in the caller's protocol shape or a complete valid answer — never a 5xx, a hang,
// an internal error in the log, or a server that stops answering /healthz. `scripts/fuzz.ts` runs
// the same properties for longer with fresh seeds.

const SEED = Number(process.env.LMRELAY_FUZZ_SEED ?? 20260508);
const RUNS = Number(process.env.LMRELAY_FUZZ_RUNS ?? 40);

let target: FuzzTarget;
const logged: string[] = [];

beforeAll(async () => {
  target = await startFuzzTarget(createLogger({ level: "error", pretty: false, write: (line) => logged.push(line) }));
});

afterAll(async () => {
  await target?.stop();
});

describe("fuzzing every inbound endpoint", () => {
  for (const ep of [...POST_ENDPOINTS, ...GET_ENDPOINTS])
    test(`${ep.name}: ${ep.method} ${ep.path}`, async () => {
      await fuzzEndpoint(target.gateway, ep, { seed: SEED, runs: RUNS, shrink: false });
    });

  test("no internal error was logged, nothing is left in flight, and /healthz still answers", async () => {
    expect(logged.filter((l) => /internal|unhandled/.test(l))).toEqual([]);
    // Abandoned bodies and streams must not leave requests counted as in flight.
    const runtime = target.gateway.runtime;
    for (let i = 0; i < 100 && runtime.inFlight + runtime.gateway.openAnswers > 0; i++) await Bun.sleep(20);
    expect({ inFlight: runtime.inFlight, openAnswers: runtime.gateway.openAnswers }).toEqual({ inFlight: 0, openAnswers: 0 });
    expect(await checkAlive(target.gateway)).toBeUndefined();
  });
});
