import type { SharedLimits } from "../cluster/types";
import type { ResolvedKey } from "../config/resolve";
import type { KeyLease } from "./keypool";

// An upstream key's own `rpm`/`tpm` across every node (`cluster`, SPEC §8): the key pool counts
// this node's use (and skips a key this node alone has used up); this asks the shared state just
// before an attempt is sent, so N nodes together stay under the key's limits. Without an answer
// in time (Redis down or slow) the node's own count decides, as on one node.

export interface SharedKeyRefusal {
  reason: string;
  until: number;
}

/** Admits one attempt on `key`; returns a refusal, or a lease that also settles the shared count. */
export async function admitSharedKey(
  shared: SharedLimits,
  providerId: string,
  key: ResolvedKey,
  tokens: number,
  local: KeyLease,
): Promise<{ refused: SharedKeyRefusal } | { lease: KeyLease }> {
  const subject = `key:${providerId}:${key.fingerprint}`;
  const lease = crypto.randomUUID();
  const estimate = Math.max(0, Math.ceil(tokens));
  const answer = await shared.admit({ subject, lease, rpm: key.rpm, tpm: key.tpm, tokens: estimate });
  if (!answer) return { lease: local };
  if (answer.refused) {
    local.end(0);
    const what = answer.refused === "rpm" ? `key rpm ${key.rpm}` : `key tpm ${key.tpm}`;
    return { refused: { reason: `${what} reached across nodes`, until: Date.now() + answer.waitMs } };
  }
  const second = answer.second;
  let open = true;
  return {
    lease: {
      end(actualTokens) {
        local.end(actualTokens);
        if (!open) return;
        open = false;
        shared.settle({
          subject,
          lease,
          tpm: key.tpm ? { second, estimate, tokens: actualTokens ?? estimate } : undefined,
          costUsd: 0,
          periods: [],
        });
      },
    },
  };
}
