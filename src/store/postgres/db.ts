import path from "node:path";
import { SQL } from "bun";
import { type BunSQLDatabase, drizzle } from "drizzle-orm/bun-sql";
import type { MigrationConfig, MigrationMeta } from "drizzle-orm/migrator";
import { readMigrations } from "../db";
import * as schema from "./schema";

// The shared audit database (`storage.postgres`, SPEC §8) over Bun's own PostgreSQL client, with
// its migrations embedded beside this module like SQLite's (scripts/build.ts embeds the folder).
// Prepared statements under concurrency return each query its own rows on Bun 1.4.5 (checked by
// test/store/postgres-prepared.test.ts; oven-sh/bun#33665 was the bug that once mixed them up).

export type PgDb = BunSQLDatabase<typeof schema> & { $client: SQL };

/** Any number, the same on every node: nodes starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6c6d7265; // "lmre"

export function connectPostgres(url: string, opts: { max?: number; connectionTimeoutS?: number } = {}): PgDb {
  // A small pool: writes come in batches from one shipper, reads from the admin API and the CLI.
  const client = new SQL(url, { max: opts.max ?? 4, connectionTimeout: opts.connectionTimeoutS ?? 5, idleTimeout: 30 });
  return drizzle({ client, schema }) as PgDb;
}

/** Applies the embedded migrations, holding an advisory lock so concurrent nodes take turns. */
export async function migratePostgres(db: PgDb): Promise<void> {
  // Named apart from SQLite's folder: the binary embeds both by their folder names.
  const migrationsFolder = path.join(import.meta.dir, "pg-migrations");
  const conn = await db.$client.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK})`;
    const locked = drizzle({ client: conn as unknown as SQL, schema });
    const internal = locked as unknown as { dialect: { migrate(m: MigrationMeta[], session: unknown, config: MigrationConfig): Promise<void> }; session: unknown };
    await internal.dialect.migrate(readMigrations(migrationsFolder), internal.session, { migrationsFolder });
  } finally {
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
    conn.release();
  }
}
