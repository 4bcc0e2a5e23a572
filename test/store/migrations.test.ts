import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { openDatabase, readMigrations } from "../../src/store/db";

// openDatabase reads the migrations itself (drizzle's reader would load node:crypto at start-up):
// the list must stay what drizzle's migrate() would apply, hashes included.

const folder = path.resolve(import.meta.dir, "../../src/store/migrations");

test("the migrations read are drizzle's own list", () => {
  const ours = readMigrations(folder);
  expect(ours.length).toBeGreaterThan(0);
  expect(ours).toEqual(readMigrationFiles({ migrationsFolder: folder }));
});

test("a new database gets every migration recorded once, and reopening applies none again", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-migrations-"));
  const applied = () => {
    const db = openDatabase(path.join(dir, "audit.db"));
    const rows = db.$client.query("SELECT hash, created_at FROM __drizzle_migrations ORDER BY id").all() as { hash: string; created_at: number }[];
    db.$client.close();
    return rows.map((r) => [r.hash, Number(r.created_at)]);
  };
  try {
    const expected = readMigrations(folder).map((m) => [m.hash, m.folderMillis]);
    expect(applied()).toEqual(expected);
    expect(applied()).toEqual(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
