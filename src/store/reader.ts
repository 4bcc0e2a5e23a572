import type { Db } from "./db";
import { type AuditRecord, listRequests, type RequestFilter, type RequestStats, requestStats } from "./queries";
import { clientSpend, type DayRange, type SpendDimension, type SpendLine, spendBy } from "./spend";

// Where the audit log is read from: this node's SQLite file, or with `storage.postgres` the
// database every node writes to (SPEC §8), so `lmrelay logs`/`stats` and the admin API on any node
// show every node's requests. One interface, so the views do not care which.

export interface AuditReader {
  readonly shared: boolean;
  listRequests(f: RequestFilter): Promise<AuditRecord[]>;
  spendBy(dimension: SpendDimension, range: DayRange): Promise<SpendLine[]>;
  clientSpend(client: string, range: DayRange): Promise<number>;
  requestStats(since: number, until?: number): Promise<RequestStats>;
}

export function sqliteReader(db: Db): AuditReader {
  return {
    shared: false,
    listRequests: async (f) => listRequests(db, f),
    spendBy: async (d, r) => spendBy(db, d, r),
    clientSpend: async (c, r) => clientSpend(db, c, r),
    requestStats: async (since, until) => requestStats(db, since, until),
  };
}
