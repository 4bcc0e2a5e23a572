import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import * as schema from "./schema";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** Longest a statement waits for another connection's lock once the database is open. */
export const BUSY_TIMEOUT_MS = 25;

/** Opens (creating if needed) the SQLite file in WAL mode and applies the embedded migrations.
 *  The migrations folder sits beside this module: `bun build --asset` embeds it at the same path. */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA busy_timeout = 5000");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  const db = drizzle({ client: sqlite, schema }) as Db;
  migrate(db, { migrationsFolder: path.join(import.meta.dir, "migrations") });
  // bun:sqlite is synchronous: waiting out another process's lock would stall the event loop, and
  // every request with it, for the whole wait. Writers run on timers and retry, so fail fast.
  sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}
