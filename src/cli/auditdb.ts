import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import path from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { registerSdkModule } from "../config/load";
import type { Db } from "../store/db";
import * as schema from "../store/schema";
import { configPathArg, type ParsedArgs, stringFlag } from "./args";

// The SQLite file `lmrelay logs` and `lmrelay stats` read: `--db PATH`, else the `storage.path` of
// the config (`--config PATH`, default ./lmrelay.config.ts), resolved against the config's folder.
// The config is only evaluated, not validated, so a missing provider key does not stop a query.
// The file is opened read-only: a running server keeps writing it (WAL allows both).

export async function auditDbPath(args: ParsedArgs): Promise<string> {
  const explicit = stringFlag(args, "db");
  if (explicit) return path.resolve(explicit);
  const file = configPathArg(args);
  if (!existsSync(file)) throw new Error(`config file not found: ${file} (or name the database with --db PATH)`);
  registerSdkModule();
  let mod: { default?: { storage?: { path?: unknown } } };
  try {
    mod = await import(file);
  } catch (e) {
    throw new Error(`cannot load ${file}: ${(e as Error).message}`);
  }
  const storage = mod.default?.storage?.path;
  const rel = typeof storage === "string" && storage ? storage : "lmrelay.db";
  if (rel === ":memory:") throw new Error(`${file} keeps its database in memory (storage.path ":memory:"): there is no file to read`);
  return path.resolve(path.dirname(file), rel);
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
