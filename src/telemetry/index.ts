import type { ResolvedConfig, ResolvedTelemetry } from "../config/resolve";
import { redactorFor } from "../governance/redact";
import type { Logger } from "../log/logger";
import type { RequestTrace, RequestTracer, TraceStart } from "../core/trace";
import type { SpanQueueStats } from "./queue";

type OtelModule = typeof import("./otel");
type OtelTracer = InstanceType<OtelModule["OtelTracer"]>;

/**
 * The running process's tracer: nothing while the config has no `telemetry` (the OpenTelemetry
 * packages are not even loaded, so start-up and requests pay nothing), an OTLP tracer when it has.
 * A reload that changes the settings replaces the tracer; the old one flushes what it holds.
 */
export class Telemetry implements RequestTracer {
  private tracer: OtelTracer | undefined;
  private settings: ResolvedTelemetry | undefined;
  private config: ResolvedConfig | undefined;
  /** Counts of tracers already replaced, so the metrics stay monotonic across reloads. */
  private retired: SpanQueueStats = { exported: 0, dropped: 0, queued: 0 };

  constructor(private readonly log: Logger) {}

  async configure(config: ResolvedConfig): Promise<void> {
    this.config = config;
    const next = config.telemetry;
    if (sameSettings(next, this.settings)) return;
    const old = this.tracer;
    this.tracer = undefined;
    this.settings = next;
    if (next) {
      const { OtelTracer } = await import("./otel");
      this.tracer = new OtelTracer(next, { redactor: () => redactorFor(this.config!) });
      this.log.info("traces exported over OTLP", { endpoint: next.endpoint, protocol: next.protocol, sampleRatio: next.sampleRatio });
    }
    if (old) await this.retire(old);
  }

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  begin(start: TraceStart): RequestTrace | undefined {
    return this.tracer?.begin(start);
  }

  stats(): SpanQueueStats {
    const now = this.tracer?.queue.stats;
    return {
      exported: this.retired.exported + (now?.exported ?? 0),
      dropped: this.retired.dropped + (now?.dropped ?? 0),
      queued: now?.queued ?? 0,
    };
  }

  /** Exports what is queued (tests, shutdown). */
  async flush(): Promise<void> {
    await this.tracer?.flush();
  }

  async shutdown(): Promise<void> {
    const old = this.tracer;
    this.tracer = undefined;
    this.settings = undefined;
    if (old) await this.retire(old);
  }

  private async retire(old: OtelTracer): Promise<void> {
    try {
      // A collector that is down (the exporter retries) must not hold up a reload or shutdown.
      await Promise.race([old.shutdown(), Bun.sleep(RETIRE_WAIT_MS)]);
    } catch (err) {
      this.log.warn("trace export failed while closing", { error: (err as Error).message });
    }
    this.retired.exported += old.queue.stats.exported;
    this.retired.dropped += old.queue.stats.dropped + old.queue.stats.queued;
  }
}

/** Longest a replaced tracer may take to send what it holds. */
const RETIRE_WAIT_MS = 2_000;

function sameSettings(a: ResolvedTelemetry | undefined, b: ResolvedTelemetry | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
