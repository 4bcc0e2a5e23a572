import type { ChatResponse } from "./types";

// Where the response cache keeps answers (SPEC §9): the router reads and writes through these; the
// cache folder implements them (memory, SQLite, Redis) and the server passes them in.

/** A stored answer: the folded canonical answer and who produced it. */
export interface CachedAnswer {
  answer: ChatResponse;
  provider: string;
  model: string;
  /** ms since epoch. */
  storedAt: number;
}

export interface AnswerStore {
  get(key: string): Promise<CachedAnswer | undefined>;
  set(key: string, entry: CachedAnswer, ttlMs: number): Promise<void>;
}

/** The stores a running gateway has; `store` picks one for a request's settings. */
export interface AnswerStores {
  store(kind: "memory" | "db"): AnswerStore;
}

