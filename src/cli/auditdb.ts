import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import path from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { registerSdkModule } from "../config/load";
import type { Db } from "../store/db";
import { type AuditReader, sqliteReader } from "../store/reader";
import * as schema from "../store/schema";
import { configPathArg, type ParsedArgs, stringFlag } from "./args";

// The SQLite file `lmrelay logs` and `lmrelay stats` read: `--db PATH`, else the `storage.path` of
// the config (`--config PATH`, default ./lmrelay.config.ts), resolved against the config's folder.
// The config is only evaluated, not validated, so a missing provider key does not stop a query.
// The file is opened read-only: a running server keeps writing it (WAL allows both).

/** The SQLite file to read, or the PostgreSQL URL when the config has `storage.postgres` (every
 *  node's rows; `--db` still reads one node's own spool). */
async function auditSource(args: ParsedArgs): Promise<{ file: string; postgres?: undefined } | { postgres: string; file?: undefined }> {
  const explicit = stringFlag(args, "db");
  if (explicit) return { file: path.resolve(explicit) };
  const file = configPathArg(args);
  if (!existsSync(file)) throw new Error(`config file not found: ${file} (or name the database with --db PATH)`);
  registerSdkModule();
  let mod: { default?: { storage?: { path?: unknown; postgres?: unknown } } };
  try {
    mod = await import(file);
  } catch (e) {
    throw new Error(`cannot load ${file}: ${(e as Error).message}`);
  }
  const postgres = mod.default?.storage?.postgres;
  if (typeof postgres === "string" && postgres) return { postgres };
  if (postgres !== undefined) throw new Error(`${file}: storage.postgres is not set (is its environment variable missing? try --env-file)`);
  const storage = mod.default?.storage?.path;
  const rel = typeof storage === "string" && storage ? storage : "lmrelay.db";
  if (rel === ":memory:") throw new Error(`${file} keeps its database in memory (storage.path ":memory:"): there is no file to read`);
  return { file: path.resolve(path.dirname(file), rel) };
}

/** Opens the audit log the config names, SQLite or PostgreSQL, for reading. */
export async function openAuditReader(args: ParsedArgs): Promise<{ reader: AuditReader; close(): Promise<void> }> {
  const source = await auditSource(args);
  if (source.postgres === undefined) {
    const db = openAuditDb(source.file);
    return { reader: sqliteReader(db), close: async () => db.$client.close() };
  }
  const [{ connectPostgres }, { postgresReader }] = await Promise.all([import("../store/postgres/db"), import("../store/postgres/queries")]);
  const db = connectPostgres(source.postgres, { max: 2 });
  try {
    await db.$client`select 1`;
  } catch (e) {
    await db.$client.close({ timeout: 0 }).catch(() => {});
    throw new Error(`cannot reach PostgreSQL (storage.postgres): ${(e as Error).message}`);
  }
  return { reader: postgresReader(db), close: () => db.$client.close({ timeout: 1 }).catch(() => {}) };
}

export function openAuditDb(file: string): Db {
  if (!existsSync(file)) throw new Error(`no database at ${file} (has \`lmrelay serve\` run with this config?)`);
  const sqlite = new Database(file, { readonly: true, strict: true });
  sqlite.exec("PRAGMA busy_timeout = 5000");
  try {
    sqlite.query("select 1 from requests limit 1").get();
  } catch {
    sqlite.close();
    throw new Error(`${file} is not an lmrelay database (no requests table)`);
  }
  return drizzle({ client: sqlite, schema }) as Db;
}
