import type { RedisClient } from "bun";
import { RedisLink, UNANSWERED } from "./link";
import type { ClusterLog, SharedBlock, SharedBlocks } from "./types";

// Cooldowns, keys disabled by a 401/403 and open circuits learned on one node, honoured by all
// (SPEC §8: within a second). Each block is written to one Redis hash (so a node that starts or
// reconnects reads what is in force) and published on one channel (so running nodes hear it at
// once). Every node's health tracker stays the near-cache the router asks synchronously: a block
// arriving here is applied to it, never looked up on a request's path.

const PUBLISH_BOUND_MS = 2000;

function field(b: SharedBlock): string {
  return `${b.provider}\u0000${b.fp}\u0000${"model" in b ? b.model : ""}`;
}

interface Envelope {
  origin: string;
  block: SharedBlock;
}

export class RedisBlocks implements SharedBlocks {
  /** Tells this node's own messages apart from other nodes'. */
  private readonly origin = crypto.randomUUID();
  private readonly hash: string;
  private readonly channel: string;
  private readonly subscriber: RedisLink;

  constructor(
    private readonly link: RedisLink,
    url: string,
    prefix: string,
    private readonly apply: (block: SharedBlock) => void,
    private readonly log: ClusterLog,
  ) {
    this.hash = `${prefix}blocks`;
    this.channel = `${prefix}blocks:events`;
    // Subscribing takes a connection of its own; it reconnects like the main one and reads the
    // hash again each time, so nothing published while it was away is missed.
    // The main link already says when Redis leaves and returns: this one stays quiet about it.
    const quiet: ClusterLog = { debug: (m, f) => log.debug(m, f), info: () => {}, warn: () => {}, error: (m, f) => log.error(m, f) };
    this.subscriber = new RedisLink({ url, log: quiet, onConnect: (c) => this.listen(c), callBoundMs: PUBLISH_BOUND_MS });
  }

  start(): Promise<void> {
    return this.subscriber.start();
  }

  private async listen(client: RedisClient): Promise<void> {
    // Read what is in force, then hear what changes; a block published in between is read again
    // through the main link once subscribed (applying one twice changes nothing).
    this.applyAll(entries(await client.send("HGETALL", [this.hash])));
    await client.subscribe(this.channel, (message) => this.receive(message));
    void this.link.call("HGETALL", [this.hash], PUBLISH_BOUND_MS).then((r) => this.applyAll(entries(r)), () => {});
  }

  private applyAll(all: Record<string, string>): void {
    const now = Date.now();
    const stale: string[] = [];
    for (const [name, text] of Object.entries(all)) {
      const block = parse(text);
      if (!block || (block.type === "cooldown" && block.until <= now)) stale.push(name);
      else this.apply(block);
    }
    if (stale.length) void this.link.call("HDEL", [this.hash, ...stale], PUBLISH_BOUND_MS);
  }

  private receive(message: string): void {
    try {
      const env = JSON.parse(message) as Envelope;
      if (env.origin !== this.origin && env.block) this.apply(env.block);
    } catch (e) {
      this.log.error("cluster: unreadable block message", { error: (e as Error).message });
    }
  }

  publish(block: SharedBlock): void {
    const text = JSON.stringify(block);
    const write =
      block.type === "clear" ? this.link.call("HDEL", [this.hash, field(block)], PUBLISH_BOUND_MS) : this.link.call("HSET", [this.hash, field(block), text], PUBLISH_BOUND_MS);
    const send = this.link.call("PUBLISH", [this.channel, JSON.stringify({ origin: this.origin, block } satisfies Envelope)], PUBLISH_BOUND_MS);
    Promise.all([write, send]).then(
      ([w, s]) => {
        if (w === UNANSWERED || s === UNANSWERED) this.log.debug("cluster: a block was not shared (Redis down)", { provider: block.provider });
      },
      (e) => this.log.error("cluster: sharing a block failed", { error: (e as Error).message }),
    );
  }

  forgetDisabled(): void {
    void (async () => {
      const all = entries(await this.link.call("HGETALL", [this.hash], PUBLISH_BOUND_MS));
      const disabled = Object.entries(all)
        .filter(([, text]) => parse(text)?.type === "disabled")
        .map(([name]) => name);
      if (disabled.length) await this.link.call("HDEL", [this.hash, ...disabled], PUBLISH_BOUND_MS);
    })().catch((e) => this.log.error("cluster: forgetting disabled keys failed", { error: (e as Error).message }));
  }

  close(): void {
    this.subscriber.close();
  }
}

/** HGETALL's answer: an object in RESP3, a flat array in RESP2, nothing when unanswered. */
function entries(r: unknown): Record<string, string> {
  if (r === UNANSWERED || r === null || r === undefined) return {};
  if (Array.isArray(r)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < r.length; i += 2) out[String(r[i])] = String(r[i + 1]);
    return out;
  }
  return r as Record<string, string>;
}

function parse(text: string): SharedBlock | undefined {
  try {
    const b = JSON.parse(text) as SharedBlock;
    return b && typeof b.provider === "string" && typeof b.fp === "string" ? b : undefined;
  } catch {
    return undefined;
  }
}
