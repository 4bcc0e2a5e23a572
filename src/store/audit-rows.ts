import type { Database } from "bun:sqlite";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { dayKey } from "./spend";
import { type BodyRow, type RequestRow, requestBodies, requests, spendDaily } from "./schema";

// An audit row travels as a flat tuple of column values (COLUMNS order): the request thread builds
// it with a few array pushes, a batch of them crosses to the writer thread as one structured-clone-
// cheap array of primitives, and SQLite binds it positionally. The sink is the one place that
// knows where rows go (`writeBatch`): SQLite here; another store can stand behind the same call.

export const COLUMNS = [
  "ts", "requestId", "protocol", "endpoint", "client", "requestedModel", "provider", "model", "keyName", "status", "stream",
  "latencyMs", "ttftMs", "inputTokens", "outputTokens", "cachedTokens", "cacheWriteTokens", "usageEstimated", "costUsd",
  "unpriced", "error", "attempts", "adjusted", "node", "cacheHit",
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

const p = (name: string) => sql.placeholder(name);

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

function prepareWrite(client: Database): (rows: readonly RowValues[], bodies: readonly BodyRow[]) => void {
  const db = drizzle({ client });
  // A raw prepared statement with positional values costs half of drizzle's per-row placeholder
  // mapping; column names come from the schema, so they stay in step. Several rows per statement:
  // each run() crossing into SQLite costs about as much as a row.
  const names = COLUMNS.map((c) => `"${requests[c].name}"`).join(", ");
  const tuple = `(${COLUMNS.map(() => "?").join(", ")})`;
  const insert = client.prepare(`INSERT INTO "requests" (${names}) VALUES ${tuple}`);
  const insertMany = client.prepare(`INSERT INTO "requests" (${names}) VALUES ${Array(ROWS_PER_INSERT).fill(tuple).join(", ")}`);
  const rollup = db
    .insert(spendDaily)
    .values({
      day: p("day"),
      client: p("client"),
      provider: p("provider"),
      model: p("model"),
      requests: p("requests"),
      errors: p("errors"),
      inputTokens: p("inputTokens"),
      outputTokens: p("outputTokens"),
      costUsd: p("costUsd"),
    } as never)
    .onConflictDoUpdate({
      target: [spendDaily.day, spendDaily.client, spendDaily.provider, spendDaily.model],
      set: {
        requests: sql`${spendDaily.requests} + excluded.requests`,
        errors: sql`${spendDaily.errors} + excluded.errors`,
        inputTokens: sql`${spendDaily.inputTokens} + excluded.input_tokens`,
        outputTokens: sql`${spendDaily.outputTokens} + excluded.output_tokens`,
        costUsd: sql`${spendDaily.costUsd} + excluded.cost_usd`,
      },
    })
    .prepare();
  const insertBody = db
    .insert(requestBodies)
    .values({ ts: p("ts"), requestId: p("requestId"), request: p("request"), response: p("response"), truncated: p("truncated") } as never)
    .prepare();
  return client.transaction((rows: readonly RowValues[], bodies: readonly BodyRow[]) => {
    let i = 0;
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
      const values: RowValue[] = [];
      for (let j = i; j < i + ROWS_PER_INSERT; j++) for (const v of rows[j]!) values.push(v);
      insertMany.run(...values);
    }
    for (; i < rows.length; i++) insert.run(...rows[i]!);
    for (const group of rollupOf(rows)) rollup.run(group);
    for (const b of bodies) insertBody.run({ ts: b.ts, requestId: b.requestId, request: b.request ?? null, response: b.response ?? null, truncated: b.truncated ? 1 : 0 });
  });
}

function rollupOf(rows: readonly RowValues[]): Record<string, unknown>[] {
  const groups = new Map<string, Record<string, number | string>>();
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
    (g.requests as number)++;
    if ((row[STATUS] as number) >= 400) (g.errors as number)++;
    (g.inputTokens as number) += row[INPUT] as number;
    (g.outputTokens as number) += row[OUTPUT] as number;
    (g.costUsd as number) += row[COST] as number;
  }
  return [...groups.values()];
}
