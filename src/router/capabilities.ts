import { type GatewayError, lmrelayError } from "../core/errors";
import type { ChatRequest } from "../core/types";
import type { Capability, ModelCapabilities } from "../upstream/types";
import { type AttemptRecord, describeAttempts } from "./explain";

// Capability-aware routing: what each (provider, model) can take — tools, images, embeddings,
// thinking — as its model list declares it (Ollama `capabilities`, Gemini generation methods) and
// as upstreams teach it (a 400 saying "does not support tools" marks it known-no). Planning skips
// candidates known not to support what a request needs; unknown is allowed. What was learned
// lives in memory and is forgotten when the config reloads (the user may have swapped the model
// behind a name); a restart relearns it for the price of one failed-over attempt per model.

export type { Capability, ModelCapabilities } from "../upstream/types";

/** The capabilities a chat request needs from its model. Thinking is not one (SPEC §2, model
 *  knowledge): a model known not to think gets the request without it (`withoutThinking`). */
export function requestNeeds(req: ChatRequest): Capability[] {
  const needs: Capability[] = [];
  if (req.tools?.length) needs.push("tools");
  if (usesImages(req)) needs.push("images");
  return needs;
}

/** The request for a model known (from its model list, or a refusal) not to think: its thinking
 *  request left out, and the change named for `x-lmrelay-adjusted`. */
export function withoutThinking(req: ChatRequest, known: ModelCapabilities | undefined, model: string): { req: ChatRequest; adjusted?: string } {
  if (!req.reasoning?.enabled || known?.thinking !== false) return { req };
  // Without `original`: the client's own bytes (which ask for thinking) must not be forwarded as-is.
  return { req: { ...req, reasoning: undefined, original: undefined }, adjusted: `thinking dropped (${model} has none)` };
}

/** Images anywhere in the conversation, tool results included. */
export function usesImages(req: Pick<ChatRequest, "messages">): boolean {
  return req.messages.some((m) => m.content.some((p) => p.type === "image" || (p.type === "tool_result" && p.content.some((c) => c.type === "image"))));
}

/** The first of `needs` that `known` says is missing; unknown counts as present. */
export function lacking(known: ModelCapabilities | undefined, needs: readonly Capability[] | undefined): Capability | undefined {
  if (!known || !needs) return undefined;
  for (const n of needs) if (known[n] === false) return n;
  return undefined;
}

/** Where declared capabilities come from: the model catalog. */
export interface DeclaredCapabilities {
  capabilities(providerId: string, model: string): ModelCapabilities | undefined;
}

/** Learned entries kept at most; past it the oldest is forgotten (it can be learned again). */
const MAX_LEARNED = 10_000;

export class CapabilityBook {
  private learned = new Map<string, ModelCapabilities>();

  constructor(private readonly declared: DeclaredCapabilities) {}

  /** What is known of (provider, model): what upstreams taught overrides what the catalog declared. */
  of(providerId: string, model: string): ModelCapabilities | undefined {
    const declared = this.declared.capabilities(providerId, model);
    const learned = this.learned.size ? this.learned.get(scope(providerId, model)) : undefined;
    if (!learned) return declared;
    return declared ? { ...declared, ...learned } : learned;
  }

  /** The first capability in `needs` the model is known not to have. */
  missing(providerId: string, model: string, needs: readonly Capability[]): Capability | undefined {
    return needs.length === 0 ? undefined : lacking(this.of(providerId, model), needs);
  }

  /** Records what an upstream said about the model (so far: that it lacks `capability`). */
  learn(providerId: string, model: string, capability: Capability, supported: boolean): void {
    const key = scope(providerId, model);
    const entry = this.learned.get(key);
    if (entry) {
      entry[capability] = supported;
      return;
    }
    if (this.learned.size >= MAX_LEARNED) this.learned.delete(this.learned.keys().next().value!);
    this.learned.set(key, { [capability]: supported });
  }

  /** Forgets what was learned (config reload). */
  clear(): void {
    this.learned.clear();
  }
}

function scope(providerId: string, model: string): string {
  return `${providerId}\u0000${model}`;
}

/** The skip reason a capability filter writes (x-lmrelay-route, audit, error messages). */
export function capabilitySkipReason(capability: Capability): string {
  return `capability: ${capability}`;
}

/** The capability a skip or failure was about, if it was about one. */
function capabilityOf(r: AttemptRecord): Capability | undefined {
  if (r.reason?.startsWith("capability: ")) return r.reason.slice("capability: ".length) as Capability;
  // An adapter without an embeddings endpoint is the same wall.
  if (r.outcome === "skipped" && r.reason === "no embeddings") return "embeddings";
  return undefined;
}

/** Skips that hold for this request whatever the wait: the client may not use the candidate. */
const NOT_FOR_THIS_CLIENT = new Set(["client allow-list", "route()"]);

/**
 * When nothing served the request because no candidate can take what it needs, the client's
 * request is what must change: 400 naming the capability, not 502/503. Returns undefined when any
 * attempt failed or any skip was for something else (a cooldown passes; a 5xx is the upstream's).
 * A lone failed attempt keeps the upstream's own answer (exhaustedError's rule).
 */
export function capabilityError(records: AttemptRecord[]): GatewayError | undefined {
  const missing = new Set<Capability>();
  let considered = 0;
  for (const r of records) {
    if (r.outcome === "served") return undefined;
    if (r.outcome === "skipped" && NOT_FOR_THIS_CLIENT.has(r.reason ?? "")) continue;
    const capability = capabilityOf(r);
    if (!capability) return undefined;
    missing.add(capability);
    considered++;
  }
  if (missing.size === 0) return undefined;
  if (considered === 1 && records.some((r) => r.outcome === "failed")) return undefined;
  const names = [...missing].join(" and ");
  return lmrelayError("invalid_request", `no model for this request supports ${names}: ${describeAttempts(records)}`, {
    status: 400,
    code: "unsupported_capability",
    param: missing.has("tools") ? "tools" : missing.has("embeddings") ? "model" : undefined,
  });
}
