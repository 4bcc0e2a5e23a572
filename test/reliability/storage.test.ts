import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger } from "../../src/log/logger";
import { AuditWriter } from "../../src/store/audit";
import { openDatabase } from "../../src/store/db";
import type { RequestRow } from "../../src/store/schema";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Storage faults under a running gateway (a real SQLite file): read-only, disk full, locked by
// another process, deleted. Requests keep being served quickly; audit rows wait in the bounded
// queue, are written when storage recovers, and every failure is logged, never silent.

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  gw: TestGateway;
  dir: string;
  file: string;
  errors: string[];
}

async function gatewayOn(dir: string): Promise<Setup> {
  const file = path.join(dir, "lmrelay.db");
  const errors: string[] = [];
  const gw = await startGateway(
    { providers: { echo: { type: "echo" } }, storage: { path: file } },
    { log: createLogger({ level: "warn", pretty: false, write: (line) => errors.push(line) }) },
  );
  cleanups.push(() => gw.stop());
  return { gw, dir, file, errors };
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-storage-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Sends `n` requests one after another; returns the slowest latency. Every one must succeed. */
async function traffic(gw: TestGateway, n: number): Promise<number> {
  let slowest = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: `request ${i} ${"padding ".repeat(40)}` }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    slowest = Math.max(slowest, performance.now() - started);
  }
  return slowest;
}

function rowsIn(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.query("SELECT count(*) AS n FROM requests").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Waits until the writer's queue is empty (storage recovered; retries back off up to 5 s). */
async function drained(gw: TestGateway, ms = 12_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (gw.runtime.audit.depth === 0) return true;
    await Bun.sleep(50);
  }
  return gw.runtime.audit.depth === 0;
}

function run(cmd: string[]): { ok: boolean; out: string } {
  const p = Bun.spawnSync(cmd, { stderr: "pipe", stdout: "pipe" });
  return { ok: p.exitCode === 0, out: `${p.stdout}${p.stderr}`.trim() };
}

describe("storage faults", () => {
  test("the database file read-only: requests are served, rows wait, then are written", async () => {
    const s = await gatewayOn(tempDir());
    await traffic(s.gw, 5);
    s.gw.runtime.audit.flush();
    // Root ignores permission bits; the immutable attribute stops even root. (Not the -shm file:
    // SQLite maps it into memory, and a write fault there is a SIGBUS — see the README.)
    const files = readdirSync(s.dir).filter((f) => !f.endsWith("-shm")).map((f) => path.join(s.dir, f));
    const frozen = run(["chattr", "+i", ...files]);
    if (!frozen.ok) {
      console.warn(`SKIPPED (not failed): cannot make the database read-only here: chattr: ${frozen.out}`);
      return;
    }
    cleanups.push(() => void run(["chattr", "-i", ...files]));
    expect(await traffic(s.gw, 60)).toBeLessThan(1_000);
    await Bun.sleep(300);
    expect(s.gw.runtime.audit.depth).toBeGreaterThan(0);
    expect(s.errors.some((l) => l.includes("audit write failed"))).toBe(true);
    run(["chattr", "-i", ...files]);
    expect(await drained(s.gw)).toBe(true);
    expect(s.gw.runtime.audit.dropped).toBe(0);
    expect(rowsIn(s.file)).toBe(65);
  }, 30_000);

  test("the disk full: requests are served, rows wait, then are written once there is room", async () => {
    const dir = tempDir();
    const mnt = path.join(dir, "small");
    mkdirSync(mnt);
    const mounted = run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]);
    if (!mounted.ok) {
      console.warn(`SKIPPED (not failed): cannot mount a small tmpfs here: ${mounted.out}`);
      return;
    }
    cleanups.push(() => void run(["umount", "-l", mnt]));
    const s = await gatewayOn(mnt);
    await traffic(s.gw, 5);
    s.gw.runtime.audit.flush();
    const filler = path.join(mnt, "filler");
    try {
      writeFileSync(filler, Buffer.alloc(16 * 1024 * 1024));
    } catch {
      // ENOSPC: the filler took every free byte, which is the point.
    }
    expect(await traffic(s.gw, 300)).toBeLessThan(1_000);
    await Bun.sleep(300);
    expect(s.gw.runtime.audit.depth).toBeGreaterThan(0);
    expect(s.errors.some((l) => l.includes("audit write failed") && l.includes("full"))).toBe(true);
    rmSync(filler);
    expect(await drained(s.gw)).toBe(true);
    expect(rowsIn(s.file)).toBe(305);
  }, 30_000);

  test("the database locked by another process: requests stay fast, rows are written after", async () => {
    const s = await gatewayOn(tempDir());
    await traffic(s.gw, 5);
    s.gw.runtime.audit.flush();
    const locker = Bun.spawn(
      [
        "bun",
        "-e",
        `const { Database } = require("bun:sqlite");
         const db = new Database(${JSON.stringify(s.file)});
         db.exec("BEGIN IMMEDIATE"); db.exec("CREATE TABLE IF NOT EXISTS lock_probe (x)"); db.exec("INSERT INTO lock_probe VALUES (1)");
         console.log("locked");
         setTimeout(() => { db.exec("ROLLBACK"); db.close(); }, 2500);`,
      ],
      { stdout: "pipe" },
    );
    cleanups.push(() => void locker.kill());
    const reader = locker.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
    const started = Date.now();
    let slowest = 0;
    let sent = 0;
    while (Date.now() - started < 2_000) {
      slowest = Math.max(slowest, await traffic(s.gw, 5));
      sent += 5;
      await Bun.sleep(20);
    }
    // A synchronous SQLite waiting out the lock would freeze every request for seconds.
    expect(slowest).toBeLessThan(500);
    expect(s.errors.some((l) => l.includes("audit write failed") && l.includes("locked"))).toBe(true);
    await locker.exited;
    expect(await drained(s.gw)).toBe(true);
    expect(rowsIn(s.file)).toBe(5 + sent);
  }, 30_000);

  test("the database file deleted under the server: noticed, logged, written back, nothing lost", async () => {
    const s = await gatewayOn(tempDir());
    await traffic(s.gw, 10);
    s.gw.runtime.audit.flush();
    for (const f of readdirSync(s.dir)) rmSync(path.join(s.dir, f));
    await traffic(s.gw, 20);
    s.gw.runtime.dbWatch.check();
    expect(s.gw.runtime.dbWatch.orphaned).toBe(true);
    expect(s.errors.some((l) => l.includes("database file was deleted"))).toBe(true);
    expect(existsSync(s.file)).toBe(true);
    await traffic(s.gw, 15);
    await s.gw.stop();
    // The copy written at shutdown holds every row, before and after the deletion.
    expect(rowsIn(s.file)).toBe(45);
  }, 30_000);
});

describe("the bounded audit queue", () => {
  function row(i: number): RequestRow {
    return { ts: Date.now(), requestId: `r${i}`, protocol: "openai", endpoint: "/v1/chat/completions", status: 200, latencyMs: 1, attempts: "[]" };
  }

  test("while storage fails, the oldest rows beyond the bound are dropped, counted and reported", () => {
    const file = path.join(tempDir(), "q.db");
    const db = openDatabase(file);
    cleanups.push(() => db.$client.close());
    const errors: unknown[] = [];
    const drops: number[] = [];
    const writer = new AuditWriter(db, { maxQueue: 10, flushIntervalMs: 60_000, onError: (e) => errors.push(e), onDrop: (n) => drops.push(n) });
    cleanups.push(() => writer.close());
    db.$client.exec("ALTER TABLE requests RENAME TO requests_away");
    for (let i = 0; i < 25; i++) writer.push(row(i));
    writer.flush();
    expect(errors).toHaveLength(1);
    expect(writer.depth).toBe(10);
    expect(writer.dropped).toBe(15);
    expect(drops.at(-1)).toBe(15);
    // Storage back: the newest ten are written.
    db.$client.exec("ALTER TABLE requests_away RENAME TO requests");
    writer.flush();
    expect(writer.depth).toBe(0);
    expect(rowsIn(file)).toBe(10);
    expect((db.$client.query("SELECT min(request_id) AS first FROM requests").get() as { first: string }).first).toBe("r15");
  });
});
