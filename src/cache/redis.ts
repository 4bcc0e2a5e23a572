import { RedisClient } from "bun";
import type { AnswerStore, CachedAnswer } from "../core/answer-cache";

// Cached answers in Redis (with `cluster.redis`): every node reads and writes the same entries,
// each with its TTL set by Redis itself. A Redis that does not answer in time is a miss, never a
// stalled request: lookups are bounded.

const KEY_PREFIX = "lmrelay:cache:";
/** Longest a lookup may wait for Redis before the request goes upstream. */
const LOOKUP_TIMEOUT_MS = 50;

export class RedisAnswerStore implements AnswerStore {
  private readonly client: RedisClient;
  /** The first connection; commands wait for it (bounded), later reconnects are Redis's own. */
  private readonly ready: Promise<void>;

  constructor(
    url: string,
    private readonly prefix = KEY_PREFIX,
  ) {
    // No offline queue: a command sent while Redis is away fails at once (a miss) instead of waiting.
    this.client = new RedisClient(url, { enableOfflineQueue: false, autoReconnect: true, connectionTimeout: 2_000 });
    this.ready = this.client.connect().catch(() => {});
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), LOOKUP_TIMEOUT_MS);
    });
    try {
      const text = await Promise.race([this.ready.then(() => this.client.get(this.prefix + key)), late]);
      return text ? (JSON.parse(text) as CachedAnswer) : undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async set(key: string, entry: CachedAnswer, ttlMs: number): Promise<void> {
    await this.ready;
    await this.client.set(this.prefix + key, JSON.stringify(entry), "PX", Math.max(1, Math.round(ttlMs)));
  }

  close(): void {
    this.client.close();
  }
}
