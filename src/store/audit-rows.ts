import type { Database } from "bun:sqlite";
import { dayKey } from "./day";
import type { BodyRow, RequestRow } from "./schema";

// An audit row travels as a flat tuple of column values (COLUMNS order): the request thread builds
// it with a few array pushes, a batch of them crosses to the writer thread as one structured-clone-
// cheap array of primitives, and SQLite binds it positionally. The sink is the one place that
// knows where rows go (`writeBatch`): SQLite here; another store can stand behind the same call.
// Plain SQL with the schema's table and column names (a test holds them to schema.ts): this runs on
// the audit writer thread, which does not load the query builder.

export const COLUMNS = [
  "ts", "requestId", "protocol", "endpoint", "client", "requestedModel", "provider", "model", "keyName", "status", "stream",
  "latencyMs", "ttftMs", "inputTokens", "outputTokens", "cachedTokens", "cacheWriteTokens", "usageEstimated", "costUsd",
  "unpriced", "error", "attempts", "adjusted", "node", "cacheHit",
] as const;

/** The SQL column of each of COLUMNS, in the same order. */
export const COLUMN_NAMES = [
  "ts", "request_id", "protocol", "endpoint", "client", "requested_model", "provider", "model", "key_name", "status", "stream",
  "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "usage_estimated", "cost_usd",
  "unpriced", "error", "attempts", "adjusted", "node", "cache_hit",
] as const;

export type RowValue = string | number | null;
/** One audit row: its values in COLUMNS order. */
export type RowValues = RowValue[];

const TS = COLUMNS.indexOf("ts");
const CLIENT = COLUMNS.indexOf("client");
const PROVIDER = COLUMNS.indexOf("provider");
const MODEL = COLUMNS.indexOf("model");
const STATUS = COLUMNS.indexOf("status");
const INPUT = COLUMNS.indexOf("inputTokens");
const OUTPUT = COLUMNS.indexOf("outputTokens");
const COST = COLUMNS.indexOf("costUsd");

/** Appends a row's values in COLUMNS order. */
export function pushRowValues(out: RowValue[], row: RequestRow): void {
  out.push(
    row.ts,
    row.requestId,
    row.protocol,
    row.endpoint,
    row.client ?? null,
    row.requestedModel ?? null,
    row.provider ?? null,
    row.model ?? null,
    row.keyName ?? null,
    row.status,
    row.stream ? 1 : 0,
    row.latencyMs,
    row.ttftMs ?? null,
    row.inputTokens ?? 0,
    row.outputTokens ?? 0,
    row.cachedTokens ?? 0,
    row.cacheWriteTokens ?? 0,
    row.usageEstimated ? 1 : 0,
    row.costUsd ?? 0,
    row.unpriced ? 1 : 0,
    row.error ?? null,
    row.attempts ?? "[]",
    row.adjusted ?? null,
    row.node ?? null,
    row.cacheHit ? 1 : 0,
  );
}

/** Where audit batches go. Called with at least one row or body; throws when storage fails (the
 *  queue keeps the batch and retries it). */
export interface AuditSink {
  writeBatch(rows: readonly RowValues[], bodies: readonly BodyRow[]): void;
}

/** Rows per multi-row INSERT (25 columns each: well under SQLite's 32766 variables). */
const ROWS_PER_INSERT = 32;

/** Writes batches into the SQLite audit tables: the rows, their daily spend rollup and captured
 *  bodies in one transaction, so the rollup never disagrees with the rows. */
export class SqliteAuditSink implements AuditSink {
  private write: ((rows: readonly RowValues[], bodies: readonly BodyRow[]) => void) | undefined;

  constructor(private readonly client: Database) {}

  writeBatch(rows: readonly RowValues[], bodies: readonly BodyRow[]): void {
    // Prepared at the first write, so a database that cannot take them yet (a table renamed away,
    // a file not writable) is one more storage failure to retry, not an error at start.
    (this.write ??= prepareWrite(this.client))(rows, bodies);
  }
}

const ROLLUP = `INSERT INTO "spend_daily" ("day", "client", "provider", "model", "requests", "errors", "input_tokens", "output_tokens", "cost_usd")
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT ("day", "client", "provider", "model") DO UPDATE SET
    "requests" = "requests" + excluded."requests", "errors" = "errors" + excluded."errors",
    "input_tokens" = "input_tokens" + excluded."input_tokens", "output_tokens" = "output_tokens" + excluded."output_tokens",
    "cost_usd" = "cost_usd" + excluded."cost_usd"`;
const INSERT_BODY = `INSERT INTO "request_bodies" ("ts", "request_id", "request", "response", "truncated") VALUES (?, ?, ?, ?, ?)`;

function prepareWrite(client: Database): (rows: readonly RowValues[], bodies: readonly BodyRow[]) => void {
  // Positional values: a raw prepared statement costs half of a query builder's per-row placeholder
  // mapping. Several rows per statement: each run() crossing into SQLite costs about as much as a row.
  const names = COLUMN_NAMES.map((c) => `"${c}"`).join(", ");
  const tuple = `(${COLUMNS.map(() => "?").join(", ")})`;
  const insert = client.prepare(`INSERT INTO "requests" (${names}) VALUES ${tuple}`);
  const insertMany = client.prepare(`INSERT INTO "requests" (${names}) VALUES ${Array(ROWS_PER_INSERT).fill(tuple).join(", ")}`);
  const rollup = client.prepare(ROLLUP);
  const insertBody = client.prepare(INSERT_BODY);
  return client.transaction((rows: readonly RowValues[], bodies: readonly BodyRow[]) => {
    let i = 0;
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
      const values: RowValue[] = [];
      for (let j = i; j < i + ROWS_PER_INSERT; j++) for (const v of rows[j]!) values.push(v);
      insertMany.run(...values);
    }
    for (; i < rows.length; i++) insert.run(...rows[i]!);
    for (const g of rollupOf(rows)) rollup.run(g.day, g.client, g.provider, g.model, g.requests, g.errors, g.inputTokens, g.outputTokens, g.costUsd);
    for (const b of bodies) insertBody.run(b.ts, b.requestId, b.request ?? null, b.response ?? null, b.truncated ? 1 : 0);
  });
}

interface RollupGroup {
  day: string;
  client: string;
  provider: string;
  model: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

function rollupOf(rows: readonly RowValues[]): Iterable<RollupGroup> {
  const groups = new Map<string, RollupGroup>();
  for (const row of rows) {
    const day = dayKey(row[TS] as number);
    const client = (row[CLIENT] as string | null) ?? "";
    const provider = (row[PROVIDER] as string | null) ?? "";
    const model = (row[MODEL] as string | null) ?? "";
    const key = `${day}\0${client}\0${provider}\0${model}`;
    let g = groups.get(key);
    if (!g) {
      g = { day, client, provider, model, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      groups.set(key, g);
    }
    g.requests++;
    if ((row[STATUS] as number) >= 400) g.errors++;
    g.inputTokens += row[INPUT] as number;
    g.outputTokens += row[OUTPUT] as number;
    g.costUsd += row[COST] as number;
  }
  return groups.values();
}
