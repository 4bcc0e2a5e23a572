import type { Elysia } from "elysia";
import type { ResolvedConfig } from "../config/resolve";
import { isAdmin } from "../governance/auth";
import type { Governance } from "../governance/governance";
import type { HealthEntry } from "../health/entry";
import type { RequestRow } from "../store/schema";

// Prometheus text exposition (format 0.0.4) of what lmrelay does: request, attempt, failover,
// token and cost counters and latency/TTFT histograms, fed once per request from its audit row;
// gauges (in flight, cooldowns, audit queue…) read when scraped. Labels are ids from the config
// and upstream model names from catalogs — never the requested model, which a client controls.

type Labels = Record<string, string>;

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabel(v: string): string {
  // Ids and model names almost never need it: test once instead of three replaces per value.
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

/** `{k="v",…}`, at scrape time. */
function labelText(labels: Labels): string {
  let out = "";
  for (const k in labels) out += `${out ? "," : "{"}${k}="${escapeLabel(labels[k]!)}"`;
  return out ? `${out}}` : "";
}

/** The series' lookup key: its label values, unescaped and unformatted (the exposition text is
 *  built at scrape time only). Label sets of one metric always have the same keys in one order. */
function seriesKey(labels: Labels): string {
  let out = "";
  for (const k in labels) out += `${labels[k]}\u0001`;
  return out;
}

function number(v: number): string {
  if (v === Infinity) return "+Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

interface CounterCell {
  labels: Labels;
  value: number;
}

class Counter {
  private values = new Map<string, CounterCell>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The series for these labels, created on first use (a series appears once it is counted). */
  cell(labels: Labels): CounterCell {
    const key = seriesKey(labels);
    let cur = this.values.get(key);
    if (!cur) this.values.set(key, (cur = { labels, value: 0 }));
    return cur;
  }

  inc(labels: Labels, by = 1): void {
    this.cell(labels).value += by;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.values.values()) out.push(`${this.name}${labelText(labels)} ${number(value)}`);
  }
}

interface HistogramSeries {
  labels: Labels;
  buckets: readonly number[];
  counts: number[];
  sum: number;
  count: number;
}

function observeIn(s: HistogramSeries, value: number): void {
  const { buckets, counts } = s;
  for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) counts[i]!++;
  s.sum += value;
  s.count++;
}

class Histogram {
  private series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  cell(labels: Labels): HistogramSeries {
    const key = seriesKey(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, buckets: this.buckets, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    return s;
  }

  observe(labels: Labels, value: number): void {
    observeIn(this.cell(labels), value);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: number(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${number(s.sum)}`, `${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
  }
}

export interface GaugeSample {
  labels?: Labels;
  value: number;
}

interface Gauge {
  name: string;
  help: string;
  type: "gauge" | "counter";
  collect(): GaugeSample[];
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

interface RequestSeries {
  where: Labels;
  requests: CounterCell;
  latency?: HistogramSeries;
  ttft?: HistogramSeries;
  input?: CounterCell;
  output?: CounterCell;
  cached?: CounterCell;
  cost?: CounterCell;
}

interface AttemptSeries {
  labels: Labels;
  attempts: CounterCell;
  failovers?: CounterCell;
}

interface AttemptLike {
  outcome?: string;
  provider?: string;
  model?: string;
  status?: number;
}

export class Metrics {
  private readonly requests = new Counter("lmrelay_requests_total", "Inbound requests by outcome.");
  private readonly latency = new Histogram("lmrelay_request_duration_seconds", "Time from request to the end of the answer.", LATENCY_BUCKETS);
  private readonly ttft = new Histogram("lmrelay_time_to_first_token_seconds", "Time from request to the first answer token.", TTFT_BUCKETS);
  private readonly tokens = new Counter("lmrelay_tokens_total", "Tokens by direction (input includes cached).");
  private readonly cost = new Counter("lmrelay_cost_usd_total", "Spend in USD from usage and prices.");
  private readonly attempts = new Counter("lmrelay_upstream_attempts_total", "Upstream attempts by upstream status (0 = no response).");
  private readonly failovers = new Counter("lmrelay_failovers_total", "Attempts that failed and were followed by another attempt.");
  private readonly gauges: Gauge[] = [];

  /** Per (protocol, client, provider, model, status): the series a request of that kind counts in,
   *  found with one lookup instead of a label object and key per series per request. */
  private readonly requestSeries = new Map<string, RequestSeries>();
  /** Per (provider, model, status): the attempt and failover series. */
  private readonly attemptSeries = new Map<string, AttemptSeries>();

  /** Records one finished request from its (priced) audit row. */
  observe(row: RequestRow, attempts: readonly unknown[] = []): void {
    const provider = row.provider ?? "";
    const model = row.model ?? "";
    const client = row.client ?? "";
    const key = `${row.protocol}\u0001${client}\u0001${provider}\u0001${model}\u0001${row.status}`;
    let s = this.requestSeries.get(key);
    if (!s) {
      s = { where: { provider, model, client }, requests: this.requests.cell({ protocol: row.protocol, client, provider, model, status: String(row.status) }) };
      this.requestSeries.set(key, s);
    }
    s.requests.value++;
    if (provider) {
      const { where } = s;
      observeIn((s.latency ??= this.latency.cell(where)), row.latencyMs / 1000);
      if (row.ttftMs != null) observeIn((s.ttft ??= this.ttft.cell(where)), row.ttftMs / 1000);
      if (row.inputTokens) (s.input ??= this.tokens.cell({ ...where, type: "input" })).value += row.inputTokens;
      if (row.outputTokens) (s.output ??= this.tokens.cell({ ...where, type: "output" })).value += row.outputTokens;
      if (row.cachedTokens) (s.cached ??= this.tokens.cell({ ...where, type: "cached" })).value += row.cachedTokens;
      if (row.costUsd) (s.cost ??= this.cost.cell(where)).value += row.costUsd;
    }
    let tried = 0;
    for (const a of attempts as AttemptLike[]) if (a && a.outcome !== "skipped") tried++;
    let i = 0;
    for (const a of attempts as AttemptLike[]) {
      if (!a || a.outcome === "skipped") continue;
      const series = this.attemptSeriesOf(a.provider ?? "", a.model ?? "", a.status ?? 0);
      series.attempts.value++;
      if (++i < tried) (series.failovers ??= this.failovers.cell(series.labels)).value++;
    }
  }

  private attemptSeriesOf(provider: string, model: string, status: number): AttemptSeries {
    const key = `${provider}\u0001${model}\u0001${status}`;
    let s = this.attemptSeries.get(key);
    if (!s) {
      const labels = { provider, model, status: String(status) };
      this.attemptSeries.set(key, (s = { labels, attempts: this.attempts.cell(labels) }));
    }
    return s;
  }

  /** A value read at scrape time. */
  gauge(name: string, help: string, collect: () => GaugeSample[] | number, type: "gauge" | "counter" = "gauge"): void {
    this.gauges.push({ name, help, type, collect: () => toSamples(collect()) });
  }

  render(): string {
    const out: string[] = [];
    for (const m of [this.requests, this.latency, this.ttft, this.tokens, this.cost, this.attempts, this.failovers]) m.render(out);
    for (const g of this.gauges) {
      let samples: GaugeSample[];
      try {
        samples = g.collect();
      } catch {
        continue; // a broken source must not break the scrape
      }
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.type}`);
      for (const s of samples) out.push(`${g.name}${labelText(s.labels ?? {})} ${number(s.value)}`);
    }
    return out.join("\n") + "\n";
  }
}

function toSamples(v: GaugeSample[] | number): GaugeSample[] {
  return typeof v === "number" ? [{ value: v }] : v;
}

const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** `GET /metrics`: open, or behind the admin key when `metrics: { auth: true }`. */
export function registerMetricsRoute(app: Elysia, metrics: Metrics, config: () => ResolvedConfig): void {
  app.get("/metrics", ({ request }) => {
    const cfg = config();
    if (cfg.metricsAuth && !isAdmin(cfg, request.headers))
      return new Response(JSON.stringify({ error: { message: "lmrelay: /metrics needs the admin key (Authorization: Bearer or x-api-key)", type: "invalid_request_error", code: "invalid_api_key" } }), {
        status: 401,
        headers: { "content-type": "application/json", "www-authenticate": "Bearer" },
      });
    return new Response(metrics.render(), { headers: { "content-type": CONTENT_TYPE } });
  });
}

/** What the scrape-time gauges read from a running server. */
export interface GaugeSources {
  inFlight: number;
  gateway: { openAnswers: number };
  audit: { depth: number; dropped: number; droppedBodies: number; written: number };
  config: ResolvedConfig;
  governance: Governance;
  /** Health records (router/health), when the server keeps them. */
  health?: { all(): Iterable<HealthEntry> };
  /** This node's name, when several nodes share state or storage (SPEC §8). */
  node?: string;
  /** Shared state on Redis (`cluster`). */
  cluster?: { up: boolean };
  /** Shared audit store (`storage.postgres`): whether it answers, and rows waiting in the spool. */
  postgres?: { up: boolean; pending: number };
  telemetry: { stats(): { exported: number; dropped: number; queued: number } };
  cache: { memorySize: { entries: number; bytes: number } };
}

export function registerRuntimeGauges(metrics: Metrics, rt: GaugeSources): void {
  metrics.gauge("lmrelay_in_flight", "Requests and streams being served now.", () => rt.inFlight + rt.gateway.openAnswers);
  registerClusterGauges(metrics, rt);
  metrics.gauge("lmrelay_client_in_flight", "Requests in flight per client (concurrency limits).", () =>
    [...rt.config.clients.values()].map((c) => ({ labels: { client: c.id }, value: rt.governance.usage(c).inFlight })),
  );
  metrics.gauge("lmrelay_client_budget_spent_usd", "Spend in the current budget period, per client with a budget.", () =>
    [...rt.config.clients.values()]
      .filter((c) => c.budget)
      .map((c) => ({ labels: { client: c.id, per: c.budget!.per }, value: rt.governance.usage(c).budget?.spentUsd ?? 0 })),
  );
  metrics.gauge("lmrelay_cooldowns", "Upstream targets cooling down or disabled now.", () => cooldownSamples(rt.health));
  metrics.gauge("lmrelay_audit_queue_depth", "Audit rows and bodies waiting to be written.", () => rt.audit.depth);
  metrics.gauge("lmrelay_audit_written_total", "Audit rows written.", () => rt.audit.written, "counter");
  metrics.gauge(
    "lmrelay_audit_dropped_total",
    "Audit rows and captured bodies dropped because the queue was full.",
    () => [
      { labels: { what: "rows" }, value: rt.audit.dropped },
      { labels: { what: "bodies" }, value: rt.audit.droppedBodies },
    ],
    "counter",
  );
  metrics.gauge(
    "lmrelay_trace_spans_total",
    "Trace spans by fate: exported to the OTLP endpoint, or dropped (queue full, export failed).",
    () => {
      const s = rt.telemetry.stats();
      return [
        { labels: { outcome: "exported" }, value: s.exported },
        { labels: { outcome: "dropped" }, value: s.dropped },
      ];
    },
    "counter",
  );
  metrics.gauge("lmrelay_cache_memory_bytes", "Size of the answers held by the in-memory response cache.", () => rt.cache.memorySize.bytes);
  metrics.gauge("lmrelay_cache_memory_entries", "Answers held by the in-memory response cache.", () => rt.cache.memorySize.entries);
  metrics.gauge("lmrelay_trace_queue_depth", "Trace spans waiting to be exported.", () => rt.telemetry.stats().queued);
}

/** Only on a node of several (SPEC §8): which node this is, and whether its engines answer. */
function registerClusterGauges(metrics: Metrics, rt: GaugeSources): void {
  const node = rt.node;
  if (node === undefined) return;
  metrics.gauge("lmrelay_cluster_node_info", "This node's name (cluster.node); join other series on the scrape target.", () => [{ labels: { node }, value: 1 }]);
  const cluster = rt.cluster;
  if (cluster) metrics.gauge("lmrelay_cluster_redis_up", "1 while the shared Redis answers, 0 while this node decides limits alone.", () => [{ labels: { node }, value: cluster.up ? 1 : 0 }]);
  if (rt.config.postgres) {
    metrics.gauge("lmrelay_cluster_postgres_up", "1 while PostgreSQL takes the audit rows, 0 while they wait in the spool.", () => [
      { labels: { node }, value: rt.postgres?.up ? 1 : 0 },
    ]);
    metrics.gauge("lmrelay_cluster_spool_rows", "Audit rows in this node's spool not yet in PostgreSQL.", () => [{ labels: { node }, value: rt.postgres?.pending ?? 0 }]);
  }
}

function cooldownSamples(health: GaugeSources["health"]): GaugeSample[] {
  if (!health) return [];
  const now = Date.now();
  const counts = new Map<string, number>();
  for (const e of health.all()) {
    const kind = e.disabled ? "disabled" : e.cooldownUntil !== undefined && e.cooldownUntil > now ? (e.cooldownKind ?? "cooling") : undefined;
    if (!kind) continue;
    const key = `${e.provider}\0${kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, value]) => {
    const [provider, kind] = key.split("\0") as [string, string];
    return { labels: { provider, kind }, value };
  });
}
