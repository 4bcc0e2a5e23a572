import type { ResolvedConfig } from "../config/resolve";
import type { AnswerStore, AnswerStores } from "../core/answer-cache";
import type { Db } from "../store/db";
import { DbAnswerStore } from "./db";
import { DEFAULT_CACHE_MAX_BYTES, MemoryAnswerStore } from "./memory";
import { RedisAnswerStore } from "./redis";

/**
 * The response cache's stores for a running gateway (SPEC §9). `memory` answers from this process,
 * bounded by the largest `maxBytes` the config sets (default 64 MiB); `db` from the SQLite
 * database. With `cluster.redis` both kinds live in Redis instead, shared by every node.
 */
export class CacheStores implements AnswerStores {
  private readonly memory: MemoryAnswerStore;
  private db: DbAnswerStore | undefined;
  private redis: RedisAnswerStore | undefined;
  private redisId: string | undefined;

  constructor(
    private readonly database: Db,
    config: ResolvedConfig,
  ) {
    this.memory = new MemoryAnswerStore(maxBytesOf(config));
    this.adopt(config);
  }

  /** Follows a reloaded config: the memory bound, and which Redis (if any) holds the cache. */
  adopt(config: ResolvedConfig): void {
    this.memory.resize(maxBytesOf(config));
    const redis = redisOf(config);
    const id = redis && `${redis.url} ${redis.prefix}`;
    if (id === this.redisId) return;
    this.redis?.close();
    this.redisId = id;
    this.redis = redis ? new RedisAnswerStore(redis.url, redis.prefix) : undefined;
  }

  store(kind: "memory" | "db"): AnswerStore {
    if (this.redis) return this.redis;
    if (kind === "memory") return this.memory;
    this.db ??= new DbAnswerStore(this.database);
    return this.db;
  }

  get memorySize(): { entries: number; bytes: number } {
    return this.memory.size;
  }

  close(): void {
    this.db?.close();
    this.redis?.close();
  }
}

function maxBytesOf(config: ResolvedConfig): number {
  let most = 0;
  const levels = [config.cache, ...[...config.clients.values()].map((c) => c.cache), ...[...config.aliases.values()].map((a) => a.cache)];
  for (const l of levels) if (l && l.maxBytes !== undefined) most = Math.max(most, l.maxBytes);
  return most || DEFAULT_CACHE_MAX_BYTES;
}

/** The shared Redis of `cluster.redis` and the key prefix the nodes share, when the config has one. */
function redisOf(config: ResolvedConfig): { url: string; prefix: string } | undefined {
  return config.cluster && { url: config.cluster.redis, prefix: `${config.cluster.keyPrefix}cache:` };
}
