import { Database } from "bun:sqlite";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import type { MigrationConfig, MigrationMeta } from "drizzle-orm/migrator";
import * as schema from "./schema";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** Longest a statement waits for another connection's lock once the database is open. */
export const BUSY_TIMEOUT_MS = 25;
export { WRITER_BUSY_TIMEOUT_MS } from "./audit-protocol";

/** Opens (creating if needed) the SQLite file in WAL mode and applies the embedded migrations.
 *  The migrations folder sits beside this module: `bun build --asset` embeds it at the same path. */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA busy_timeout = 5000");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  const db = drizzle({ client: sqlite, schema }) as Db;
  const migrationsFolder = path.join(import.meta.dir, "migrations");
  // What drizzle's migrate() does, but reading the files here: its reader imports node:crypto, which
  // loads Bun's Node stream modules (≈ 15 ms of start-up; see core/secrets.ts). Same list, same hashes.
  const internal = db as unknown as { dialect: { migrate(m: MigrationMeta[], session: unknown, config: MigrationConfig): void }; session: unknown };
  internal.dialect.migrate(readMigrations(migrationsFolder), internal.session, { migrationsFolder });
  // bun:sqlite is synchronous: waiting out another process's lock would stall the event loop, and
  // every request with it, for the whole wait. Writers run on timers and retry, so fail fast.
  sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

/** drizzle-kit's journal and SQL files as drizzle's readMigrationFiles reads them. */
export function readMigrations(folder: string): MigrationMeta[] {
  const journal = JSON.parse(readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as { entries: { tag: string; when: number; breakpoints: boolean }[] };
  return journal.entries.map((entry) => {
    const query = readFileSync(path.join(folder, `${entry.tag}.sql`), "utf8");
    return { sql: query.split("--> statement-breakpoint"), bps: entry.breakpoints, folderMillis: entry.when, hash: Bun.SHA256.hash(query, "hex") };
  });
}
