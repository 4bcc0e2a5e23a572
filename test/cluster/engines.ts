import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SQL } from "bun";

// Real engines for the cluster tests: a fresh database on the machine's PostgreSQL, and private
// Redis and PostgreSQL instances on free ports that fault tests stop and start by PID. PostgreSQL
// refuses to run as root, so its instance runs as the `postgres` user (runuser).

export const PG_BIN = "/usr/lib/postgresql/15/bin";

export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** A fresh database on the server at `adminUrl`; drop() removes it (and its connections). */
export async function freshDatabase(adminUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new SQL(`${adminUrl}/postgres`, { max: 1 });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  await admin.close();
  return {
    url: `${adminUrl}/${name}`,
    async drop() {
      const a = new SQL(`${adminUrl}/postgres`, { max: 1 });
      await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.close();
    },
  };
}

export interface Engine {
  port: number;
  url: string;
  pid(): number | undefined;
  /** Stops the process (SIGINT for PostgreSQL: a fast shutdown) and waits for it. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

/** PostgreSQL listens before it accepts sessions ("the database system is starting up"). */
async function waitForQuery(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const sql = new SQL(url, { max: 1, connectionTimeout: 2 });
    try {
      await sql`select 1`;
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await Bun.sleep(100);
    } finally {
      await sql.close().catch(() => {});
    }
  }
}

export async function startRedisInstance(): Promise<Engine> {
  const port = await freePort();
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const engine: Engine = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => proc?.pid,
    async start() {
      proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
      await waitForPort(port, 5000);
    },
    async stop() {
      if (!proc || proc.exitCode !== null) return;
      proc.kill("SIGKILL");
      await proc.exited;
    },
    async destroy() {
      await engine.stop();
    },
  };
  await engine.start();
  return engine;
}

export async function startPostgresInstance(): Promise<Engine> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-pg-"));
  const data = path.join(dir, "data");
  const run = (args: string[]) => Bun.spawnSync(["runuser", "-u", "postgres", "--", ...args], { stdout: "pipe", stderr: "pipe" });
  Bun.spawnSync(["chown", "postgres", dir]);
  const init = run([`${PG_BIN}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const engine: Engine = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid: () => proc?.pid,
    async start() {
      proc = Bun.spawn(
        ["runuser", "-u", "postgres", "--", `${PG_BIN}/postgres`, "-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        { stdout: "ignore", stderr: "ignore" },
      );
      await waitForPort(port, 10_000);
      await waitForQuery(engine.url, 10_000);
    },
    async stop() {
      if (!proc || proc.exitCode !== null) return;
      // runuser does not pass signals on: SIGINT (PostgreSQL's fast shutdown) goes to the
      // postmaster's own PID, from its pid file.
      const pidFile = path.join(data, "postmaster.pid");
      if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, "utf8").split("\n")[0]), "SIGINT");
      else proc.kill("SIGKILL");
      await proc.exited;
    },
    async destroy() {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await engine.start();
  return engine;
}
