import type { ResolvedKey, ResolvedProvider } from "../config/resolve";

// The headers of a JSON POST to a provider — content type, accept, the key's auth header and the
// provider's own headers — built once per (provider, key, accept) and reused by every attempt,
// instead of an object and two spreads per attempt. Keyed by the resolved objects, so a reload (new
// objects) builds new ones and the old ones go with the old config. Callers must not modify them.

const ACCEPTS = ["application/json", "text/event-stream"] as const;
export type Accept = (typeof ACCEPTS)[number];

const byOwner = new WeakMap<object, Map<string, Readonly<Record<string, string>>>>();

/** `auth` gives the headers that carry the key (the same function for a given `tag`). */
export function jsonPostHeaders(
  provider: ResolvedProvider,
  key: ResolvedKey | undefined,
  accept: Accept,
  auth: (key: ResolvedKey | undefined) => Record<string, string>,
  tag = "",
): Readonly<Record<string, string>> {
  // A key belongs to one provider: it is the owner when there is one.
  const owner: object = key ?? provider;
  let built = byOwner.get(owner);
  if (!built) byOwner.set(owner, (built = new Map()));
  const slot = `${tag}\u0001${accept}`;
  let headers = built.get(slot);
  if (!headers) {
    headers = Object.freeze({ "content-type": "application/json", accept, ...auth(key), ...provider.headers });
    built.set(slot, headers);
  }
  return headers;
}
