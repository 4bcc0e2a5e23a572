import type { ResolvedClient, ResolvedConfig } from "../config/resolve";
import { lmrelayError } from "../core/errors";
import { secretEquals } from "../core/secrets";

// Client authentication (SPEC §6): a key as `Authorization: Bearer`, `x-api-key` or `api-key`,
// compared in constant time against every configured client key.

export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  return headers.get("x-api-key") ?? headers.get("api-key") ?? undefined;
}

/** The client a request belongs to; undefined when no clients are configured (open gateway). */
export function authenticate(config: ResolvedConfig, headers: Headers): ResolvedClient | undefined {
  if (config.clients.size === 0) return undefined;
  const key = presentedKey(headers);
  if (!key) throw lmrelayError("authentication", "missing API key: send it as Authorization: Bearer, x-api-key or api-key");
  let found: ResolvedClient | undefined;
  // Compare against every client so timing does not reveal which one matched.
  for (const client of config.clients.values()) if (secretEquals(key, client.secret)) found ??= client;
  if (!found) throw lmrelayError("authentication", "invalid API key");
  return found;
}
