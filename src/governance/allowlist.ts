import type { ResolvedClient, ResolvedProvider } from "../config/resolve";
import { type GatewayError, lmrelayError } from "../core/errors";

// Per-client model allow-lists (SPEC §5, §6). A client's `models` entries are globs over model
// names. They are matched against the name the client asked for (an alias, `provider/model` or a
// bare model name): a match allows every candidate that name resolves to. Otherwise each candidate
// is kept only if its `provider/model` or its bare model name matches, so `["local/*"]` allows
// `llama3.2` through the local provider alone, and an alias is usable through its allowed targets.

/** A routing candidate as governance reads it: the router's candidates are these and more. */
export interface AdmissionCandidate {
  provider: ResolvedProvider;
  /** Model name as the upstream knows it. */
  model: string;
}

/** The names a candidate answers to, for matching: `provider/model`, `model`, and for Ollama's
 *  implicit tag the same without `:latest`. */
function candidateNames(providerId: string, model: string): string[] {
  const names = [`${providerId}/${model}`, model];
  if (model.endsWith(":latest")) {
    const short = model.slice(0, -":latest".length);
    names.push(`${providerId}/${short}`, short);
  }
  return names;
}

export function candidateAllowed(client: ResolvedClient, providerId: string, model: string): boolean {
  return candidateNames(providerId, model).some((n) => client.allowsModel(n));
}

export function forbiddenModel(client: ResolvedClient, model: string): GatewayError {
  return lmrelayError("permission", `client "${client.id}" is not allowed to use model "${model}"`, {
    param: "model",
    code: "model_not_allowed",
  });
}

/** The candidates this client may use for `requested`; throws 403 when none. */
export function allowedCandidates<C extends AdmissionCandidate>(client: ResolvedClient | undefined, requested: string, candidates: C[]): C[] {
  if (!client || !client.models || client.allowsModel(requested)) return candidates;
  const kept = candidates.filter((c) => candidateAllowed(client, c.provider.id, c.model));
  if (kept.length === 0) throw forbiddenModel(client, requested);
  return kept;
}

/** Whether a listed name (`/v1/models`, `/api/tags`) is one the client may use. `provider` is set
 *  for `provider/model` entries and absent for aliases, whose candidates `candidatesOf` gives (the
 *  router resolves them; it throws for a name that resolves to nothing). */
export function modelVisible(
  client: ResolvedClient | undefined,
  name: string,
  provider: ResolvedProvider | undefined,
  candidatesOf: (name: string) => readonly AdmissionCandidate[],
): boolean {
  if (!client || !client.models || client.allowsModel(name)) return true;
  if (provider) return candidateAllowed(client, provider.id, name.slice(provider.id.length + 1));
  try {
    return candidatesOf(name).some((c) => candidateAllowed(client, c.provider.id, c.model));
  } catch {
    return false;
  }
}
