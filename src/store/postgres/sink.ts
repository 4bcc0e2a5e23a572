import { sql } from "drizzle-orm";
import { dayKey } from "../spend";
import type { PgDb } from "./db";
import { requests, spendDaily } from "./schema";
import type { PgRequestRow } from "./schema";

// Writes a batch of audit rows to PostgreSQL, idempotently: a row is known by (spool, local id),
// a replayed row inserts nothing, and the daily spend rollup adds only the rows that were new
// (the insert's RETURNING), all in one transaction, so rows and rollup never disagree and a batch
// sent twice (a node killed between writing and noting it) changes nothing the second time.

/** Rows per INSERT: 28 columns each, far below PostgreSQL's 65535 parameters. */
const ROWS_PER_INSERT = 200;

export interface AuditSink {
  /** Writes the rows (each carrying its spool and local id); returns how many were new. */
  writeBatch(rows: PgRequestRow[]): Promise<number>;
}

export class PostgresSink implements AuditSink {
  constructor(private readonly db: PgDb) {}

  async writeBatch(rows: PgRequestRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      const added: Pick<PgRequestRow, "ts" | "client" | "provider" | "model" | "status" | "inputTokens" | "outputTokens" | "costUsd">[] = [];
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const part = await tx
          .insert(requests)
          .values(rows.slice(i, i + ROWS_PER_INSERT))
          .onConflictDoNothing({ target: [requests.spool, requests.localId] })
          .returning({
            ts: requests.ts,
            client: requests.client,
            provider: requests.provider,
            model: requests.model,
            status: requests.status,
            inputTokens: requests.inputTokens,
            outputTokens: requests.outputTokens,
            costUsd: requests.costUsd,
          });
        added.push(...part);
      }
      const groups = rollupOf(added);
      if (groups.length)
        await tx
          .insert(spendDaily)
          .values(groups)
          .onConflictDoUpdate({
            target: [spendDaily.day, spendDaily.client, spendDaily.provider, spendDaily.model],
            set: {
              requests: sql`${spendDaily.requests} + excluded.requests`,
              errors: sql`${spendDaily.errors} + excluded.errors`,
              inputTokens: sql`${spendDaily.inputTokens} + excluded.input_tokens`,
              outputTokens: sql`${spendDaily.outputTokens} + excluded.output_tokens`,
              costUsd: sql`${spendDaily.costUsd} + excluded.cost_usd`,
            },
          });
      return added.length;
    });
  }
}

/** The same rollup as the SQLite writer's (store/audit.ts): per UTC day, client, provider, model. */
function rollupOf(rows: Pick<PgRequestRow, "ts" | "client" | "provider" | "model" | "status" | "inputTokens" | "outputTokens" | "costUsd">[]) {
  const groups = new Map<string, typeof spendDaily.$inferInsert & { requests: number; errors: number; inputTokens: number; outputTokens: number; costUsd: number }>();
  for (const row of rows) {
    const day = dayKey(row.ts);
    const client = row.client ?? "";
    const provider = row.provider ?? "";
    const model = row.model ?? "";
    const key = `${day}\0${client}\0${provider}\0${model}`;
    let g = groups.get(key);
    if (!g) {
      g = { day, client, provider, model, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      groups.set(key, g);
    }
    g.requests++;
    if (row.status >= 400) g.errors++;
    g.inputTokens += row.inputTokens ?? 0;
    g.outputTokens += row.outputTokens ?? 0;
    g.costUsd += row.costUsd ?? 0;
  }
  return [...groups.values()];
}
