import { PRICES_AS_OF } from "../governance/pricing-table";
import { parseSince, type RequestStats, type StatsLine } from "../store/queries";
import type { AuditReader } from "../store/reader";
import { type ParsedArgs, unknownFlags } from "./args";
import { openAuditReader } from "./auditdb";
import { type Output, usd } from "./logs";

// `lmrelay stats`: requests, errors, p50/p95 latency, tokens and spend over a window (`--since`,
// default 24h), in total and by client, provider, model and (several nodes) node; `--json` for scripts. Models that
// used tokens without a known price are listed: their cost counts as 0.

const FLAGS = ["config", "db", "since", "json", "env-file"] as const;

const stdio: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

function fmtMs(v: number | null): string {
  if (v == null) return "-";
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
}

function table(title: string, lines: StatsLine[]): string[] {
  const head = [title, "requests", "errors", "p50", "p95", "ttft p50", "input", "output", "spend"];
  const rows = lines.map((l) => [
    l.name,
    String(l.requests),
    l.errors ? `${l.errors} (${((l.errors / l.requests) * 100).toFixed(1)}%)` : "0",
    fmtMs(l.p50Ms),
    fmtMs(l.p95Ms),
    fmtMs(l.ttftP50Ms),
    String(l.inputTokens),
    String(l.outputTokens),
    usd(l.costUsd),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [fmt(head), ...rows.map(fmt)];
}

export function renderStats(s: RequestStats): string {
  const t = s.total;
  const out = [
    `lmrelay stats ${new Date(s.since).toISOString()} → ${new Date(s.until).toISOString()}`,
    `requests ${t.requests}   errors ${t.errors}   p50 ${fmtMs(t.p50Ms)}   p95 ${fmtMs(t.p95Ms)}   tokens ${t.inputTokens} in / ${t.outputTokens} out   spend ${usd(t.costUsd)}`,
  ];
  if (t.requests === 0) return out.concat("no requests in this window").join("\n") + "\n";
  out.push("", ...table("client", s.byClient), "", ...table("provider", s.byProvider), "", ...table("model", s.byModel));
  // Several nodes (`cluster.node` on the rows): where the traffic went.
  if (s.byNode.some((l) => l.name !== "(none)")) out.push("", ...table("node", s.byNode));
  if (s.unpriced.length)
    out.push(
      "",
      `unpriced (cost counted as 0; set the provider's \`pricing\`; built-in prices as of ${PRICES_AS_OF}):`,
      ...s.unpriced.map((u) => `  ${u.model}  ${u.requests} request${u.requests === 1 ? "" : "s"}`),
    );
  return out.join("\n") + "\n";
}

export async function statsCommand(args: ParsedArgs, io: Output = stdio): Promise<number> {
  const bad = unknownFlags(args, FLAGS);
  if (bad) {
    io.err(`lmrelay stats: ${bad}\n`);
    return 2;
  }
  const sinceFlag = args.flags.get("since") ?? "24h";
  const since = sinceFlag === true ? undefined : parseSince(sinceFlag);
  if (since === undefined) {
    io.err(`lmrelay stats: --since takes a duration (30m, 24h, 7d) or a date (2025-11-01)\n`);
    return 1;
  }
  let source: { reader: AuditReader; close(): Promise<void> };
  try {
    source = await openAuditReader(args);
  } catch (e) {
    io.err(`lmrelay stats: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const stats = await source.reader.requestStats(since);
    io.out(args.flags.get("json") === true ? JSON.stringify(stats, null, 2) + "\n" : renderStats(stats));
    return 0;
  } catch (e) {
    io.err(`lmrelay stats: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await source.close();
  }
}
