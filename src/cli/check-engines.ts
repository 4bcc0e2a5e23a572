import { RedisClient, SQL } from "bun";
import type { ResolvedConfig } from "../config/resolve";

// `lmrelay check`'s lines about the engines several nodes share (SPEC §8): whether Redis and
// PostgreSQL answer from here, and how fast. Addresses are shown without their credentials. A
// node starts without them (it decides limits alone, spools its rows), so this informs; it does
// not fail the check.

const TIMEOUT_MS = 3000;

/** host:port/path of an engine URL, never its user or password. */
export function engineAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

async function timed(probe: () => Promise<unknown>): Promise<string> {
  const started = performance.now();
  let timer: Timer | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return `answers (${(performance.now() - started).toFixed(1)} ms)`;
  } catch (e) {
    return `does not answer: ${(e as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

export async function engineLines(config: ResolvedConfig): Promise<string[]> {
  const out: string[] = [];
  if (config.node !== undefined) out.push(`node: ${config.node}`);
  const jobs: Promise<void>[] = [];
  if (config.cluster) {
    const { redis, onRedisDown } = config.cluster;
    const client = new RedisClient(redis, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: TIMEOUT_MS });
    jobs.push(
      timed(async () => {
        await client.connect();
        await client.send("PING", []);
      }).then((state) => {
        client.close();
        out.push(`cluster: Redis ${engineAddress(redis)} ${state}; onRedisDown ${onRedisDown}`);
      }),
    );
  }
  if (config.postgres) {
    const url = config.postgres;
    const sql = new SQL(url, { max: 1, connectionTimeout: TIMEOUT_MS / 1000 });
    jobs.push(
      timed(() => sql`select 1`).then(async (state) => {
        await sql.close({ timeout: 0 }).catch(() => {});
        out.push(`storage: PostgreSQL ${engineAddress(url)} ${state}; spool ${config.storagePath}`);
      }),
    );
  }
  await Promise.all(jobs);
  return out.sort((a, b) => rank(a) - rank(b));
}

const rank = (line: string) => (line.startsWith("node") ? 0 : line.startsWith("cluster") ? 1 : 2);
