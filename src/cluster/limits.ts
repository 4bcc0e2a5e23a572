import { type RedisLink, UNANSWERED } from "./link";
import { ADMIT, RENEW, SETTLE } from "./scripts";
import type { ClusterLog, SharedAdmission, SharedAnswer, SharedLimits, SharedRefusal, SharedSettlement } from "./types";

// Limits and budgets held in Redis for every node: one script call per admission and one per
// settlement (Bun's client pipelines concurrent calls on its one connection). Two things keep
// Redis off a request's path where it can: a near-cache of subjects known to be over their
// requests-per-minute (other nodes can only add requests to a sliding log, so its wait is exact)
// and a fire-and-forget settlement. A running request's lease is renewed every LEASE_RENEW_MS so
// a stream outlives LEASE_TTL_MS while a dead node's leases expire within it.

export const LEASE_TTL_MS = 30_000;
const LEASE_RENEW_MS = 10_000;
/** Settlements are not on a request's path: they may wait longer for an answer. */
const SETTLE_BOUND_MS = 2000;
const REFUSALS = new Set<string>(["concurrency", "rpm", "tpm_request", "tpm", "budget", "seed"]);

export class RedisLimits implements SharedLimits {
  /** lease → its lease-set key, for renewal and for releasing an admission answered too late. */
  private readonly running = new Map<string, string>();
  /** subject + rpm → when its sliding minute has room again (ms, this node's clock). */
  private readonly overRpm = new Map<string, number>();
  private renewTimer: Timer | undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly log: ClusterLog,
    /** How long a lease outlives its last renewal (tests shorten it). */
    private readonly leaseTtlMs = LEASE_TTL_MS,
  ) {
    this.renewTimer = setInterval(() => void this.renew(), Math.min(LEASE_RENEW_MS, Math.max(10, Math.floor(leaseTtlMs / 3))));
    this.renewTimer.unref?.();
  }

  get up(): boolean {
    return this.link.up;
  }

  private key(subject: string, part: string): string {
    return `${this.prefix}{${subject}}:${part}`;
  }

  async admit(a: SharedAdmission): Promise<SharedAnswer | undefined> {
    if (a.rpm) {
      const until = this.overRpm.get(`${a.subject}\0${a.rpm}`);
      if (until !== undefined) {
        const wait = until - Date.now();
        if (wait > 0) return { refused: "rpm", waitMs: wait, inFlight: 0, requests: a.rpm, tokens: 0, committedUsd: 0, second: 0 };
        this.overRpm.delete(`${a.subject}\0${a.rpm}`);
      }
    }
    const leases = this.key(a.subject, "leases");
    const keys = [leases, this.key(a.subject, "reserved"), this.key(a.subject, "rpm"), this.key(a.subject, "tpm"), this.key(a.subject, `spent:${a.budget?.period ?? "-"}`)];
    const args = [
      a.lease,
      String(a.concurrency ?? 0),
      String(a.rpm ?? 0),
      String(a.tpm ?? 0),
      String(Math.max(0, Math.ceil(a.tokens))),
      String(a.budget ? a.budget.usd : -1),
      String(a.budget?.leastUsd ?? 0),
      String(this.leaseTtlMs),
      a.budget?.free ? "1" : "0",
    ];
    const pending = this.link.script(ADMIT, keys, args);
    const reply = await pending;
    if (reply === UNANSWERED) {
      // The script may still run after we stopped waiting: give back what it would hold.
      void this.releaseLate(pending, a);
      return undefined;
    }
    const answer = parseAnswer(reply);
    if (!answer.refused && (a.concurrency || (a.budget?.leastUsd ?? 0) > 0)) this.running.set(a.lease, leases);
    if (answer.refused === "rpm" && a.rpm) this.overRpm.set(`${a.subject}\0${a.rpm}`, Date.now() + answer.waitMs);
    return answer;
  }

  private async releaseLate(pending: Promise<unknown>, a: SharedAdmission): Promise<void> {
    const late = await pending.catch(() => undefined);
    if (late === UNANSWERED || late === undefined) return;
    const answer = parseAnswer(late);
    if (answer.refused) return;
    this.running.delete(a.lease);
    this.settle({
      subject: a.subject,
      lease: a.lease,
      tpm: a.tpm ? { second: answer.second, estimate: Math.ceil(a.tokens), tokens: 0 } : undefined,
      costUsd: 0,
      periods: [],
    });
  }

  settle(s: SharedSettlement): void {
    this.running.delete(s.lease);
    const keys = [this.key(s.subject, "leases"), this.key(s.subject, "reserved"), this.key(s.subject, "tpm"), ...s.periods.map((p) => this.key(s.subject, `spent:${p}`))];
    const args = [s.lease, String(s.tpm?.second ?? 0), String(s.tpm?.estimate ?? 0), String(s.tpm?.tokens ?? 0), String(s.costUsd)];
    this.link.script(SETTLE, keys, args, SETTLE_BOUND_MS).then(
      (r) => {
        if (r === UNANSWERED) this.log.debug("cluster: a settlement did not reach Redis; its lease expires on its own", { subject: s.subject });
      },
      (e) => this.log.error("cluster: settlement script failed", { error: (e as Error).message }),
    );
  }

  async seedSpend(subject: string, period: string, usd: number): Promise<boolean> {
    const args = [this.key(subject, `spent:${period}`), String(usd), "NX"];
    // A day's key outlives its day by one more (settlements of requests that started before
    // midnight); a month's by a few days; a total budget's spend never expires.
    if (period.startsWith("day:")) args.push("PX", String(2 * 86_400_000));
    else if (period.startsWith("month:")) args.push("PX", String(35 * 86_400_000));
    const r = await this.link.call("SET", args, SETTLE_BOUND_MS);
    return r !== UNANSWERED;
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0 || !this.link.up) return;
    const keys: string[] = [];
    const leases: string[] = [];
    for (const [lease, key] of this.running) {
      keys.push(key);
      leases.push(lease);
    }
    await this.link.script(RENEW, keys, [String(this.leaseTtlMs), ...leases], SETTLE_BOUND_MS).catch((e) =>
      this.log.error("cluster: lease renewal failed", { error: (e as Error).message }),
    );
  }

  close(): void {
    clearInterval(this.renewTimer);
  }
}

function parseAnswer(reply: unknown): SharedAnswer {
  const r = reply as [string, number, number, number, number, string, number];
  const refused = r[0] && REFUSALS.has(r[0]) ? (r[0] as SharedRefusal | "seed") : undefined;
  return { refused, waitMs: Number(r[1]), inFlight: Number(r[2]), requests: Number(r[3]), tokens: Number(r[4]), committedUsd: Number(r[5]), second: Number(r[6]) };
}
