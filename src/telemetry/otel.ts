import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ParentBasedSampler, type SpanExporter, TraceIdRatioBasedSampler, TracerProvider } from "@opentelemetry/sdk-trace";
import type { ResolvedTelemetry } from "../config/resolve";
import type { Redactor } from "../governance/redact";
import type { AttemptSummary, AttemptTrace, RequestTrace, RequestTracer, TraceEnd, TraceStart } from "../core/trace";
import { VERSION } from "../version";
import { SpanQueue, type SpanQueueOptions } from "./queue";

// OpenTelemetry traces (SPEC §9): one SERVER span per request, one CLIENT span per upstream attempt
// (and a zero-length one per skipped candidate), GenAI semantic-convention attributes, exported
// over OTLP/HTTP by the official exporter. Loaded only when the config has `telemetry`.

/** `gen_ai.provider.name` well-known values of the GenAI semantic conventions, by provider type;
 *  other types report their own name. */
const GENAI_PROVIDER: Record<string, string> = {
  openai: "openai",
  azure: "azure.ai.openai",
  anthropic: "anthropic",
  gemini: "gcp.gemini",
  cohere: "cohere",
  mistral: "mistral_ai",
  groq: "groq",
};

export function genAiProviderName(type: string | undefined): string | undefined {
  return type === undefined ? undefined : (GENAI_PROVIDER[type] ?? type);
}

const headerGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

export interface OtelOptions {
  /** Called for content capture; secrets and `audit.redact` matches replaced. */
  redactor(): Redactor;
  queue?: SpanQueueOptions;
}

export class OtelTracer implements RequestTracer {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();
  readonly queue: SpanQueue;
  readonly enabled = true;

  constructor(
    private readonly settings: ResolvedTelemetry,
    private readonly opts: OtelOptions,
  ) {
    const url = `${settings.endpoint.replace(/\/+$/, "")}/v1/traces`;
    const exporterConfig = { url, headers: { ...settings.headers }, timeoutMillis: 10_000 };
    const exporter: SpanExporter = settings.protocol === "http/json" ? new JsonExporter(exporterConfig) : new ProtoExporter(exporterConfig);
    this.queue = new SpanQueue(exporter, opts.queue);
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": settings.serviceName, "service.version": VERSION }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
      spanProcessors: [this.queue],
    });
    this.tracer = this.provider.getTracer("lmrelay", VERSION);
  }

  begin(start: TraceStart): RequestTrace | undefined {
    const parent = start.headers.has("traceparent") ? this.propagator.extract(ROOT_CONTEXT, start.headers, headerGetter) : ROOT_CONTEXT;
    const attributes: Attributes = {
      "gen_ai.operation.name": start.operation,
      "gen_ai.request.model": start.model,
      "lmrelay.protocol": start.protocol,
      "lmrelay.endpoint": start.endpoint,
      "lmrelay.request_id": start.requestId,
      "lmrelay.stream": start.stream,
    };
    if (start.client) attributes["lmrelay.client"] = start.client;
    if (start.alias) attributes["lmrelay.alias"] = start.model;
    const span = this.tracer.startSpan(`${start.operation} ${start.model}`, { kind: SpanKind.SERVER, startTime: start.startMs, attributes }, parent);
    if (!span.isRecording()) return undefined;
    if (this.settings.captureContent && start.content) span.setAttribute("gen_ai.input.messages", this.captured(start.content()));
    return new OtelRequestTrace(this, span, trace.setSpan(parent, span), start.operation);
  }

  startAttempt(name: string, parent: Context, attributes: Attributes): Span {
    return this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  }

  skipped(name: string, parent: Context, attributes: Attributes, at: number): void {
    this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes, startTime: at }, parent).end(at);
  }

  private captured(value: unknown): string {
    const text = typeof value === "string" ? value : JSON.stringify(value ?? null);
    return this.opts.redactor().body(text);
  }

  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

class OtelRequestTrace implements RequestTrace {
  private open: { span: Span; ended: boolean }[] = [];

  constructor(
    private readonly tracer: OtelTracer,
    private readonly span: Span,
    private readonly context: Context,
    private readonly operation: string,
  ) {}

  attempt(providerId: string, providerType: string, model: string, keyFingerprint?: string): AttemptTrace {
    const attributes: Attributes = { "lmrelay.provider": providerId, "gen_ai.request.model": model, "gen_ai.operation.name": this.operation };
    const provider = genAiProviderName(providerType);
    if (provider) attributes["gen_ai.provider.name"] = provider;
    if (keyFingerprint) attributes["lmrelay.key"] = keyFingerprint;
    const span = this.tracer.startAttempt(`${this.operation} ${model}`, this.context, attributes);
    const entry = { span, ended: false };
    this.open.push(entry);
    const sc = span.spanContext();
    const traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1) === 1 ? "01" : "00"}`;
    return {
      traceparent,
      end: (record, ttftMs) => {
        if (entry.ended) return;
        entry.ended = true;
        endAttempt(span, record, ttftMs);
      },
    };
  }

  end(summary: TraceEnd): void {
    const now = Date.now();
    let served: AttemptSummary | undefined;
    for (const r of summary.attempts) {
      if (r.outcome === "served") served = r;
      else if (r.outcome === "skipped") {
        const attributes: Attributes = { "lmrelay.provider": r.provider, "gen_ai.request.model": r.model, "lmrelay.outcome": "skipped" };
        if (r.reason) attributes["lmrelay.reason"] = r.reason;
        if (r.fingerprint) attributes["lmrelay.key"] = r.fingerprint;
        this.tracer.skipped(`${this.operation} ${r.model}`, this.context, attributes, now);
      }
    }
    // The served attempt's span stays open while its answer is relayed: it ends with the answer.
    const failed = summary.status >= 400;
    for (const entry of this.open) {
      if (entry.ended) continue;
      entry.ended = true;
      const base = served ?? { outcome: "failed" as const, provider: "", model: "", status: summary.status };
      endAttempt(entry.span, failed ? { ...base, outcome: "failed", status: summary.status, error: summary.error } : base);
    }
    const s = this.span;
    s.setAttribute("http.response.status_code", summary.status);
    s.setAttribute("lmrelay.attempts", summary.attempts.filter((r) => r.outcome !== "skipped").length);
    if (summary.responseModel) s.setAttribute("gen_ai.response.model", summary.responseModel);
    const provider = genAiProviderName(summary.providerType);
    if (provider) s.setAttribute("gen_ai.provider.name", provider);
    if (summary.provider) s.setAttribute("lmrelay.provider", summary.provider);
    if (summary.inputTokens !== undefined) s.setAttribute("gen_ai.usage.input_tokens", summary.inputTokens);
    if (summary.outputTokens !== undefined) s.setAttribute("gen_ai.usage.output_tokens", summary.outputTokens);
    if (summary.finishReason) s.setAttribute("gen_ai.response.finish_reasons", [summary.finishReason]);
    s.setAttribute("lmrelay.cost_usd", summary.costUsd ?? 0);
    if (summary.status >= 400 || summary.error) {
      s.setAttribute("error.type", String(summary.status));
      s.setStatus({ code: SpanStatusCode.ERROR, message: summary.error });
    }
    s.end();
  }
}

function endAttempt(span: Span, record: AttemptSummary, ttftMs?: number): void {
  span.setAttribute("lmrelay.outcome", record.outcome);
  if (record.status) span.setAttribute("http.response.status_code", record.status);
  if (record.error) span.setAttribute("lmrelay.error", record.error);
  if (ttftMs !== undefined) span.setAttribute("lmrelay.ttft_ms", Math.round(ttftMs));
  if (record.reason) span.setAttribute("lmrelay.reason", record.reason);
  if (record.outcome === "failed") {
    span.setAttribute("error.type", record.reason ?? String(record.status));
    span.setStatus({ code: SpanStatusCode.ERROR, message: record.error });
  }
  span.end();
}
