import type { AnswerStore, CachedAnswer } from "../core/answer-cache";

// Cached answers in this process's memory, least recently used first out once `maxBytes` is
// passed. Entries are kept as JSON text: their size is known, and a hit hands out a fresh copy
// that no reader can change under the next one.

interface Slot {
  text: string;
  expiresAt: number;
}

export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;

export class MemoryAnswerStore implements AnswerStore {
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;

  constructor(
    private maxBytes = DEFAULT_CACHE_MAX_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follows a reloaded config's bound; shrinking evicts at once. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.slots.size, bytes: this.bytes };
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.slots.delete(key);
    if (slot.expiresAt <= this.now()) {
      this.bytes -= slot.text.length;
      return undefined;
    }
    this.slots.set(key, slot); // most recently used goes last
    return JSON.parse(slot.text) as CachedAnswer;
  }

  async set(key: string, entry: CachedAnswer, ttlMs: number): Promise<void> {
    const text = JSON.stringify(entry);
    const old = this.slots.get(key);
    if (old) {
      this.slots.delete(key);
      this.bytes -= old.text.length;
    }
    if (text.length > this.maxBytes) return;
    this.slots.set(key, { text, expiresAt: this.now() + ttlMs });
    this.bytes += text.length;
    this.evict();
  }

  private evict(): void {
    for (const [key, slot] of this.slots) {
      if (this.bytes <= this.maxBytes) return;
      this.slots.delete(key);
      this.bytes -= slot.text.length;
    }
  }
}
