import type { ResolvedConfig } from "../config/resolve";
import type { HealthEntry } from "../health/entry";
import type { Catalog } from "../router/catalog";
import { VERSION } from "../version";

// The start-up status of `lmrelay serve`: where it listens, which config it runs, each provider
// with its model count and state, and who may call it. A readable block on a terminal, one
// structured log line otherwise.

export interface ProviderStatus {
  id: string;
  type: string;
  models: number;
  keys: number;
  /** "ok" (models known), "unreachable" (discovery failed), "no models" (nothing to route to),
   *  "cooling down" (its circuit is open from failures remembered across the restart). */
  state: "ok" | "unreachable" | "no models" | "cooling down";
  error?: string;
  /** Remembered health (sample-weighted score, 0..1); absent before the first request. */
  health?: number;
  samples: number;
}

/** The health records lmrelay keeps (and reloads from the database on start). */
export interface HealthView {
  all(): Iterable<HealthEntry>;
  score(e: HealthEntry): number;
}

function providerHealth(health: HealthView | undefined, id: string, now: number): { score?: number; samples: number; cooling: boolean } {
  let weighted = 0;
  let samples = 0;
  let cooling = false;
  if (health)
    for (const e of health.all()) {
      if (e.provider !== id) continue;
      if (e.fp === "" && e.cooldownUntil !== undefined && e.cooldownUntil > now) cooling = true;
      if (e.model === "" || !e.samples) continue;
      weighted += health.score(e) * e.samples;
      samples += e.samples;
    }
  return { score: samples ? weighted / samples : undefined, samples, cooling };
}

export interface StartupStatus {
  message: string;
  fields: Record<string, unknown>;
  /** The terminal rendering (first line is `message`). */
  lines: string[];
}

export function providerStatuses(config: ResolvedConfig, catalog: Catalog, health?: HealthView): ProviderStatus[] {
  const now = Date.now();
  return [...config.providers.values()].map((p) => {
    const models = catalog.models(p.id).length;
    const error = catalog.discoveryError(p.id);
    const h = providerHealth(health, p.id, now);
    return {
      id: p.id,
      type: p.type,
      models,
      keys: p.keys.length,
      state: error ? "unreachable" : models === 0 ? "no models" : h.cooling ? "cooling down" : "ok",
      ...(error ? { error } : {}),
      ...(h.score !== undefined ? { health: Number(h.score.toFixed(3)) } : {}),
      samples: h.samples,
    };
  });
}

export function startupStatus(config: ResolvedConfig, catalog: Catalog, url: string, health?: HealthView): StartupStatus {
  const providers = providerStatuses(config, catalog, health);
  const message = `lmrelay ${VERSION} listening on ${url}`;
  const clients = config.clients.size;
  const access = clients ? `${clients} client key${clients === 1 ? "" : "s"} (auth required)` : "no client keys (open to anyone who can connect)";
  const admin = config.adminKey ? `${url}/admin` : `disabled (${config.adminKeyVariable ? `${config.adminKeyVariable} not set` : "no admin.key"})`;
  const disabled = [...(config.disabled?.values() ?? [])];
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  const lines = [
    message,
    `  config     ${config.file || "(built in code)"}`,
    `  database   ${config.storagePath}`,
    `  providers${providers.length ? "" : "  (none)"}`,
    ...providers.map(
      (p) =>
        `    ${p.id.padEnd(14)} ${p.type.padEnd(18)} ${plural(p.models, "model").padEnd(10)} ${plural(p.keys, "key").padEnd(7)} ${(p.health === undefined ? "health -" : `health ${p.health.toFixed(2)}`).padEnd(12)} ${p.state}${p.error ? `: ${p.error}` : ""}`,
    ),
    ...disabled.map((d) => `    ${d.id.padEnd(14)} ${d.type.padEnd(18)} disabled: ${d.reason}`),
    `  aliases    ${config.aliases.size ? [...config.aliases.keys()].join(", ") : "(none)"}`,
    `  clients    ${access}`,
    `  dashboard  ${admin}`,
  ];
  const fields: Record<string, unknown> = {
    config: config.file,
    database: config.storagePath,
    providers,
    ...(disabled.length ? { disabled: disabled.map((d) => ({ id: d.id, reason: d.reason })) } : {}),
    aliases: config.aliases.size,
    clients,
    dashboard: config.adminKey ? `${url}/admin` : "disabled",
  };
  return { message, fields, lines };
}
