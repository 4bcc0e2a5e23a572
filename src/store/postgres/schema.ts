import { bigint, bigserial, boolean, doublePrecision, index, integer, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { RequestRow as SqliteRequestRow, responseItems as SqliteResponseItems, responses as SqliteResponses } from "../schema";

// The audit log and spend rollup of several nodes in one PostgreSQL database (`storage.postgres`,
// SPEC §8): the same rows as the SQLite schema (../schema.ts; the check at the end of this file
// fails to compile when the two drift apart), plus where each row came from: the spool it was
// written to first and its id there, unique together, so a replayed batch inserts nothing twice.

export const requests = pgTable(
  "requests",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** The node's spool (its SQLite file's identity) and the row's id in it. */
    spool: text("spool").notNull(),
    localId: bigint("local_id", { mode: "number" }).notNull(),
    ts: bigint("ts", { mode: "number" }).notNull(),
    requestId: text("request_id").notNull(),
    protocol: text("protocol").notNull(),
    endpoint: text("endpoint").notNull(),
    client: text("client"),
    requestedModel: text("requested_model"),
    provider: text("provider"),
    model: text("model"),
    keyName: text("key_name"),
    status: integer("status").notNull(),
    stream: boolean("stream").notNull().default(false),
    latencyMs: doublePrecision("latency_ms").notNull(),
    ttftMs: doublePrecision("ttft_ms"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    usageEstimated: boolean("usage_estimated").notNull().default(false),
    costUsd: doublePrecision("cost_usd").notNull().default(0),
    unpriced: boolean("unpriced").notNull().default(false),
    error: text("error"),
    attempts: text("attempts").notNull().default("[]"),
    adjusted: text("adjusted"),
    node: text("node"),
    cacheHit: boolean("cache_hit").notNull().default(false),
  },
  (t) => [
    uniqueIndex("requests_spool_local").on(t.spool, t.localId),
    index("requests_ts").on(t.ts),
    index("requests_client_ts").on(t.client, t.ts),
    index("requests_request_id").on(t.requestId),
  ],
);

export type PgRequestRow = typeof requests.$inferInsert;

/** Spend and traffic per UTC day, client, provider and model, added in the same transaction as
 *  the rows that were new (ON CONFLICT DO NOTHING … RETURNING), so a replay adds nothing twice. */
export const spendDaily = pgTable(
  "spend_daily",
  {
    day: text("day").notNull(),
    client: text("client").notNull().default(""),
    provider: text("provider").notNull().default(""),
    model: text("model").notNull().default(""),
    requests: integer("requests").notNull().default(0),
    errors: integer("errors").notNull().default(0),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull().default(0),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull().default(0),
    costUsd: doublePrecision("cost_usd").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.client, t.provider, t.model] }), index("spend_daily_client_day").on(t.client, t.day)],
);

// ---- both schemas describe the same rows (compile-time) ----
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type Shape<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };
/** Fails to compile when a column is added to one schema and not the other, or changes type. */
export type SameAuditRows = Assert<Exact<Shape<Omit<PgRequestRow, "spool" | "localId">>, Shape<SqliteRequestRow>>>;

// ---- the Responses API store of several nodes (SPEC §2, §8) ----

/** Responses API answers, as the SQLite store keeps them (../schema.ts `responses`). */
export const responses = pgTable(
  "responses",
  {
    id: text("id").notNull(),
    client: text("client").notNull().default(""),
    ts: bigint("ts", { mode: "number" }).notNull(),
    previousId: text("previous_id"),
    response: text("response").notNull(),
    input: text("input").notNull(),
  },
  // Scoped by client: the same id under another client is another (unreachable) response.
  (t) => [primaryKey({ columns: [t.client, t.id] }), index("responses_ts").on(t.ts)],
);

/** Every input and output item of the stored responses, by item id (`item_reference`). */
export const responseItems = pgTable(
  "response_items",
  {
    client: text("client").notNull().default(""),
    id: text("id").notNull(),
    responseId: text("response_id").notNull(),
    ts: bigint("ts", { mode: "number" }).notNull(),
    item: text("item").notNull(),
  },
  (t) => [primaryKey({ columns: [t.client, t.id] }), index("response_items_response").on(t.client, t.responseId), index("response_items_ts").on(t.ts)],
);

/** Fails to compile when the Responses tables of the two schemas drift apart. */
export type SameResponseRows = Assert<Exact<Shape<typeof responses.$inferInsert>, Shape<typeof SqliteResponses.$inferInsert>>>;
export type SameResponseItemRows = Assert<Exact<Shape<typeof responseItems.$inferInsert>, Shape<typeof SqliteResponseItems.$inferInsert>>>;
