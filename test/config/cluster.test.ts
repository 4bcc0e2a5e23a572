import { expect, test } from "bun:test";
import { hostname } from "node:os";
import { restartOnlyChanges } from "../../src/cli/serve-reload";
import { ConfigError, resolveConfig } from "../../src/config/resolve";
import { configSecrets } from "../../src/config/secrets";

// `cluster` and `storage.postgres` (SPEC §4, §8): validated, defaulted, their passwords scrubbed.

const FILE = "/srv/lm/lmrelay.config.ts";
const base = { providers: { echo: { type: "echo" } } };

function problems(input: unknown): { path: string; message: string }[] {
  try {
    resolveConfig(input, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a config error");
}

test("without cluster or postgres nothing of the cluster runs: no node name, SQLite as before", () => {
  const c = resolveConfig(base, FILE);
  expect(c.cluster).toBeUndefined();
  expect(c.postgres).toBeUndefined();
  expect(c.node).toBeUndefined();
  expect(c.storagePath).toBe("/srv/lm/lmrelay.db");
});

test("cluster gets onRedisDown local and a hostname:port node name by default", () => {
  const c = resolveConfig({ ...base, server: { port: 4100 }, cluster: { redis: "redis://127.0.0.1:6379" } }, FILE);
  expect(c.cluster).toEqual({ redis: "redis://127.0.0.1:6379", onRedisDown: "local", keyPrefix: "lmrelay:", timeoutMs: 100 });
  expect(c.node).toBe(`${hostname()}:4100`);
  const named = resolveConfig({ ...base, cluster: { redis: "rediss://r:6380/2", node: "eu-1", onRedisDown: "reject", keyPrefix: "team-a:", timeoutMs: 20 } }, FILE);
  expect(named.cluster).toEqual({ redis: "rediss://r:6380/2", onRedisDown: "reject", keyPrefix: "team-a:", timeoutMs: 20 });
  expect(named.node).toBe("eu-1");
});

test("storage.postgres makes the SQLite file a spool beside the config", () => {
  const c = resolveConfig({ ...base, storage: { postgres: "postgres://lm@db:5432/lmrelay" } }, FILE);
  expect(c.postgres).toBe("postgres://lm@db:5432/lmrelay");
  expect(c.storagePath).toBe("/srv/lm/lmrelay-spool.db");
  expect(c.node).toBe(`${hostname()}:11435`);
  const kept = resolveConfig({ ...base, storage: { path: "/var/lib/lm/spool.db", postgres: "postgresql://db/x" } }, FILE);
  expect(kept.storagePath).toBe("/var/lib/lm/spool.db");
});

test("bad cluster and storage values name the field", () => {
  expect(problems({ ...base, cluster: { redis: "http://x" } }).map((p) => p.path)).toEqual(["cluster.redis"]);
  expect(problems({ ...base, cluster: {} }).map((p) => p.path)).toEqual(["cluster.redis"]);
  expect(problems({ ...base, cluster: { redis: "redis://x", onRedisDown: "crash" } }).map((p) => p.path)).toEqual(["cluster.onRedisDown"]);
  expect(problems({ ...base, cluster: { redis: "redis://x", node: "has space" } }).map((p) => p.path)).toEqual(["cluster.node"]);
  expect(problems({ ...base, cluster: { redis: "redis://x", nodes: 3 } }).map((p) => p.path)).toEqual(["cluster.nodes"]);
  expect(problems({ ...base, storage: { postgres: "mysql://x" } }).map((p) => p.path)).toEqual(["storage.postgres"]);
  expect(problems({ ...base, storage: { postgres: "postgres://x/y", path: ":memory:" } })).toEqual([
    { path: "storage.path", message: "with storage.postgres this is the spool of rows PostgreSQL has not taken yet: it must be a file, not :memory:" },
  ]);
});

test("engine passwords are secrets (scrubbed from logs), and changing an engine needs a restart", () => {
  const c = resolveConfig(
    { ...base, cluster: { redis: "redis://:r3dis-pa55word@r:6379" }, storage: { postgres: "postgres://lm:pg-s3cret-pw@db/lm" } },
    FILE,
  );
  expect(configSecrets(c)).toEqual(expect.arrayContaining(["r3dis-pa55word", "pg-s3cret-pw"]));
  const other = resolveConfig({ ...base, cluster: { redis: "redis://:other-pa55word@r:6379", node: "n2" } }, FILE);
  const changes = restartOnlyChanges(c, other);
  expect(changes).toEqual(["storage.path (/srv/lm/lmrelay-spool.db → /srv/lm/lmrelay.db)", "storage.postgres", "cluster.redis", `cluster.node (${hostname()}:11435 → n2)`]);
  expect(changes.join(" ")).not.toContain("pa55word");
});
