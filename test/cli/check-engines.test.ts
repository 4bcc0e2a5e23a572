import { expect, test } from "bun:test";
import { hostname } from "node:os";
import { engineLines } from "../../src/cli/check-engines";
import { resolveConfig } from "../../src/config/resolve";
import { freePort } from "../cluster/engines";
import { portOpen } from "../cluster/nodes";

// `lmrelay check` says whether the engines several nodes share answer, without their passwords.

const enginesUp = (await portOpen(6379)) && (await portOpen(5432));
if (!enginesUp) console.warn("SKIPPED part of test/cli/check-engines.test.ts: needs Redis on 6379 and PostgreSQL on 5432");

const base = { providers: { echo: { type: "echo" } } };

test("a single node has no engine lines", async () => {
  expect(await engineLines(resolveConfig(base, "/srv/lm/lmrelay.config.ts"))).toEqual([]);
});

test("engines that do not answer are named, with why", async () => {
  const closed = await freePort();
  const config = resolveConfig(
    { ...base, server: { port: 4000 }, cluster: { redis: `redis://:pa55word-r@127.0.0.1:${closed}` }, storage: { postgres: `postgres://lm:pa55word-p@127.0.0.1:${closed}/lm` } },
    "/srv/lm/lmrelay.config.ts",
  );
  const lines = await engineLines(config);
  expect(lines[0]).toBe(`node: ${hostname()}:4000`);
  expect(lines[1]).toStartWith(`cluster: Redis redis://127.0.0.1:${closed} does not answer: `);
  expect(lines[1]).toEndWith("; onRedisDown local");
  expect(lines[2]).toStartWith(`storage: PostgreSQL postgres://127.0.0.1:${closed}/lm does not answer: `);
  expect(lines.join("\n")).not.toContain("pa55word");
});

test.skipIf(!enginesUp)("engines that answer say so, with the round trip", async () => {
  const config = resolveConfig(
    { ...base, cluster: { redis: "redis://127.0.0.1:6379", node: "n1", onRedisDown: "reject" }, storage: { path: "/tmp/spool.db", postgres: "postgres://postgres@127.0.0.1:5432/postgres" } },
    "/srv/lm/lmrelay.config.ts",
  );
  expect(await engineLines(config)).toEqual([
    "node: n1",
    expect.stringMatching(/^cluster: Redis redis:\/\/127\.0\.0\.1:6379 answers \(\d+\.\d ms\); onRedisDown reject$/),
    expect.stringMatching(/^storage: PostgreSQL postgres:\/\/127\.0\.0\.1:5432\/postgres answers \(\d+\.\d ms\); spool \/tmp\/spool\.db$/),
  ]);
});
