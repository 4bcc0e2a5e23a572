const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };

/** A Go duration (`6m0s`, `1h2m`, `1.5s`, `20ms`) or bare seconds (`30`, `0.5`), in ms. Upstreams
 *  write their rate-limit resets this way, and the config's durations (`cache.ttl`) read the same. */
export function parseDurationMs(text: string): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = m.index + m[0].length;
  }
  return consumed === t.length && consumed > 0 ? Math.round(total) : undefined;
}
