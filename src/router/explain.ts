// Explainable routing: every candidate the router considered for a request — served, failed (with
// what) or skipped (and why) — as audit JSON, as the compact `x-lmrelay-route` header and as the
// attempt list of an error message. Names and fingerprints only, never a key.

export interface AttemptRecord {
  outcome: "served" | "failed" | "skipped";
  provider: string;
  model: string;
  /** Key name (configured name, else its fingerprint). */
  key?: string;
  fingerprint?: string;
  /** HTTP status of the attempt (0: no answer, e.g. connection refused; 0 for skips). */
  status: number;
  latencyMs?: number;
  /** What failed, as the upstream (or lmrelay) said it. */
  error?: string;
  /** Error class (failed) or why it was not tried (skipped). */
  reason?: string;
  /** When a skipped target becomes available again (ms since epoch). */
  until?: number;
  /** Skipped for its context window: the window, tokens. */
  window?: number;
}

const MAX_HEADER = 1500;

function who(r: AttemptRecord): string {
  return `${r.provider}/${r.model}${r.key ? `[${r.key}]` : ""}`;
}

function when(until: number | undefined): string {
  return until === undefined ? "" : ` until ${new Date(until).toISOString()}`;
}

const NEEDS_CLEANING = /[,;]|[^\x20-\x7e]/;

/** Header values are visible ASCII; `,` and `;` separate the parts. Names almost never need it:
 *  one test instead of two replaces per part. */
function clean(s: string): string {
  return NEEDS_CLEANING.test(s) ? s.replace(/[,;]/g, " ").replace(/[^\x20-\x7e]/g, "?") : s;
}

/** `served=a/m[k]; failed=b/m[k] 429 rate_limited, c/m 0 connection; skipped=d/m cooldown until T` */
export function routeHeader(records: AttemptRecord[], note?: string): string {
  const served: string[] = [];
  const failed: string[] = [];
  const skipped: string[] = [];
  for (const r of records) {
    if (r.outcome === "served") served.push(clean(who(r)));
    else if (r.outcome === "failed") failed.push(clean(`${who(r)} ${r.status} ${r.reason ?? "error"}`));
    else skipped.push(clean(`${who(r)} ${r.reason ?? "skipped"}${when(r.until)}`));
  }
  const parts: string[] = [];
  if (served.length) parts.push(`served=${served.join(",")}`);
  if (failed.length) parts.push(`failed=${failed.join(",")}`);
  if (skipped.length) parts.push(`skipped=${skipped.join(",")}`);
  if (note) parts.push(`note=${clean(note)}`);
  const value = parts.join("; ") || "none";
  return value.length > MAX_HEADER ? `${value.slice(0, MAX_HEADER - 3)}...` : value;
}

/** Attempts that reached an upstream (served or failed). */
export function triedCount(records: AttemptRecord[]): number {
  let n = 0;
  for (const r of records) if (r.outcome !== "skipped") n++;
  return n;
}

/** For error messages: `b/m [k]: 429 rate limited ...; d/m: skipped, cooldown until T`. */
export function describeAttempts(records: AttemptRecord[]): string {
  return records
    .map((r) =>
      r.outcome === "skipped"
        ? `${who(r)}: skipped, ${r.reason ?? "unavailable"}${when(r.until)}`
        : `${who(r)}: ${r.status || "no response"}${r.error ? ` ${r.error}` : ""}`,
    )
    .join("; ");
}

/** Headers a relayed answer (or a routing error) carries. `x-lmrelay-route` names provider ids,
 *  key names and other providers' failures: only for whom the config or the admin key allows. */
export function explainHeaders(records: AttemptRecord[], note?: string, withRoute = true): Record<string, string> {
  const attempts = String(triedCount(records));
  return withRoute ? { "x-lmrelay-attempts": attempts, "x-lmrelay-route": routeHeader(records, note) } : { "x-lmrelay-attempts": attempts };
}
