import { type AuditRecord, parseSince, type RequestFilter, statusCondition } from "../store/queries";
import type { AuditReader } from "../store/reader";
import { type ParsedArgs, unknownFlags } from "./args";
import { openAuditReader } from "./auditdb";

// `lmrelay logs`: the audit log, newest last, filtered by client, model, provider, status and
// time; `--json` prints one JSON object per line (attempts included) for scripts.

const FLAGS = ["config", "db", "client", "model", "provider", "node", "status", "since", "limit", "json", "env-file"] as const;

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Reads the filter flags shared with `stats`; throws with a message for a bad value. */
export function filterFromArgs(args: ParsedArgs): RequestFilter {
  const f: RequestFilter = {};
  for (const k of ["client", "model", "provider", "status", "node"] as const) {
    const v = args.flags.get(k);
    if (v === true) throw new Error(`--${k} needs a value`);
    if (v) f[k] = v;
  }
  if (f.status) statusCondition(f.status);
  const since = args.flags.get("since");
  if (since !== undefined) {
    const ms = since === true ? undefined : parseSince(since);
    if (ms === undefined) throw new Error(`--since takes a duration (30m, 24h, 7d) or a date (2025-11-01), got ${since === true ? "nothing" : `"${since}"`}`);
    f.since = ms;
  }
  const limit = args.flags.get("limit");
  if (limit !== undefined) {
    const n = Number(limit);
    if (limit === true || !Number.isInteger(n) || n < 1) throw new Error(`--limit takes a positive number`);
    f.limit = n;
  }
  return f;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function ms(v: number | null): string {
  if (v == null) return "-";
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
}

export function usd(v: number): string {
  if (v === 0) return "$0";
  return v < 0.01 ? `$${v.toFixed(6)}` : `$${v.toFixed(4)}`;
}

/** Column names, padded as `line` pads the values under them. */
const COLUMNS = [
  pad("request", 16),
  pad("client", 10),
  pad("protocol", 9),
  pad("model asked", 24),
  pad("served by", 32),
  "status",
  pad("latency", 7),
  pad("first token", 12),
  pad("tokens in→out", 12),
  pad("cost", 10),
  "attempts",
];
const HEADER = [pad("time (UTC)", 23), ...COLUMNS].join("  ");
/** With several nodes in the log (rows carry `cluster.node`), a node column after the time. */
const NODE_HEADER = [pad("time (UTC)", 23), pad("node", 12), ...COLUMNS].join("  ");

function line(r: AuditRecord, nodes: boolean): string {
  const target = r.provider ? `${r.provider}/${r.model}` : "-";
  const tried = r.attempts.filter((a) => (a as { outcome?: string }).outcome !== "skipped").length;
  const cols = [
    r.time.replace("T", " ").slice(0, 23),
    ...(nodes ? [pad(r.node ?? "-", 12)] : []),
    pad(r.requestId, 16),
    pad(r.client ?? "-", 10),
    pad(r.protocol, 9),
    pad(r.requestedModel ?? "-", 24),
    pad(target, 32),
    pad(String(r.status), 6),
    pad(ms(r.latencyMs), 7),
    pad(ms(r.ttftMs), 12),
    pad(`${r.inputTokens}→${r.outputTokens}${r.usageEstimated ? "~" : ""}`, 12),
    pad(usd(r.costUsd) + (r.unpriced ? "?" : ""), 10),
    tried > 1 ? `${tried} attempts` : String(tried),
  ];
  const text = cols.join("  ").trimEnd();
  return r.error ? `${text}\n    ${r.error.length > 300 ? r.error.slice(0, 300) + "…" : r.error}` : text;
}

export async function logsCommand(args: ParsedArgs, io: Output = stdio): Promise<number> {
  const bad = unknownFlags(args, FLAGS);
  if (bad) {
    io.err(`lmrelay logs: ${bad}\n`);
    return 2;
  }
  let filter: RequestFilter;
  let source: { reader: AuditReader; close(): Promise<void> };
  try {
    filter = filterFromArgs(args);
    source = await openAuditReader(args);
  } catch (e) {
    io.err(`lmrelay logs: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const rows = (await source.reader.listRequests({ limit: 50, ...filter })).reverse();
    // A node column once several nodes share the log (rows carry their `cluster.node`).
    const nodes = rows.some((r) => r.node);
    if (args.flags.get("json") === true) {
      for (const r of rows) io.out(JSON.stringify(r) + "\n");
    } else if (rows.length === 0) io.out("no requests match\n");
    else {
      io.out((nodes ? NODE_HEADER : HEADER) + "\n" + rows.map((r) => line(r, nodes)).join("\n") + "\n");
      const marks = rows.some((r) => r.usageEstimated) || rows.some((r) => r.unpriced);
      if (marks) io.out("(~ = usage estimated by lmrelay; ? = no price known for the model)\n");
    }
    return 0;
  } catch (e) {
    io.err(`lmrelay logs: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await source.close();
  }
}
