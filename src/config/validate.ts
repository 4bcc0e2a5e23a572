import { parseCidr } from "../core/cidr";
import { redactProblems } from "../core/redact-rules";
import type { LmrelayConfig } from "./define";

// Governance settings' checks the config schema cannot express, run by the config resolver so a
// bad value stops the server at start (or keeps the old config on reload) with the field named.

export function governanceProblems(cfg: LmrelayConfig): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const [id, c] of Object.entries(cfg.clients ?? {}))
    (c.allowNoAuthFrom ?? []).forEach((cidr, i) => {
      try {
        parseCidr(cidr);
      } catch (e) {
        out.push({ path: `clients.${id}.allowNoAuthFrom[${i}]`, message: (e as Error).message });
      }
    });
  out.push(...redactProblems(cfg.audit?.redact ?? []));
  if (cfg.metrics?.auth && !cfg.admin?.key) out.push({ path: "metrics.auth", message: "needs admin.key: /metrics would be closed to everyone" });
  return out;
}
