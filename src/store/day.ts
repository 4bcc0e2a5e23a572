// UTC day keys (YYYY-MM-DD) of audit rows and budgets. A module of its own, with no imports, so the
// audit writer thread can use it without loading the query builder.

const DAY_MS = 86_400_000;
/** The last day formatted: every audit row asks, and nearly all fall on the same day. */
let lastDay = Number.NaN;
let lastKey = "";

export function dayKey(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== lastDay) {
    lastKey = new Date(ms).toISOString().slice(0, 10);
    lastDay = day;
  }
  return lastKey;
}
