import { hostname } from "node:os";
import path from "node:path";
import { Value } from "@sinclair/typebox/value";
import { parseDurationMs } from "../core/duration";
import { type Matcher, compileGlobs } from "../core/glob";
import { fingerprint } from "../core/secrets";
import type { CacheConfig, LmrelayConfig, ModelInfoConfig, ModelPrice, ProviderType, RouteCandidate, RouteRequest, RoutingStrategy } from "./define";
import { isMissingEnv } from "./env";
import { schemaProblems } from "./problems";
import { providerTypeDefaults } from "./provider-types";
import { governanceProblems } from "./validate";
import { ConfigSchema } from "./schema";

// Validates an evaluated config object and resolves it into what the server runs on: defaults
// filled in, secrets fingerprinted, globs compiled, paths made absolute. Done once per (re)load.

export interface ResolvedKey {
  secret: string;
  /** Configured name, else the fingerprint. Safe to show. */
  name: string;
  fingerprint: string;
  allowsModel: Matcher;
  models?: string[];
  rpm?: number;
  tpm?: number;
  weight: number;
}

export interface ResolvedProvider {
  id: string;
  type: ProviderType;
  baseUrl: string;
  keys: ResolvedKey[];
  /** Configured catalog; undefined = discover from the provider. */
  models?: string[];
  headers: Record<string, string>;
  timeoutMs?: number;
  priority: number;
  weight: number;
  free: boolean;
  pricing: Record<string, ModelPrice>;
  /** `modelInfo` of the config: model name or glob → facts over the built-in catalog. */
  modelInfo?: Record<string, ModelInfoConfig>;
  deployments: Record<string, string>;
  apiVersion?: string;
  /** Largest non-stream answer read from this provider (`limits.maxUpstreamBodyBytes`; set by
   *  resolveConfig, absent only in hand-built test fixtures, where the default applies). */
  maxBodyBytes?: number;
  /** How image URLs are fetched for this provider (the config's `images`); defaults when absent. */
  images?: ImageFetchRules;
}

export interface ImageFetchRules {
  allowPrivate: boolean;
  maxBytes?: number;
  timeoutMs?: number;
}

export interface DisabledProvider {
  id: string;
  type: ProviderType;
  /** Why it is off, e.g. `OPENAI_API_KEY not set` (the loader reads it from the file's text). */
  reason: string;
}

export interface ResolvedAlias {
  name: string;
  targets: string[];
  strategy?: RoutingStrategy;
  cache?: CacheLevel;
}

/** One level's cache settings (top level, client, alias): `false` excludes; fields left out are
 *  taken from the wider level. */
export type CacheLevel = false | { ttlMs?: number; maxBytes?: number; store?: "memory" | "db"; shared?: boolean };

export interface ResolvedClient {
  id: string;
  secret: string;
  fingerprint: string;
  models?: string[];
  allowsModel: Matcher;
  rpm?: number;
  tpm?: number;
  concurrency?: number;
  budget?: { usd: number; per: "day" | "month" | "total" };
  allowNoAuthFrom: string[];
  cache?: CacheLevel;
}

export interface ResolvedConfig {
  /** Absolute path of the config file ("" for configs built in code). */
  file: string;
  server: { host: string; port: number; maxBodyBytes: number };
  storagePath: string;
  /** `storage.postgres`: the shared audit log; `storagePath` is then this node's spool. */
  postgres?: string;
  /** `cluster`: shared state on Redis (SPEC §8); absent = one node, all state in memory. */
  cluster?: { redis: string; onRedisDown: "local" | "reject"; keyPrefix: string; timeoutMs: number };
  /** This node's name (`cluster.node`, default hostname:port); set only when several nodes can
   *  share state or storage (`cluster` or `storage.postgres`), so one node's rows and logs stay as they were. */
  node?: string;
  limits: { maxUpstreamBodyBytes: number };
  images: ImageFetchRules;
  adminKey?: string;
  /** The variable `admin.key` reads (`env.optional("LMRELAY_ADMIN_KEY")`), when the loader saw
   *  one in the file: "the dashboard is off" can then name what to set. */
  adminKeyVariable?: string;
  metricsAuth: boolean;
  audit: { bodies: boolean; redact: string[]; retainDays?: number };
  responses: { retentionDays: number };
  /** Enabled providers only, in config order. */
  providers: Map<string, ResolvedProvider>;
  /** Providers switched off (`enabled: false`), with why, so `check`, `models` and a request's
   *  404 can say so. Absent in hand-built fixtures. */
  disabled?: Map<string, DisabledProvider>;
  aliases: Map<string, ResolvedAlias>;
  clients: Map<string, ResolvedClient>;
  routing: {
    strategy: RoutingStrategy;
    keyRotation: "round-robin" | "least-used" | "weighted" | "random";
    maxAttempts: number;
    contentPolicyFailover: boolean;
    explainHeader: boolean;
    timeoutMs: number;
    route?: (req: RouteRequest, candidates: RouteCandidate[]) => RouteCandidate[] | Promise<RouteCandidate[]>;
  };
  health: { probeIntervalMs: number; failureThreshold: number; cooldownMs: number; firstByteTimeoutMs: number };
  /** OpenTelemetry export; undefined = off. */
  telemetry?: ResolvedTelemetry;
  /** Top-level response cache settings; undefined = off unless a client or alias sets some. */
  cache?: CacheLevel;
}

export interface ResolvedTelemetry {
  endpoint: string;
  headers: Record<string, string>;
  protocol: "http/protobuf" | "http/json";
  sampleRatio: number;
  captureContent: boolean;
  serviceName: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    /** `line`/`column`: where the field is written in the file, when the loader found it. */
    readonly problems: { path: string; message: string; line?: number; column?: number }[],
  ) {
    super(
      `invalid config${file ? ` ${file}` : ""}:\n` +
        problems.map((p) => `  ${p.path || "(root)"}${p.line ? ` (line ${p.line}:${p.column})` : ""}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 11435,
  maxBodyBytes: 10 * 1024 * 1024,
  // Room for a 2,048-input batch of float embeddings; far below what a runaway body would take.
  maxUpstreamBodyBytes: 128 * 1024 * 1024,
  storagePath: "lmrelay.db",
  spoolPath: "lmrelay-spool.db",
  redisTimeoutMs: 100,
  maxAttempts: 4,
  timeoutMs: 120_000,
  probeIntervalMs: 30_000,
  failureThreshold: 3,
  cooldownMs: 60_000,
  firstByteTimeoutMs: 60_000,
} as const;

function collectMissingEnv(value: unknown, at: string, out: { path: string; message: string }[]): void {
  if (isMissingEnv(value)) {
    out.push({ path: at, message: `environment variable ${value.name} is not set` });
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => collectMissingEnv(v, `${at}[${i}]`, out));
  else if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    for (const [k, v] of Object.entries(value)) collectMissingEnv(v, at ? `${at}.${k}` : k, out);
}

export function resolveConfig(input: unknown, file = ""): ResolvedConfig {
  const problems: { path: string; message: string }[] = [];
  collectMissingEnv(input, "", problems);
  if (problems.length) throw new ConfigError(file, problems);
  if (!Value.Check(ConfigSchema, input)) throw new ConfigError(file, schemaProblems(ConfigSchema, input));
  const cfg = input as LmrelayConfig;
  const dir = file ? path.dirname(file) : process.cwd();

  const maxUpstreamBodyBytes = cfg.limits?.maxUpstreamBodyBytes ?? DEFAULTS.maxUpstreamBodyBytes;
  const images: ImageFetchRules = { allowPrivate: cfg.images?.allowPrivate ?? false, maxBytes: cfg.images?.maxBytes, timeoutMs: cfg.images?.timeoutMs };
  const providers = new Map<string, ResolvedProvider>();
  const disabled = new Map<string, DisabledProvider>();
  for (const [id, p] of Object.entries(cfg.providers)) {
    if (p.enabled === false) {
      disabled.set(id, { id, type: p.type, reason: "enabled: false" });
      continue;
    }
    const preset = providerTypeDefaults(p.type);
    if (!preset) {
      problems.push({ path: `providers.${id}.type`, message: `provider type "${p.type}" is not supported by this build` });
      continue;
    }
    const keys: ResolvedKey[] = [];
    for (const k of p.keys ?? []) {
      if (k === undefined) continue;
      const o = typeof k === "string" ? { key: k } : k;
      const fp = fingerprint(o.key);
      keys.push({
        secret: o.key,
        name: o.name ?? fp,
        fingerprint: fp,
        models: o.models,
        allowsModel: compileGlobs(o.models),
        rpm: o.rpm,
        tpm: o.tpm,
        weight: o.weight ?? 1,
      });
    }
    if (preset.requiresKey && keys.length === 0)
      problems.push({ path: `providers.${id}.keys`, message: `a "${p.type}" provider needs at least one key` });
    const baseUrl = (p.baseUrl ?? preset.baseUrl ?? "").replace(/\/+$/, "");
    if (!baseUrl) problems.push({ path: `providers.${id}.baseUrl`, message: `a "${p.type}" provider needs a baseUrl` });
    if (id.includes("/")) problems.push({ path: `providers.${id}`, message: "a provider id cannot contain '/'" });
    providers.set(id, {
      id,
      type: p.type,
      baseUrl,
      keys,
      models: p.models,
      headers: p.headers ?? {},
      timeoutMs: p.timeoutMs,
      priority: p.priority ?? 0,
      weight: p.weight ?? 1,
      free: p.free ?? preset.free ?? false,
      pricing: p.pricing ?? {},
      modelInfo: p.modelInfo ?? {},
      deployments: p.deployments ?? {},
      apiVersion: p.apiVersion,
      maxBodyBytes: maxUpstreamBodyBytes,
      images,
    });
  }

  const aliases = new Map<string, ResolvedAlias>();
  for (const [name, a] of Object.entries(cfg.models ?? {})) {
    const alias = Array.isArray(a) ? { name, targets: a } : { name, targets: a.targets, strategy: a.strategy, cache: cacheLevel(a.cache, `models.${name}.cache`, problems) };
    aliases.set(name, alias);
  }
  // An alias may name another alias; a cycle would never resolve.
  for (const alias of aliases.values()) {
    const seen = new Set<string>([alias.name]);
    const walk = (targets: string[]): boolean =>
      targets.every((t) => {
        const next = aliases.get(t);
        if (!next) return true;
        if (seen.has(t)) return false;
        seen.add(t);
        return walk(next.targets);
      });
    if (!walk(alias.targets)) problems.push({ path: `models.${alias.name}`, message: "aliases refer to each other in a cycle" });
  }

  const clients = new Map<string, ResolvedClient>();
  const clientKeys = new Map<string, string>();
  for (const [id, c] of Object.entries(cfg.clients ?? {})) {
    const other = clientKeys.get(c.key);
    if (other) problems.push({ path: `clients.${id}.key`, message: `same key as client "${other}"` });
    clientKeys.set(c.key, id);
    clients.set(id, {
      id,
      secret: c.key,
      fingerprint: fingerprint(c.key),
      models: c.models,
      allowsModel: compileGlobs(c.models),
      rpm: c.rpm,
      tpm: c.tpm,
      concurrency: c.concurrency,
      budget: c.budget,
      allowNoAuthFrom: c.allowNoAuthFrom ?? [],
      cache: cacheLevel(c.cache, `clients.${id}.cache`, problems),
    });
  }

  problems.push(...governanceProblems(cfg));

  const route = cfg.routing?.route;
  if (route !== undefined && typeof route !== "function")
    problems.push({ path: "routing.route", message: "must be a function (req, candidates) => candidates" });

  if (cfg.storage?.postgres && cfg.storage.path === ":memory:")
    problems.push({ path: "storage.path", message: "with storage.postgres this is the spool of rows PostgreSQL has not taken yet: it must be a file, not :memory:" });

  const cache = cacheLevel(cfg.cache, "cache", problems);
  if (problems.length) throw new ConfigError(file, problems);

  const postgres = cfg.storage?.postgres;
  const storage = cfg.storage?.path ?? (postgres ? DEFAULTS.spoolPath : DEFAULTS.storagePath);
  const port = cfg.server?.port ?? DEFAULTS.port;
  const cluster = cfg.cluster
    ? { redis: cfg.cluster.redis, onRedisDown: cfg.cluster.onRedisDown ?? "local", keyPrefix: cfg.cluster.keyPrefix ?? "lmrelay:", timeoutMs: cfg.cluster.timeoutMs ?? DEFAULTS.redisTimeoutMs }
    : undefined;
  return {
    file,
    server: {
      host: cfg.server?.host ?? DEFAULTS.host,
      port,
      maxBodyBytes: cfg.server?.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    },
    storagePath: storage === ":memory:" ? storage : path.resolve(dir, storage),
    postgres,
    cluster,
    node: cluster || postgres ? (cfg.cluster?.node ?? `${hostname()}:${port}`) : undefined,
    limits: { maxUpstreamBodyBytes },
    images,
    adminKey: cfg.admin?.key,
    metricsAuth: cfg.metrics?.auth ?? false,
    audit: { bodies: cfg.audit?.bodies ?? false, redact: cfg.audit?.redact ?? [], retainDays: cfg.audit?.retainDays },
    responses: { retentionDays: cfg.responses?.retentionDays ?? 30 },
    providers,
    disabled,
    aliases,
    clients,
    routing: {
      strategy: cfg.routing?.strategy ?? "health",
      keyRotation: cfg.routing?.keyRotation ?? "round-robin",
      maxAttempts: cfg.routing?.maxAttempts ?? DEFAULTS.maxAttempts,
      contentPolicyFailover: cfg.routing?.contentPolicyFailover ?? false,
      explainHeader: cfg.routing?.explainHeader ?? false,
      timeoutMs: cfg.routing?.timeoutMs ?? DEFAULTS.timeoutMs,
      route: route as ResolvedConfig["routing"]["route"],
    },
    health: {
      probeIntervalMs: cfg.health?.probeIntervalMs ?? DEFAULTS.probeIntervalMs,
      failureThreshold: cfg.health?.failureThreshold ?? DEFAULTS.failureThreshold,
      cooldownMs: cfg.health?.cooldownMs ?? DEFAULTS.cooldownMs,
      firstByteTimeoutMs: cfg.health?.firstByteTimeoutMs ?? DEFAULTS.firstByteTimeoutMs,
    },
    cache,
    telemetry: cfg.telemetry && {
      endpoint: cfg.telemetry.otlp.endpoint,
      headers: cfg.telemetry.otlp.headers ?? {},
      protocol: cfg.telemetry.otlp.protocol ?? "http/protobuf",
      sampleRatio: cfg.telemetry.sampleRatio ?? 1,
      captureContent: cfg.telemetry.captureContent ?? false,
      serviceName: cfg.telemetry.serviceName ?? "lmrelay",
    },
  };
}

function cacheLevel(raw: CacheConfig | undefined, at: string, problems: { path: string; message: string }[]): CacheLevel | undefined {
  if (raw === undefined || raw === false) return raw;
  let ttlMs: number | undefined;
  if (raw.ttl !== undefined) {
    ttlMs = parseDurationMs(raw.ttl);
    if (ttlMs === undefined || ttlMs <= 0) problems.push({ path: `${at}.ttl`, message: `"${raw.ttl}" is not a duration (write it like "1h", "30m", "90s")` });
  }
  return { ttlMs, maxBytes: raw.maxBytes, store: raw.store, shared: raw.shared };
}
