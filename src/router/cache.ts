import type { CacheLevel, ResolvedClient, ResolvedConfig } from "../config/resolve";
import { ResponseFolder, responseToEvents } from "../core/fold";
import type { CachedAnswer } from "../core/answer-cache";
import type { ChatRequest, ChatResponse, StreamEvent } from "../core/types";

// The exact response cache (SPEC §9), as the router sees it: which requests may be answered from
// it, under which key, and how a stored answer is replayed. Where answers are kept (memory, the
// database, Redis) is behind `AnswerStores` (core/answer-cache.ts), which the server passes in.

/** Request header: `bypass` skips the cache, `force` caches a request with temperature above 0. */
export const CACHE_HEADER = "x-lmrelay-cache";

const DEFAULT_TTL_MS = 3_600_000;

export interface CachePolicy {
  ttlMs: number;
  store: "memory" | "db";
  shared: boolean;
}

/** The cache settings in force for this client and requested model, or undefined when its answers
 *  are not cached: no level sets a cache, or one of them says `false`. Narrower levels win field by
 *  field: the alias over the client over the top level. */
export function cachePolicyFor(config: ResolvedConfig, client: ResolvedClient | undefined, model: string): CachePolicy | undefined {
  const aliasCache = config.aliases.get(model)?.cache;
  // The common case, nothing cached anywhere, costs three lookups and no allocation.
  if (config.cache === undefined && client?.cache === undefined && aliasCache === undefined) return undefined;
  const levels: (CacheLevel | undefined)[] = [config.cache, client?.cache, aliasCache];
  if (levels.every((l) => l === undefined) || levels.some((l) => l === false)) return undefined;
  const merged: Exclude<CacheLevel, false> = {};
  for (const l of levels) if (l) for (const [k, v] of Object.entries(l)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return { ttlMs: merged.ttlMs ?? DEFAULT_TTL_MS, store: merged.store ?? "memory", shared: merged.shared ?? false };
}

/** Whether this request's answer may come from or go to the cache: not when the client says
 *  `bypass`, and a request with an explicit temperature above 0 (an answer meant to vary) only
 *  when the client says `force`. */
export function cacheAllowed(req: ChatRequest, directive: string | null): boolean {
  if (directive === "bypass") return false;
  if (req.temperature !== undefined && req.temperature > 0 && directive !== "force") return false;
  return true;
}

/**
 * The key: a hash of the request after alias resolution — the candidate chain, and everything of
 * the request that shapes the answer (messages, tools, sampling, format, reasoning) — and of the
 * client unless the cache is shared. Not the inbound protocol, nor streaming: an answer stored from
 * an OpenAI stream answers an Anthropic non-stream request just as well.
 */
export function cacheKey(req: ChatRequest, chain: readonly string[], client: string | undefined): string {
  const shape = [
    chain,
    client ?? null,
    req.system,
    req.messages,
    req.tools ?? null,
    req.toolChoice ?? null,
    req.parallelToolCalls ?? null,
    req.responseFormat ?? null,
    req.maxTokens ?? null,
    req.temperature ?? null,
    req.topP ?? null,
    req.topK ?? null,
    req.stop ?? null,
    req.seed ?? null,
    req.presencePenalty ?? null,
    req.frequencyPenalty ?? null,
    req.reasoning ?? null,
    req.legacyCompletion ?? false,
    req.passthrough ?? null,
  ];
  return Bun.SHA256.hash(JSON.stringify(shape), "hex") as string;
}

/** The events of a stored answer, its usage marked as read from cache (nothing was computed). */
export function replayEvents(entry: CachedAnswer): StreamEvent[] {
  const usage = entry.answer.usage;
  return responseToEvents({ ...entry.answer, usage: { ...usage, cacheReadTokens: usage.inputTokens, cacheWriteTokens: 0 } });
}

/** Collects an answer's canonical events as they pass; `done` gets the folded answer once the
 *  answer ended well (finished, no error), never a partial one. Raw events are passed on untouched. */
export class AnswerRecorder {
  private readonly folder = new ResponseFolder();
  private finished = false;

  push(ev: StreamEvent): void {
    if (ev.type === "raw") return;
    if (ev.type === "finish") this.finished = true;
    this.folder.push(ev);
  }

  /** The folded answer, or undefined when it did not end well. */
  result(): ChatResponse | undefined {
    if (!this.finished || this.folder.error) return undefined;
    return this.folder.result();
  }
}

/** Wraps a stream's events so that, read to its end without an error, its answer is stored. */
export function recordingStream(events: AsyncIterable<StreamEvent>, onAnswer: (answer: ChatResponse) => void): AsyncIterable<StreamEvent> {
  return {
    [Symbol.asyncIterator]() {
      const it = events[Symbol.asyncIterator]();
      const recorder = new AnswerRecorder();
      return {
        async next() {
          const r = await it.next();
          if (r.done) {
            const answer = recorder.result();
            if (answer) onAnswer(answer);
          } else recorder.push(r.value);
          return r;
        },
        return: (value?: unknown) => it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
        throw: (err?: unknown) => it.throw?.(err) ?? Promise.reject(err),
      };
    },
  };
}
