import type { ResolvedConfig } from "./resolve";

// The secrets a config holds, handed to the logger for its scrubbing safety net (log/ knows nothing
// of config) and to the audit row scrubbing. Computed once per config
// (reloads make a new config object) and longest first, so a key that contains another is
// replaced whole.

/** Shorter strings would scrub ordinary words out of log lines; real keys are far longer. */
const MIN_SECRET_LENGTH = 8;
const cache = new WeakMap<ResolvedConfig, readonly string[]>();

export function configSecrets(config: ResolvedConfig): readonly string[] {
  let secrets = cache.get(config);
  if (secrets) return secrets;
  const all = new Set<string>();
  for (const p of config.providers.values()) {
    for (const k of p.keys) all.add(k.secret);
    // Auth headers configured by hand (`headers: { "x-api-key": env("…") }`) are secrets too.
    for (const [name, value] of Object.entries(p.headers)) if (/auth|key|token|secret/i.test(name)) all.add(value.replace(/^Bearer\s+/i, ""));
  }
  for (const c of config.clients.values()) all.add(c.secret);
  if (config.adminKey) all.add(config.adminKey);
  // Engine URLs may carry a password (redis://:pw@host, postgres://user:pw@host).
  for (const url of [config.cluster?.redis, config.postgres]) {
    const password = url ? urlPassword(url) : undefined;
    if (password) all.add(password);
  }
  // A trace collector's credentials (`telemetry.otlp.headers`), whatever the header is called.
  for (const value of Object.values(config.telemetry?.headers ?? {})) all.add(value.replace(/^(Bearer|Basic|Api-Token)\s+/i, ""));
  secrets = [...all].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  cache.set(config, secrets);
  return secrets;
}

function urlPassword(url: string): string | undefined {
  try {
    const p = decodeURIComponent(new URL(url).password);
    return p || undefined;
  } catch {
    return undefined;
  }
}
