import type { ResolvedConfig, ResolvedKey, ResolvedProvider } from "../config/resolve";
import { adapterFor } from "../upstream/registry";
import type { ListedModel, ModelCapabilities } from "../upstream/types";

// Which models each provider offers: the configured `models` list, else what the provider's
// model-list endpoint reported (fetched at start and refreshed), with the capabilities the list
// declares where it declares them. Lookups are O(1) on the hot path.

const REFRESH_MS = 5 * 60_000;
const DISCOVERY_TIMEOUT_MS = 5_000;

interface Entry {
  /** Model names as the upstream spells them, in its order. */
  models: string[];
  /** Lookup: name (and `name` without Ollama's implicit `:latest`) → upstream name. */
  index: Map<string, string>;
  /** Configured catalog (authoritative) or discovered (may be stale or incomplete). */
  configured: boolean;
  /** Upstream name → what the model list declared it can do (only lists that say it). */
  capabilities?: Map<string, ModelCapabilities>;
  fetchedAt: number;
  error?: string;
}

function buildIndex(provider: ResolvedProvider, models: string[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const m of models) {
    index.set(m, m);
    // Ollama: `llama3.2` and `llama3.2:latest` are the same model.
    if (provider.type === "ollama" && m.endsWith(":latest")) {
      const short = m.slice(0, -":latest".length);
      if (!index.has(short)) index.set(short, m);
    }
  }
  return index;
}

function capabilityIndex(listed: ListedModel[]): Map<string, ModelCapabilities> | undefined {
  let index: Map<string, ModelCapabilities> | undefined;
  for (const m of listed) if (m.capabilities) (index ??= new Map()).set(m.id, m.capabilities);
  return index;
}

/** A provider's model list (for health probes), or undefined when its wire format has none. */
export function listProviderModels(provider: ResolvedProvider, key: ResolvedKey | undefined, signal: AbortSignal): Promise<string[]> | undefined {
  return adapterFor(provider.type)?.listModels?.(provider, key, signal);
}

export class Catalog {
  private entries = new Map<string, Entry>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private config!: ResolvedConfig;
  /** Bumped whenever any provider's model list changes: cached resolutions built on an older
   *  generation are stale (see candidates.ts). */
  generation = 0;

  /** Adopts a (new) config: configured catalogs at once, discovered ones in the background. */
  async load(config: ResolvedConfig, opts: { wait?: boolean } = {}): Promise<void> {
    this.config = config;
    const next = new Map<string, Entry>();
    const pending: Promise<void>[] = [];
    for (const p of config.providers.values()) {
      if (p.models) {
        next.set(p.id, { models: p.models, index: buildIndex(p, p.models), configured: true, fetchedAt: Date.now() });
        continue;
      }
      const previous = this.entries.get(p.id);
      if (previous && !previous.configured) next.set(p.id, previous);
      pending.push(this.discover(p, next));
    }
    this.entries = next;
    this.generation++;
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
      this.timer.unref?.();
    }
    const all = Promise.all(pending).then(() => undefined);
    if (opts.wait) await all;
  }

  private async discover(p: ResolvedProvider, into: Map<string, Entry> = this.entries): Promise<void> {
    try {
      await this.fetchEntry(p, into);
    } finally {
      this.generation++;
    }
  }

  private async fetchEntry(p: ResolvedProvider, into: Map<string, Entry>): Promise<void> {
    const adapter = adapterFor(p.type);
    if (!adapter?.listModels) {
      into.set(p.id, { models: [], index: new Map(), configured: false, fetchedAt: Date.now() });
      return;
    }
    try {
      const signal = AbortSignal.timeout(DISCOVERY_TIMEOUT_MS);
      if (adapter.listModelDetails) {
        const listed = await adapter.listModelDetails(p, p.keys[0], signal);
        const models = listed.map((m) => m.id);
        into.set(p.id, { models, index: buildIndex(p, models), configured: false, fetchedAt: Date.now(), capabilities: capabilityIndex(listed) });
        return;
      }
      const models = await adapter.listModels(p, p.keys[0], signal);
      into.set(p.id, { models, index: buildIndex(p, models), configured: false, fetchedAt: Date.now() });
    } catch (err) {
      const prev = into.get(p.id);
      const message = err instanceof Error ? err.message : String(err);
      into.set(p.id, prev ? { ...prev, error: message } : { models: [], index: new Map(), configured: false, fetchedAt: Date.now(), error: message });
    }
  }

  async refresh(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const p of this.config.providers.values()) if (!p.models) jobs.push(this.discover(p));
    await Promise.all(jobs);
  }

  /** The upstream's spelling of `model` if the provider offers it. */
  lookup(providerId: string, model: string): string | undefined {
    return this.entries.get(providerId)?.index.get(model);
  }

  /** Whether the provider's catalog is configured (authoritative) rather than discovered. */
  isConfigured(providerId: string): boolean {
    return this.entries.get(providerId)?.configured ?? false;
  }

  /** What the provider's model list declared `model` can do, when it declared anything. */
  capabilities(providerId: string, model: string): ModelCapabilities | undefined {
    const entry = this.entries.get(providerId);
    if (!entry?.capabilities) return undefined;
    return entry.capabilities.get(entry.index.get(model) ?? model);
  }

  models(providerId: string): string[] {
    return this.entries.get(providerId)?.models ?? [];
  }

  discoveryError(providerId: string): string | undefined {
    return this.entries.get(providerId)?.error;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
