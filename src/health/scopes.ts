import type { HealthEntry } from "./entry";

// The tracker's records, found by (provider, key fingerprint, model) through nested maps: the
// router asks several times per candidate per request, and a composite string key would be built
// on every one of those calls. Records also sit in one insertion-ordered set for the views.

export class HealthScopes {
  private byProvider = new Map<string, Map<string, Map<string, HealthEntry>>>();
  private ordered = new Set<HealthEntry>();

  get(provider: string, fp: string, model: string): HealthEntry | undefined {
    return this.byProvider.get(provider)?.get(fp)?.get(model);
  }

  /** Stores a record at its scope, replacing any there. */
  set(e: HealthEntry): HealthEntry {
    let byKey = this.byProvider.get(e.provider);
    if (!byKey) this.byProvider.set(e.provider, (byKey = new Map()));
    let byModel = byKey.get(e.fp);
    if (!byModel) byKey.set(e.fp, (byModel = new Map()));
    const old = byModel.get(e.model);
    if (old) this.ordered.delete(old);
    byModel.set(e.model, e);
    this.ordered.add(e);
    return e;
  }

  /** Drops a record (when it is still the one at its scope). */
  delete(e: HealthEntry): void {
    const byKey = this.byProvider.get(e.provider);
    const byModel = byKey?.get(e.fp);
    if (!byKey || !byModel || byModel.get(e.model) !== e) return;
    byModel.delete(e.model);
    if (byModel.size === 0) byKey.delete(e.fp);
    if (byKey.size === 0) this.byProvider.delete(e.provider);
    this.ordered.delete(e);
  }

  /** Every record, oldest first; deleting while iterating is safe. */
  values(): IterableIterator<HealthEntry> {
    return this.ordered.values();
  }
}
