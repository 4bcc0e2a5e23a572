import type { Logger } from "../../log/logger";
import type { AuditReader } from "../reader";
import { connectPostgres, type PgDb } from "./db";
import { postgresReader } from "./queries";
import { PostgresResponseStore } from "./responses";
import { SpoolShipper } from "./shipper";

// A node's side of `storage.postgres`: the connection, the shipper that moves its spool there and
// the reader the admin API uses. Loaded only when configured (the runtime imports this module
// lazily), so a single node never loads the PostgreSQL driver.

export interface PostgresStorage {
  db: PgDb;
  shipper: SpoolShipper;
  reader: AuditReader;
  /** The Responses API store every node shares (loaded with this module, only when configured). */
  responses(retentionDays: () => number, onError: (err: unknown) => void): Promise<PostgresResponseStore>;
  stop(drainMs?: number): Promise<void>;
}

export function openPostgresStorage(url: string, spoolFile: string, log: Logger): PostgresStorage {
  const db = connectPostgres(url);
  const shipper = new SpoolShipper(spoolFile, db, log);
  return {
    db,
    shipper,
    reader: postgresReader(db),
    responses: async (retentionDays, onError) => new PostgresResponseStore(db, retentionDays, onError),
    async stop(drainMs) {
      await shipper.stop(drainMs);
      await db.$client.close({ timeout: 1 }).catch(() => {});
    },
  };
}
