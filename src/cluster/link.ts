import { RedisClient } from "bun";
import type { ClusterLog } from "./types";

// One node's connection to the shared Redis (SPEC §8), and the rules every shared-state call
// follows: a call is bounded (a slow Redis must not stall a request: past `cluster.timeoutMs` the caller
// falls back, see cluster/limits.ts), a connection that fails or keeps timing out marks Redis down
// (logged once, gauge 0), and reconnection never gives up (back-off 100 ms → 2 s). Bun's own
// autoReconnect stops after `maxRetries` and its offline queue would hold an admission for as long
// as Redis is away, so both are off and this class reconnects with a fresh client each time (which
// also keeps a reply from ever meeting a command of the connection before: oven-sh/bun#27861).

/** Longest a request waits for a Redis answer before deciding without it (`cluster.timeoutMs`). */
export const CALL_BOUND_MS = 100;
/** Consecutive timeouts that mark a reachable but too slow Redis down. */
const SLOW_STRIKES = 3;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2000;

export interface RedisLinkOptions {
  url: string;
  log: ClusterLog;
  /** Called on each (re)connection, before the link reports up (pub/sub resubscribes, state resyncs). */
  onConnect?(client: RedisClient): Promise<void>;
  /** Lua sources loaded on each connection, so the first admission does not pay for NOSCRIPT. */
  scripts?: readonly string[];
  onStateChange?(up: boolean): void;
  callBoundMs?: number;
}

/** A call that did not get an answer in time or at all: decide without Redis. */
export const UNANSWERED = Symbol("unanswered");

export class RedisLink {
  private client: RedisClient | undefined;
  private upNow = false;
  private closed = false;
  private strikes = 0;
  private backoff = BACKOFF_MIN_MS;
  private retry: Timer | undefined;
  private connecting: Promise<void> | undefined;
  /** Script source → SHA1, loaded lazily with EVALSHA's NOSCRIPT fallback. */
  private readonly shas = new Map<string, string>();
  /** Whether Redis was ever reached: "down" is logged once per outage, not at every retry. */
  private warnedDown = false;
  readonly bound: number;

  constructor(private readonly opts: RedisLinkOptions) {
    this.bound = opts.callBoundMs ?? CALL_BOUND_MS;
  }

  get up(): boolean {
    return this.upNow;
  }

  /** Connects (or schedules retries); resolves once the first attempt settled, up or not. */
  start(): Promise<void> {
    this.closed = false;
    return this.connect();
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      const client = new RedisClient(this.opts.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 2000 });
      client.onclose = () => {
        if (this.client === client) this.lost("connection closed");
      };
      try {
        await client.connect();
        await RedisLink.ping(client, this.bound);
        for (const source of this.opts.scripts ?? []) this.shas.set(source, String(await client.send("SCRIPT", ["LOAD", source])));
        await this.opts.onConnect?.(client);
        if (this.closed) {
          client.close();
          return;
        }
        this.client?.close();
        this.client = client;
        this.strikes = 0;
        this.backoff = BACKOFF_MIN_MS;
        this.setUp(true);
      } catch (e) {
        client.close();
        this.lost((e as Error).message);
      }
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private lost(reason: string): void {
    const old = this.client;
    this.client = undefined;
    old?.close();
    this.setUp(false, reason);
    if (this.closed || this.retry) return;
    const wait = this.backoff;
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed) void this.connect();
    }, wait);
    this.retry.unref?.();
  }

  private setUp(up: boolean, reason?: string): void {
    if (up === this.upNow) {
      if (!up && !this.warnedDown) {
        this.warnedDown = true;
        this.opts.log.warn("cluster: Redis unreachable; deciding limits on this node until it answers", { error: reason });
      }
      return;
    }
    this.upNow = up;
    if (up) {
      if (this.warnedDown) this.opts.log.warn("cluster: Redis is back; limits, budgets and cooldowns are shared again");
      else this.opts.log.info("cluster: connected to Redis");
      this.warnedDown = false;
    } else if (!this.warnedDown) {
      this.warnedDown = true;
      this.opts.log.warn("cluster: Redis unreachable; deciding limits on this node until it answers", { error: reason });
    }
    this.opts.onStateChange?.(up);
  }

  /** Sends a command; UNANSWERED when Redis is down, fails, or is slower than the bound. */
  async call(command: string, args: string[], boundMs = this.bound): Promise<unknown> {
    const client = this.client;
    if (!client || !this.upNow) return UNANSWERED;
    let timer: Timer | undefined;
    const timeout = new Promise<typeof UNANSWERED>((resolve) => {
      timer = setTimeout(() => resolve(UNANSWERED), boundMs);
    });
    try {
      const answer = await Promise.race([client.send(command, args), timeout]);
      if (answer === UNANSWERED && this.client === client) this.strike();
      else this.strikes = 0;
      return answer;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // A server error reply (a script bug, NOSCRIPT) says the connection is fine: rethrow.
      if (code === "ERR_REDIS_SERVER_ERROR") throw e;
      // A call on a connection already replaced must not take the new one down with it.
      if (this.client === client) this.lost((e as Error).message);
      return UNANSWERED;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a Lua script by SHA, loading it on NOSCRIPT (a restarted Redis has forgotten it). */
  async script(source: string, keys: string[], args: string[], boundMs = this.bound): Promise<unknown> {
    let sha = this.shas.get(source);
    if (!sha) {
      sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
      this.shas.set(source, sha);
    }
    const argv = [String(keys.length), ...keys, ...args];
    try {
      return await this.call("EVALSHA", [sha, ...argv], boundMs);
    } catch (e) {
      if (!String((e as Error).message).startsWith("NOSCRIPT")) throw e;
      return this.call("EVAL", [source, ...argv], boundMs);
    }
  }

  private strike(): void {
    if (++this.strikes < SLOW_STRIKES) return;
    // Reachable but too slow to wait for on every request: treat as down and reconnect; the fresh
    // connection must answer PING within the bound before requests wait on Redis again.
    this.strikes = 0;
    this.lost(`no answer within ${this.bound} ms, ${SLOW_STRIKES} times in a row`);
  }

  /** Checks a fresh connection answers fast enough (used by onConnect hooks and `lmrelay check`). */
  static async ping(client: RedisClient, boundMs: number): Promise<void> {
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no PING answer within ${boundMs} ms`)), boundMs);
    });
    try {
      await Promise.race([client.send("PING", []), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    const c = this.client;
    this.client = undefined;
    c?.close();
    this.upNow = false;
  }
}
