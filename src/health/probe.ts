import type { ResolvedConfig, ResolvedKey, ResolvedProvider } from "../config/resolve";
import { GatewayError } from "../core/errors";
import type { Logger } from "../log/logger";
import type { HealthTracker } from "./tracker";

// Active probes: every `health.probeIntervalMs`, each provider whose circuit is open, that has
// failed lately, or whose targets were demoted is asked for its model list (cheap, no tokens
// spent). A success closes the circuit early (half-open → closed, traffic ramps back up); a failure
// keeps it open. Healthy providers are not probed: real traffic measures them.

const MAX_PROBE_TIMEOUT_MS = 10_000;

/** Asks a provider for its model list with this key; undefined when its wire format has none to
 *  ask (the provider is then never probed). Passed in: health knows no upstream adapter. */
export type ListModels = (provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal) => Promise<unknown> | undefined;

export class Prober {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private round: Promise<void> | undefined;

  constructor(
    private readonly tracker: HealthTracker,
    private readonly config: () => ResolvedConfig,
    private readonly listModels: ListModels,
    private readonly log?: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Re-reads the interval (after a reload). */
  reschedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
  }

  private schedule(): void {
    const interval = this.config().health.probeIntervalMs;
    if (this.stopped || interval <= 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce().finally(() => this.schedule());
    }, interval);
    this.timer.unref?.();
  }

  /** One probe round over every provider that needs it; rounds never overlap. */
  runOnce(): Promise<void> {
    this.round ??= this.probeAll().finally(() => (this.round = undefined));
    return this.round;
  }

  private async probeAll(): Promise<void> {
    const config = this.config();
    const jobs: Promise<void>[] = [];
    for (const p of config.providers.values()) if (this.tracker.needsProbe(p.id)) jobs.push(this.probe(p, config));
    await Promise.all(jobs);
  }

  private async probe(provider: ResolvedProvider, config: ResolvedConfig): Promise<void> {
    // Any key not known to be bad will do: the probe asks whether the provider answers at all.
    const key = provider.keys.length ? provider.keys.find((k) => this.tracker.keyBlock(provider.id, k, "")?.kind !== "disabled") : undefined;
    if (provider.keys.length && !key) return;
    const timeout = Math.min(MAX_PROBE_TIMEOUT_MS, Math.max(1000, config.health.probeIntervalMs));
    try {
      const listed = this.listModels(provider, key, AbortSignal.timeout(timeout));
      if (!listed) return;
      await listed;
      this.tracker.recordProbe(provider.id, true);
    } catch (err) {
      // Any HTTP answer but a server error means the provider is up (a bad key is the key's problem).
      if (err instanceof GatewayError && err.status >= 400 && err.status < 500 && err.status !== 408) {
        this.tracker.recordProbe(provider.id, true);
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      this.tracker.recordProbe(provider.id, false, message);
      this.log?.debug("probe failed", { provider: provider.id, error: message });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round?.catch(() => {});
  }
}
