import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per inbound request (SPEC §6). `attempts` is JSON, one entry per candidate the router
 *  considered: [{outcome: "served"|"failed"|"skipped", provider, model, key?, fingerprint?, status,
 *  latencyMs?, error?, reason?, until?}] (router/explain.ts). */
export const requests = sqliteTable(
  "requests",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** ms since epoch when the request arrived */
    ts: integer("ts").notNull(),
    requestId: text("request_id").notNull(),
    protocol: text("protocol").notNull(),
    endpoint: text("endpoint").notNull(),
    client: text("client"),
    requestedModel: text("requested_model"),
    provider: text("provider"),
    model: text("model"),
    /** fingerprint or configured name of the upstream key that answered — never the key */
    keyName: text("key_name"),
    status: integer("status").notNull(),
    stream: integer("stream", { mode: "boolean" }).notNull().default(false),
    latencyMs: real("latency_ms").notNull(),
    ttftMs: real("ttft_ms"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    /** Of inputTokens: written to the prompt cache (priced apart by Anthropic). */
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    usageEstimated: integer("usage_estimated", { mode: "boolean" }).notNull().default(false),
    costUsd: real("cost_usd").notNull().default(0),
    /** Tokens were used but no price was known for the model (its cost counted as 0). */
    unpriced: integer("unpriced", { mode: "boolean" }).notNull().default(false),
    error: text("error"),
    attempts: text("attempts").notNull().default("[]"),
    /** What translation changed for the target model, as sent in `x-lmrelay-adjusted` (SPEC §2). */
    adjusted: text("adjusted"),
    /** The node that served the request (`cluster.node`, SPEC §8); null on a single node. */
    node: text("node"),
    /** Answered from the response cache (SPEC §9): no upstream attempt, cost 0. */
    cacheHit: integer("cache_hit", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [index("requests_ts").on(t.ts), index("requests_client_ts").on(t.client, t.ts)],
);

export type RequestRow = typeof requests.$inferInsert;

/** Spend and traffic per UTC day, client, provider and model, rolled up in the same transaction as
 *  the audit rows. Budgets read it (so spend survives restarts) and it outlives audit retention.
 *  Absent client/provider/model are stored as "" so the key stays unique. */
export const spendDaily = sqliteTable(
  "spend_daily",
  {
    /** UTC day, YYYY-MM-DD */
    day: text("day").notNull(),
    client: text("client").notNull().default(""),
    provider: text("provider").notNull().default(""),
    model: text("model").notNull().default(""),
    requests: integer("requests").notNull().default(0),
    errors: integer("errors").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    costUsd: real("cost_usd").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.client, t.provider, t.model] }), index("spend_daily_client_day").on(t.client, t.day)],
);

/** Request and response bodies, only when `audit.bodies` is on; redacted before they are stored. */
export const requestBodies = sqliteTable(
  "request_bodies",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ts: integer("ts").notNull(),
    requestId: text("request_id").notNull(),
    request: text("request"),
    response: text("response"),
    /** Set when a body was longer than the capture limit and cut. */
    truncated: integer("truncated", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [index("request_bodies_ts").on(t.ts), index("request_bodies_request_id").on(t.requestId)],
);

export type BodyRow = typeof requestBodies.$inferInsert;

/** Routing health per scope (health/entry.ts): provider (key_fp "" and model ""), provider + key
 *  (model ""), provider + key + model. Written in batches off the request path, read at start. */
export const health = sqliteTable(
  "health",
  {
    provider: text("provider").notNull(),
    /** key fingerprint, "-" for a keyless provider, "" at provider scope — never the key */
    keyFp: text("key_fp").notNull(),
    model: text("model").notNull(),
    success: real("success").notNull(),
    limited: real("limited").notNull(),
    updatedAt: integer("updated_at").notNull(),
    latencyMs: real("latency_ms"),
    ttftMs: real("ttft_ms"),
    samples: integer("samples").notNull(),
    consecutiveFailures: integer("consecutive_failures").notNull(),
    cooldownUntil: integer("cooldown_until"),
    cooldownKind: text("cooldown_kind"),
    cooldownReason: text("cooldown_reason"),
    backoffLevel: integer("backoff_level").notNull(),
    rampFrom: integer("ramp_from"),
    remainingShare: real("remaining_share"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    lastAt: integer("last_at"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.keyFp, t.model] })],
);

export type HealthRow = typeof health.$inferSelect;

/** Responses API answers kept for `previous_response_id`, `item_reference` and `GET /v1/responses/{id}`
 *  (SPEC §2), per client ("" without configured clients), deleted after `responses.retentionDays`. */
export const responses = sqliteTable(
  "responses",
  {
    id: text("id").primaryKey(),
    client: text("client").notNull().default(""),
    /** ms since epoch when stored */
    ts: integer("ts").notNull(),
    previousId: text("previous_id"),
    /** the response object, JSON */
    response: text("response").notNull(),
    /** the request's input items (references resolved), JSON array */
    input: text("input").notNull(),
  },
  (t) => [index("responses_ts").on(t.ts)],
);

/** Every input and output item of the stored responses, by item id, for `item_reference`. */
export const responseItems = sqliteTable(
  "response_items",
  {
    client: text("client").notNull().default(""),
    id: text("id").notNull(),
    responseId: text("response_id").notNull(),
    ts: integer("ts").notNull(),
    item: text("item").notNull(),
  },
  (t) => [primaryKey({ columns: [t.client, t.id] }), index("response_items_response").on(t.responseId), index("response_items_ts").on(t.ts)],
);

/** Cached answers when a cache uses `store: "db"` (SPEC §9): the canonical answer as JSON, keyed by
 *  the request's hash; expired rows are deleted by the store. */
export const responseCache = sqliteTable(
  "response_cache",
  {
    key: text("key").primaryKey(),
    /** ms since epoch after which the entry is not served. */
    expiresAt: integer("expires_at").notNull(),
    entry: text("entry").notNull(),
  },
  (t) => [index("response_cache_expires").on(t.expiresAt)],
);
