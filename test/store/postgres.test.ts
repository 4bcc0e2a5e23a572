import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import path from "node:path";
import { SQL } from "bun";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { readMigrations } from "../../src/store/db";
import { connectPostgres, migratePostgres, type PgDb } from "../../src/store/postgres/db";
import { clientSpendPg, listRequestsPg } from "../../src/store/postgres/queries";
import type { PgRequestRow } from "../../src/store/postgres/schema";
import { PostgresSink } from "../../src/store/postgres/sink";
import { freshDatabase } from "../cluster/engines";
import { portOpen, randomName, SHARED_POSTGRES } from "../cluster/nodes";

// The PostgreSQL side of the audit log on the machine's server (a fresh database, dropped after):
// Bun's prepared statements under concurrency, migrations that several nodes run at once, and a
// sink that takes a batch twice without doubling a row or its spend.

const up = await portOpen(5432);
if (!up) console.warn("SKIPPED test/store/postgres.test.ts: no PostgreSQL on 127.0.0.1:5432 (.ci/run starts one)");

let database: { url: string; drop(): Promise<void> };
let db: PgDb;

beforeAll(async () => {
  if (!up) return;
  database = await freshDatabase(SHARED_POSTGRES, randomName("lmrelay_test_"));
  db = connectPostgres(database.url);
});

afterAll(async () => {
  await db?.$client.close();
  await database?.drop();
});

function row(localId: number, over: Partial<PgRequestRow> = {}): PgRequestRow {
  return {
    spool: "spool-a",
    localId,
    ts: Date.UTC(2026, 11, 7, 12, 0, localId),
    requestId: `req-${localId}`,
    protocol: "openai",
    endpoint: "/v1/chat/completions",
    client: "app",
    provider: "up",
    model: "m",
    status: 200,
    latencyMs: 10 + localId,
    inputTokens: 10,
    outputTokens: 5,
    costUsd: 0.25,
    attempts: "[]",
    node: "node-a",
    ...over,
  };
}

test("the PostgreSQL migrations read are drizzle's own list (no server needed)", () => {
  const folder = path.resolve(import.meta.dir, "../../src/store/postgres/pg-migrations");
  const ours = readMigrations(folder);
  expect(ours.length).toBeGreaterThan(0);
  expect(ours).toEqual(readMigrationFiles({ migrationsFolder: folder }));
});

describe.skipIf(!up)("PostgreSQL audit storage", () => {
  test("prepared statements under concurrency each get their own rows (Bun 1.4.5; oven-sh/bun#33665)", async () => {
    const sql = new SQL(database.url, { max: 3 });
    let wrong = 0;
    await Promise.all(
      Array.from({ length: 600 }, async (_, i) => {
        if (i % 2) {
          const [r] = await sql`select ${i}::int as a, ${`t${i}`}::text as b`;
          if (r.a !== i || r.b !== `t${i}`) wrong++;
        } else {
          const [r] = await sql`select ${`s${i}`}::text as c`;
          if (r.c !== `s${i}`) wrong++;
        }
      }),
    );
    await sql.close();
    expect(wrong).toBe(0);
  });

  test("nodes starting together migrate once, one after another", async () => {
    const others = [connectPostgres(database.url), connectPostgres(database.url), connectPostgres(database.url)];
    await Promise.all([migratePostgres(db), ...others.map((o) => migratePostgres(o))]);
    await Promise.all(others.map((o) => o.$client.close()));
    const applied = await db.$client`select count(*)::int as n from drizzle.__drizzle_migrations`;
    // Each embedded migration once, however many nodes ran them together.
    expect(applied[0].n).toBe(readMigrations(path.resolve(import.meta.dir, "../../src/store/postgres/pg-migrations")).length);
  });

  test("a batch written twice (a replay) adds each row and its spend once", async () => {
    const sink = new PostgresSink(db);
    const batch = [row(1), row(2), row(3, { status: 500, costUsd: 0 })];
    expect(await sink.writeBatch(batch)).toBe(3);
    expect(await sink.writeBatch([...batch, row(4)])).toBe(1);
    // Same local ids from another spool are other rows.
    expect(await sink.writeBatch([row(1, { spool: "spool-b", requestId: "req-b1", node: "node-b" })])).toBe(1);
    const rows = await listRequestsPg(db, { limit: 100 });
    expect(rows.map((r) => r.requestId).sort()).toEqual(["req-1", "req-2", "req-3", "req-4", "req-b1"]);
    expect(rows.find((r) => r.requestId === "req-b1")!.node).toBe("node-b");
    expect(rows[0]).not.toHaveProperty("spool");
    const spend = await db.$client`select requests, errors, input_tokens, cost_usd from spend_daily`;
    expect(spend).toHaveLength(1);
    // Raw bigint columns come back as strings from Bun.sql; drizzle reads them as numbers.
    expect({ ...spend[0], input_tokens: Number(spend[0].input_tokens) }).toEqual({ requests: 5, errors: 1, input_tokens: 50, cost_usd: 1 });
    expect(await clientSpendPg(db, "app", { from: "2026-12-07", until: "2026-12-08" })).toBe(1);
    expect(await listRequestsPg(db, { node: "node-b" })).toHaveLength(1);
    expect(await listRequestsPg(db, { status: "5xx" })).toHaveLength(1);
  });
});
