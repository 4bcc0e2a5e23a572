import type { ResolvedClient, ResolvedConfig } from "../config/resolve";
import type { RequestContext } from "../core/gateway";
import { lmrelayError } from "../core/errors";
import { secretEquals } from "../core/secrets";
import { compileCidrs } from "../core/cidr";

// Client authentication (SPEC §6): a key as `Authorization: Bearer`, `x-api-key`, `api-key` or
// (Google clients) `x-goog-api-key` or the `?key=` query parameter,
// compared in constant time against every configured client key. A request with no key at all may
// still belong to a client whose `allowNoAuthFrom` CIDRs hold its address (Ollama clients send no
// headers); a wrong key is refused wherever it comes from.

/** A request's context as governance and the router read it: its client is the one `authenticate`
 *  resolved (the server sets it), with its limits, budget and allow-list. */
export type ClientContext = RequestContext & { client?: ResolvedClient };

export function presentedKey(headers: Headers, fromQuery?: string): string | undefined {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  return headers.get("x-api-key") || headers.get("api-key") || headers.get("x-goog-api-key") || fromQuery || undefined;
}

/** The `key` parameter of a query string (Google's REST clients send the key there). */
export function queryKey(query: string): string | undefined {
  return new URLSearchParams(query).get("key") || undefined;
}

/** Compiled once per resolved client (a reload resolves new client objects). */
const networks = new WeakMap<ResolvedClient, (ip: string | undefined) => boolean>();

function fromAllowedNetwork(client: ResolvedClient, ip: () => string | undefined): boolean {
  if (client.allowNoAuthFrom.length === 0) return false;
  let match = networks.get(client);
  if (!match) {
    match = compileCidrs(client.allowNoAuthFrom);
    networks.set(client, match);
  }
  return match(ip());
}

/** The client a request belongs to; undefined when no clients are configured (open gateway).
 *  The peer address may be given as a function: it is looked up only for a request without a key. */
export function authenticate(config: ResolvedConfig, headers: Headers, ip?: string | (() => string | undefined), fromQuery?: string): ResolvedClient | undefined {
  if (config.clients.size === 0) return undefined;
  const key = presentedKey(headers, fromQuery);
  if (!key) {
    let address: string | undefined;
    let looked = false;
    const peer = () => {
      if (!looked) address = typeof ip === "function" ? ip() : ip;
      looked = true;
      return address;
    };
    for (const client of config.clients.values()) if (fromAllowedNetwork(client, peer)) return client;
    throw lmrelayError("authentication", "missing API key: send it as Authorization: Bearer, x-api-key, api-key or x-goog-api-key");
  }
  let found: ResolvedClient | undefined;
  // Compare against every client so timing does not reveal which one matched.
  for (const client of config.clients.values()) if (secretEquals(key, client.secret)) found ??= client;
  if (!found) throw lmrelayError("authentication", "invalid API key");
  return found;
}

/** The admin key check for `/admin/api/*` and an authenticated `/metrics`. */
export function isAdmin(config: ResolvedConfig, headers: Headers): boolean {
  const key = presentedKey(headers);
  return Boolean(config.adminKey && key && secretEquals(key, config.adminKey));
}

/** Where a relayed request shows the admin key beside its client key (which takes the usual
 *  credential headers): the operator's way to see `x-lmrelay-route` on one request. */
export const ADMIN_KEY_HEADER = "x-lmrelay-admin-key";

/** Whether a relayed request carries the admin key: as its own key (an open gateway) or in
 *  `x-lmrelay-admin-key`. */
export function carriesAdminKey(config: ResolvedConfig, headers: Headers): boolean {
  if (!config.adminKey) return false;
  const extra = headers.get(ADMIN_KEY_HEADER);
  if (extra) return secretEquals(extra.trim(), config.adminKey);
  return isAdmin(config, headers);
}
