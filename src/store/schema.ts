import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per inbound request (SPEC §6). `attempts` is JSON: [{provider, model, key, status, latencyMs, error?}]. */
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
    usageEstimated: integer("usage_estimated", { mode: "boolean" }).notNull().default(false),
    costUsd: real("cost_usd").notNull().default(0),
    error: text("error"),
    attempts: text("attempts").notNull().default("[]"),
  },
  (t) => [index("requests_ts").on(t.ts), index("requests_client_ts").on(t.client, t.ts)],
);

export type RequestRow = typeof requests.$inferInsert;
