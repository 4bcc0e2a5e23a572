import type { ExportResult } from "@opentelemetry/core";
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";

// Ended spans wait here for the official OTLP exporter. Our own processor rather than the SDK's
// BatchSpanProcessor because exporting must never delay a request and every span it gives up on
// must be counted (`lmrelay_trace_spans_dropped_total`): the SDK's drops are invisible.

export interface SpanQueueStats {
  exported: number;
  /** Spans dropped: queue full, or the export failed. */
  dropped: number;
  queued: number;
}

export interface SpanQueueOptions {
  /** Most spans waiting; beyond it new ones are dropped (counted). */
  maxQueue?: number;
  /** Most spans per export call. */
  maxBatch?: number;
  /** How often a partial batch is sent, ms. */
  intervalMs?: number;
}

export class SpanQueue implements SpanProcessor {
  readonly stats: SpanQueueStats = { exported: 0, dropped: 0, queued: 0 };
  private spans: ReadableSpan[] = [];
  private exporting: Promise<void> | undefined;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private closed = false;

  constructor(
    private readonly exporter: SpanExporter,
    opts: SpanQueueOptions = {},
  ) {
    this.maxQueue = opts.maxQueue ?? 4096;
    this.maxBatch = opts.maxBatch ?? 512;
    this.timer = setInterval(() => this.send(), opts.intervalMs ?? 1000);
    this.timer.unref?.();
  }

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed || this.spans.length >= this.maxQueue) {
      this.stats.dropped++;
      return;
    }
    this.spans.push(span);
    this.stats.queued = this.spans.length;
    if (this.spans.length >= this.maxBatch) this.send();
  }

  /** Starts one export if none is running; one at a time, so a slow collector holds spans in the
   *  bounded queue instead of piling up requests. */
  private send(): Promise<void> {
    if (this.exporting || this.spans.length === 0) return this.exporting ?? Promise.resolve();
    const batch = this.spans.splice(0, this.maxBatch);
    this.stats.queued = this.spans.length;
    this.exporting = new Promise<void>((resolve) => {
      try {
        this.exporter.export(batch, (result: ExportResult) => {
          if (result.code === 0) this.stats.exported += batch.length;
          else this.stats.dropped += batch.length;
          resolve();
        });
      } catch {
        this.stats.dropped += batch.length;
        resolve();
      }
    }).then(() => {
      this.exporting = undefined;
    });
    return this.exporting;
  }

  async forceFlush(): Promise<void> {
    // Bounded: at most as many rounds as the queue holds batches.
    for (let i = 0; i <= this.maxQueue / this.maxBatch && (this.spans.length > 0 || this.exporting); i++) await this.send();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.forceFlush();
    this.closed = true;
    await this.exporter.shutdown();
  }
}
