import { RedisState } from "../cluster/redis-state";
import type { ResolvedConfig } from "../config/resolve";
import { Governance } from "../governance/governance";
import { Prober } from "../health/probe";
import { HealthStore } from "../health/store";
import { HealthTracker } from "../health/tracker";
import type { Logger } from "../log/logger";
import { Catalog, listProviderModels } from "../router/catalog";
import { RelayGateway } from "../router/gateway";
import { AuditWriter } from "../store/audit";
import { type Db, openDatabase } from "../store/db";
import type { AuditReader } from "../store/reader";
import type { PostgresStorage } from "../store/postgres/storage";
import { AuditRetention } from "../store/retention";
import { DatabaseFileWatch } from "../store/watch";
import { clientSpend } from "../store/spend";
import type { ResponseStore } from "../inbound/responses/store";
import { SqliteResponseStore } from "../store/responses";
import { buildApp } from "./app";
import { CacheStores } from "../cache";
import { Telemetry } from "../telemetry";
import { Metrics, registerRuntimeGauges } from "./metrics";

/** Longest a budget's first request of a period waits for PostgreSQL's spend. */
const SEED_TIMEOUT_MS = 1000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Everything a running lmrelay holds: the config in force (swapped atomically on reload), the
// model catalog, the database and audit writer, the gateway, and the HTTP server.

export class Runtime {
  config: ResolvedConfig;
  readonly catalog = new Catalog();
  readonly db: Db;
  readonly audit: AuditWriter;
  readonly gateway: RelayGateway;
  readonly metrics = new Metrics();
  readonly governance: Governance;
  /** OpenTelemetry traces; idle (nothing loaded) while the config has no `telemetry`. */
  readonly telemetry: Telemetry;
  /** Where the response cache keeps answers (used only by requests a `cache` setting covers). */
  readonly cache: CacheStores;
  /** Routing health: learned from every attempt and probe, persisted, carried over on reload. */
  readonly health: HealthTracker;
  private readonly healthStore: HealthStore;
  private readonly prober: Prober;
  private readonly retention: AuditRetention;
  readonly dbWatch: DatabaseFileWatch;
  /** Shared limits, budgets and blocks on Redis (`cluster`); absent on a single node. */
  readonly cluster?: RedisState;
  /** This node's name (`cluster.node`); absent on a single node. */
  readonly node?: string;
  /** The shared audit database (`storage.postgres`), opened by start(); absent on a single node. */
  postgresStorage?: PostgresStorage;
  /** Responses API answers kept for `previous_response_id`, `item_reference` and `GET /v1/responses/{id}`. */
  /** This node's SQLite store, or with `storage.postgres` the one every node shares (set at start). */
  responses: ResponseStore;
  inFlight = 0;
  private server: Bun.Server<unknown> | undefined;

  constructor(
    config: ResolvedConfig,
    readonly log: Logger,
    opts: { node?: string } = {},
  ) {
    this.config = config;
    this.node = opts.node ?? config.node;
    if (config.cluster)
      this.cluster = new RedisState({
        url: config.cluster.redis,
        keyPrefix: config.cluster.keyPrefix,
        callBoundMs: config.cluster.timeoutMs,
        log,
        applyBlock: (b) => this.health.applyShared(b),
      });
    this.db = openDatabase(config.storagePath);
    this.dbWatch = new DatabaseFileWatch(this.db, config.storagePath, log);
    this.audit = new AuditWriter(this.db, {
      onError: (err) => log.error("audit write failed; rows are kept and retried", { error: (err as Error).message, queued: this.audit.depth }),
      onDrop: (n) => {
        if (n === 1 || n % 1000 === 0) log.error("audit queue full; oldest rows dropped", { dropped: n });
      },
    });
    this.governance = new Governance({
      config: () => this.config,
      // Spend is read once per period from the writer's counter (the rollup at start plus every row
      // queued since): exact, without waiting for the writer thread.
      spend: (client, days) => this.audit.spend.of(client, days),
      // Several nodes: a budget period's spend so far is every node's (seeds the shared counter).
      sharedSpend: config.postgres
        ? async (client, days) => {
            // On a request's path (once per budget period): bounded, else this node's own spend.
            const storage = this.postgresStorage;
            if (!storage?.shipper.up) throw new Error("PostgreSQL is not taking rows");
            this.audit.flush();
            return withTimeout(
              storage.shipper.pass().then(() => storage.reader.clientSpend(client, days)),
              SEED_TIMEOUT_MS,
            );
          }
        : undefined,
      observe: (row, attempts) => this.metrics.observe(row, attempts),
      shared: this.cluster?.limits,
    });
    this.health = new HealthTracker(config, { log, share: this.cluster?.blocks });
    this.healthStore = new HealthStore(this.db, this.health, log);
    this.healthStore.load();
    this.prober = new Prober(this.health, () => this.config, listProviderModels, log);
    this.telemetry = new Telemetry(log);
    this.cache = new CacheStores(this.db, config);
    this.gateway = new RelayGateway({ config: () => this.config, catalog: this.catalog, audit: this.audit, log, governance: this.governance, health: this.health, node: this.node, shared: this.cluster?.limits, tracer: this.telemetry, answers: this.cache });
    this.retention = new AuditRetention(this.audit, () => this.config.audit.retainDays, log);
    this.responses = new SqliteResponseStore(this.db, () => this.config.responses.retentionDays, (err) =>
      log.error("responses store write failed; kept in memory and retried", { error: (err as Error).message }),
    );
    registerRuntimeGauges(this.metrics, this);
  }

  /** Where the admin API reads the audit log: PostgreSQL (every node's rows) or this node's SQLite. */
  get auditReader(): AuditReader | undefined {
    return this.postgresStorage?.reader;
  }

  /** Whether the shared audit store takes rows, and how many wait in the spool (metrics). */
  get postgres(): { up: boolean; pending: number } | undefined {
    return this.postgresStorage?.shipper;
  }

  /** Starts serving. Waits (briefly) for model discovery so the first requests find their models. */
  async start(opts: { host?: string; port?: number } = {}): Promise<{ url: string; port: number }> {
    // Redis or PostgreSQL away at start is not fatal: the node serves on its own state, spools its
    // audit rows, and joins when they answer. The PostgreSQL driver loads only when configured.
    if (this.config.postgres) {
      const { openPostgresStorage } = await import("../store/postgres/storage");
      this.postgresStorage = openPostgresStorage(this.config.postgres, this.config.storagePath, this.log);
      // Stored responses live where every node reads them; this node's SQLite store is not used.
      const local = this.responses as SqliteResponseStore;
      local.close();
      this.responses = await this.postgresStorage.responses(() => this.config.responses.retentionDays, (err) =>
        this.log.error("responses store (PostgreSQL) failed; writes wait in memory and are retried", { error: (err as Error).message }),
      );
    }
    const shipping = this.postgresStorage?.shipper.start();
    await Promise.all([this.catalog.load(this.config, { wait: true }), this.cluster?.start(), this.telemetry.configure(this.config), shipping && Promise.race([shipping, Bun.sleep(2000)])]);
    this.healthStore.start();
    this.prober.start();
    const app = buildApp(this, this.log);
    const maxBody = Math.max(this.config.server.maxBodyBytes * 2, 128 * 1024 * 1024);
    const server = app.listen({
      hostname: opts.host ?? this.config.server.host,
      port: opts.port ?? this.config.server.port,
      maxRequestBodySize: maxBody,
      idleTimeout: 255,
    });
    this.server = server;
    return { url: `http://${server.hostname}:${server.port}`, port: server.port! };
  }

  /** Adopts a new, already validated config. In-flight requests keep the one they started with. */
  async reload(next: ResolvedConfig): Promise<void> {
    this.config = next;
    this.gateway.adoptConfig(next);
    this.cache.adopt(next);
    this.prober.reschedule();
    await Promise.all([this.catalog.load(next), this.telemetry.configure(next)]);
  }

  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    const server = this.server;
    if (server) {
      // Stop accepting; let in-flight requests and streams finish up to the drain timeout.
      const closing = Promise.resolve(server.stop(false));
      const deadline = Date.now() + (opts.drainMs ?? 30_000);
      while (this.inFlight + this.gateway.openAnswers > 0 && Date.now() < deadline) await Bun.sleep(25);
      await Promise.race([closing, Bun.sleep(Math.max(0, deadline - Date.now()))]);
      await server.stop(true);
    }
    this.catalog.stop();
    this.cluster?.close();
    await this.prober.stop();
    this.healthStore.stop();
    this.retention.stop();
    await this.responses.close();
    await this.telemetry.shutdown();
    this.cache.close();
    this.audit.close();
    // Rows written at shutdown get a last chance to reach PostgreSQL; the rest wait in the spool.
    await this.postgresStorage?.stop(3000);
    this.dbWatch.close();
    this.db.$client.close();
  }
}
