import { expect, test } from "bun:test";
import { runSoak } from "../../scripts/soak/run";

// The CI cut of `scripts/soak.ts` (which runs 10 minutes by default): 15 s of mixed traffic over
// all three protocols with failing upstreams, client aborts and config reloads, against lmrelay as
// its own process. Too short to judge an RSS slope; it checks what holds at any length — no client
// error it did not cause, an audit row per request, nothing left open, memory not running away.

test("15 s of mixed traffic with failures, aborts and reloads", async () => {
  const r = await runSoak({ durationMs: 15_000, reloadMs: 4_000, sampleMs: 1_000, concurrency: 4 });
  const last = r.samples.at(-1)!;
  expect(r.failures).toEqual({ count: 0, examples: [] });
  expect(r.requests).toBeGreaterThan(200);
  expect(r.aborted).toBeGreaterThan(0);
  expect(r.auditRows).toBe(r.audited);
  expect(last.auditDropped).toBe(0);
  expect(last.reloads).toBeGreaterThanOrEqual(2);
  expect(last.reloadErrors).toBe(0);
  expect(r.inFlightAtEnd).toBe(0);
  expect(r.fdsAtEnd).toBeLessThanOrEqual(r.fdsAtStart + 20);
  expect(r.exitCode).toBe(0);
  expect(r.lagMaxMs).toBeLessThan(2_000);
  // Between the middle and the end of the run, RSS may settle but not run away.
  const mid = r.samples[Math.floor(r.samples.length / 2)]!;
  expect(last.rssMb - mid.rssMb).toBeLessThan(48);
}, 60_000);
