// The public face of `import { defineConfig, env } from "lmrelay"`: the types users write their
// config against. Kept by hand (not derived from the TypeBox schema) so editors show readable names.

import type { Protocol } from "../core/types";
import type { ProviderTypes, Strategies } from "./schema";

export type ProviderType = (typeof ProviderTypes)[number];
export type RoutingStrategy = (typeof Strategies)[number];

export interface UpstreamKey {
  key: string;
  /** Shown in logs and stats instead of the key (only a fingerprint of the key itself is ever shown). */
  name?: string;
  /** This key's model allow-list; globs (`claude-haiku-*`) allowed. */
  models?: string[];
  rpm?: number;
  tpm?: number;
  /** Share of first places under `keyRotation: "weighted"` (default 1). */
  weight?: number;
}

export interface ModelPrice {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
  /** USD per million cached input tokens, where the provider discounts them. */
  cachedInput?: number;
  /** USD per million input tokens written to the prompt cache (Anthropic), where priced apart. */
  cacheWrite?: number;
}

/** What the config says of a model, over lmrelay's built-in catalog (models.dev data). */
export interface ModelInfoConfig {
  /** Context window, tokens: a prompt far larger skips this candidate. */
  contextWindow?: number;
  /** Largest output the model takes: a larger `max_tokens` is lowered to it. */
  maxOutputTokens?: number;
  /** The model reasons (thinks); false drops reasoning controls sent to it. */
  reasoning?: boolean;
  /** Reasoning-effort values it takes (e.g. `["low", "medium", "high"]`). */
  efforts?: string[];
  /** false: temperature / top_p are refused and left out. */
  sampling?: boolean;
  tools?: boolean;
  images?: boolean;
}

export interface ProviderConfig {
  type: ProviderType;
  /** Server root or versioned base, per the provider's own SDK convention (SPEC §3). */
  baseUrl?: string;
  /** Strings or key objects; `undefined` entries (from `env.optional`) are skipped. */
  keys?: (string | UpstreamKey | undefined)[];
  /** The provider's catalog. When absent it is discovered from the provider's model-list endpoint. */
  models?: string[];
  headers?: Record<string, string>;
  /** This provider's first-byte timeout, ms (also bounds its non-stream answers and stream silences). */
  timeoutMs?: number;
  /** Higher is tried first by the `priority` and `health` strategies (default 0). */
  priority?: number;
  /** Share of turns under the `round-robin` strategy (default 1). */
  weight?: number;
  free?: boolean;
  pricing?: Record<string, ModelPrice>;
  /** Model facts over the built-in catalog, by model name or glob (`lmrelay models` shows the source of each). */
  modelInfo?: Record<string, ModelInfoConfig>;
  enabled?: boolean;
  /** azure: model name → deployment name. */
  deployments?: Record<string, string>;
  /** azure: `api-version`. */
  apiVersion?: string;
}

/** The exact response cache (README "Response cache"); `false` excludes what it is set on. */
export type CacheConfig =
  | false
  | {
      /** How long an answer is kept: a duration such as "1h", "30m", "90s" (default "1h"). */
      ttl?: string;
      /** Bound of the in-memory store, bytes (least recently used answers go first; default 64 MiB). */
      maxBytes?: number;
      /** "memory" (default) or "db" (the SQLite database: survives restarts). With `cluster.redis`
       *  answers live in Redis, shared by every node. */
      store?: "memory" | "db";
      /** One client's stored answer may answer another client (default false: per client key). */
      shared?: boolean;
    };

export type AliasConfig = string[] | { targets: string[]; strategy?: RoutingStrategy; cache?: CacheConfig };

export interface ClientConfig {
  key: string;
  /** Models, aliases or globs this client may use; absent = everything. */
  models?: string[];
  rpm?: number;
  tpm?: number;
  concurrency?: number;
  budget?: { usd: number; per: "day" | "month" | "total" };
  /** CIDRs from which this client is recognised without a key (for Ollama clients that send no headers). */
  allowNoAuthFrom?: string[];
  /** Response cache settings for this client's requests (over the top-level ones); `false` = never. */
  cache?: CacheConfig;
}

/** What `route()` learns about the request. */
export interface RouteRequest {
  model: string;
  client?: string;
  protocol: Protocol;
  stream: boolean;
  tools: boolean;
  images: boolean;
  promptTokens: number;
  maxTokens?: number;
  headers: Record<string, string>;
}

export interface RouteCandidate {
  provider: string;
  type: ProviderType;
  model: string;
  free: boolean;
  priority: number;
  health: { score: number; latencyMs: number; ttftMs: number; errorRate: number; coolingDown: boolean };
  cost: { input: number; output: number; estimateUsd: number };
  /** What the model is known to support (true) or not (false): its provider's model list, and
   *  refusals seen since the config loaded; a capability not listed is unknown. Absent when
   *  nothing is known. */
  capabilities?: { tools?: boolean; images?: boolean; embeddings?: boolean; thinking?: boolean };
}

export interface RoutingConfig {
  strategy?: RoutingStrategy;
  keyRotation?: "round-robin" | "least-used" | "weighted" | "random";
  maxAttempts?: number;
  /** Let a content-policy refusal fail over to the next candidate (default false: it goes back to the client). */
  contentPolicyFailover?: boolean;
  /** Send `x-lmrelay-route` (provider ids, key names, other providers' failures) to every client
   *  (default false: only to requests carrying the admin key; the audit log always has it). */
  explainHeader?: boolean;
  timeoutMs?: number;
  /** Reorder or filter the candidates; return them in the order to try. */
  route?(req: RouteRequest, candidates: RouteCandidate[]): RouteCandidate[] | Promise<RouteCandidate[]>;
}

export interface ClusterConfig {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`, `redis+unix://`). */
  redis: string;
  /** This node's name in logs, metrics and the audit log (default: hostname:port). */
  node?: string;
  /** With Redis unreachable: `"local"` (default) serves on this node's own limits; `"reject"`
   *  answers 503 to clients that have limits or budgets. */
  onRedisDown?: "local" | "reject";
  /** Prefix of every Redis key lmrelay uses (default `lmrelay:`), to share one Redis between gateways. */
  keyPrefix?: string;
  /** Longest a request waits for Redis before deciding without it, ms (default 100). */
  timeoutMs?: number;
}

export interface LmrelayConfig {
  server?: { host?: string; port?: number; maxBodyBytes?: number };
  storage?: {
    /** The SQLite file (audit log, health; with `postgres`, the spool of rows not yet written there).
     *  Default `lmrelay.db`, or `lmrelay-spool.db` with `postgres`. Relative to the config file. */
    path?: string;
    /** `postgres://…`: the audit log and spend of every node in one PostgreSQL database (SPEC §8). */
    postgres?: string;
  };
  /** Several nodes behind one load balancer share limits, budgets and cooldowns through Redis (SPEC §8). */
  cluster?: ClusterConfig;
  /** Bounds on what lmrelay holds in memory for one request. */
  limits?: {
    /** Largest non-stream upstream answer read, bytes (default 128 MiB); a bigger one fails that attempt. */
    maxUpstreamBodyBytes?: number;
  };
  /** Image URLs lmrelay downloads for upstreams that only take inline images (Ollama, Gemini). */
  images?: {
    /** Allow loopback, private and link-local addresses (default false: public addresses only). */
    allowPrivate?: boolean;
    /** Largest image, bytes (default 20 MB). */
    maxBytes?: number;
    /** Whole-download deadline, ms (default 10 s). */
    timeoutMs?: number;
  };
  admin?: { key?: string };
  metrics?: { auth?: boolean };
  audit?: {
    /** Store request and response bodies with each audit row (off by default). */
    bodies?: boolean;
    /** For stored bodies: JSON field names whose values are replaced (`"content"`), or `/regex/flags`
     *  whose matches are replaced in every string. Configured keys are always replaced. */
    redact?: string[];
    /** Delete audit rows and bodies older than this many days (default: keep them). */
    retainDays?: number;
  };
  /** The Responses API store (`POST /v1/responses` with `store`, the default). */
  responses?: {
    /** Stored responses older than this many days are deleted (default 30). */
    retentionDays?: number;
  };
  /** Exact response cache for every client and model (SPEC §9); off when absent. */
  cache?: CacheConfig;
  /** OpenTelemetry traces over OTLP/HTTP (SPEC §9); off when absent. */
  telemetry?: {
    otlp: {
      /** Collector base URL, e.g. "http://127.0.0.1:4318"; spans go to `{endpoint}/v1/traces`. */
      endpoint: string;
      /** Sent with every export (e.g. a vendor's API key). */
      headers?: Record<string, string>;
      /** Default "http/protobuf". */
      protocol?: "http/protobuf" | "http/json";
    };
    /** Share of new traces recorded, 0–1 (default 1); an incoming sampled `traceparent` is followed. */
    sampleRatio?: number;
    /** Record message content (redacted like audit bodies) on request spans (default false). */
    captureContent?: boolean;
    /** `service.name` of the spans (default "lmrelay"). */
    serviceName?: string;
  };
  providers: Record<string, ProviderConfig>;
  models?: Record<string, AliasConfig>;
  clients?: Record<string, ClientConfig>;
  routing?: RoutingConfig;
  health?: {
    /** How often failing or cooled-down providers are probed (their model list), ms; 0 = never. Default 30 s. */
    probeIntervalMs?: number;
    /** Consecutive failures that open a provider's circuit (default 3). */
    failureThreshold?: number;
    /** How long an open circuit lasts, the cap of 429 backoff and the ramp-up time, ms (default 60 s). */
    cooldownMs?: number;
    /** A stream with no token after this long fails over, ms (default 60 s; Ollama gets 3×). */
    firstByteTimeoutMs?: number;
  };
}

/** Identity at run time; gives the config object its type in editors. */
export function defineConfig(config: LmrelayConfig): LmrelayConfig {
  return config;
}
