import { RedisBlocks } from "./blocks";
import { RedisLimits } from "./limits";
import { RedisLink } from "./link";
import { ADMIT, RENEW, SETTLE } from "./scripts";
import type { ClusterLog, SharedBlock } from "./types";

// A node's shared state on Redis (`cluster`, SPEC §8): one connection for limits and blocks, one
// for the block channel. Started before the node serves; a Redis that is away at start is not an
// error (the node serves on its own state and joins when Redis answers).

export interface RedisStateOptions {
  url: string;
  keyPrefix: string;
  log: ClusterLog;
  /** Where blocks other nodes learned go (this node's health tracker). */
  applyBlock(block: SharedBlock): void;
  callBoundMs?: number;
}

export class RedisState {
  readonly link: RedisLink;
  readonly limits: RedisLimits;
  readonly blocks: RedisBlocks;

  constructor(opts: RedisStateOptions) {
    this.link = new RedisLink({ url: opts.url, log: opts.log, callBoundMs: opts.callBoundMs, scripts: [ADMIT, SETTLE, RENEW] });
    this.limits = new RedisLimits(this.link, opts.keyPrefix, opts.log);
    this.blocks = new RedisBlocks(this.link, opts.url, opts.keyPrefix, opts.applyBlock, opts.log);
  }

  get up(): boolean {
    return this.link.up;
  }

  async start(): Promise<void> {
    await this.link.start();
    await this.blocks.start();
  }

  close(): void {
    this.limits.close();
    this.blocks.close();
    this.link.close();
  }
}
