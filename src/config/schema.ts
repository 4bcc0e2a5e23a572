import { type Static, Type as T } from "@sinclair/typebox";

// The config file's shape. Types for users come from here (config/define.ts); the loader validates
// the evaluated object against it, since TypeScript types are erased at run time.

export const ProviderTypes = [
  "openai",
  "openai-compatible",
  "anthropic",
  "gemini",
  "cohere",
  "azure",
  "mistral",
  "deepinfra",
  "ollama",
  "openrouter",
  "groq",
  "nvidia",
  "huggingface",
  "cerebras",
  "cloudflare",
  "echo",
] as const;

const Pricing = T.Record(
  T.String(),
  T.Object(
    {
      input: T.Number({ minimum: 0 }),
      output: T.Number({ minimum: 0 }),
      cachedInput: T.Optional(T.Number({ minimum: 0 })),
      cacheWrite: T.Optional(T.Number({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
);

export const KeySchema = T.Union([
  T.String({ minLength: 1 }),
  T.Object(
    {
      key: T.String({ minLength: 1 }),
      name: T.Optional(T.String({ minLength: 1 })),
      models: T.Optional(T.Array(T.String())),
      rpm: T.Optional(T.Integer({ minimum: 1 })),
      tpm: T.Optional(T.Integer({ minimum: 1 })),
      weight: T.Optional(T.Number({ exclusiveMinimum: 0 })),
    },
    { additionalProperties: false },
  ),
]);

const ModelInfoSchema = T.Object(
  {
    contextWindow: T.Optional(T.Integer({ minimum: 1 })),
    maxOutputTokens: T.Optional(T.Integer({ minimum: 1 })),
    reasoning: T.Optional(T.Boolean()),
    efforts: T.Optional(T.Array(T.Union(["none", "minimal", "low", "medium", "high", "xhigh", "max"].map((e) => T.Literal(e))))),
    sampling: T.Optional(T.Boolean()),
    tools: T.Optional(T.Boolean()),
    images: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

export const ProviderSchema = T.Object(
  {
    type: T.Union(ProviderTypes.map((t) => T.Literal(t))),
    baseUrl: T.Optional(T.String({ pattern: "^https?://" })),
    keys: T.Optional(T.Array(T.Union([KeySchema, T.Undefined()]))),
    models: T.Optional(T.Array(T.String({ minLength: 1 }))),
    headers: T.Optional(T.Record(T.String(), T.String())),
    timeoutMs: T.Optional(T.Integer({ minimum: 1 })),
    priority: T.Optional(T.Number()),
    weight: T.Optional(T.Number({ exclusiveMinimum: 0 })),
    free: T.Optional(T.Boolean()),
    pricing: T.Optional(Pricing),
    modelInfo: T.Optional(T.Record(T.String({ minLength: 1 }), ModelInfoSchema)),
    enabled: T.Optional(T.Boolean()),
    /** azure: model → deployment name */
    deployments: T.Optional(T.Record(T.String(), T.String())),
    /** azure: `api-version` query value */
    apiVersion: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

export const Strategies = ["health", "priority", "cost", "latency", "round-robin"] as const;
const Strategy = T.Union(Strategies.map((s) => T.Literal(s)));

/** `cache` at the top level, in a client or in an alias (SPEC §9); `false` excludes. */
export const CacheSchema = T.Union([
  T.Literal(false),
  T.Object(
    {
      ttl: T.Optional(T.String({ minLength: 1 })),
      maxBytes: T.Optional(T.Integer({ minimum: 1024 })),
      store: T.Optional(T.Union([T.Literal("memory"), T.Literal("db")])),
      shared: T.Optional(T.Boolean()),
    },
    { additionalProperties: false },
  ),
]);

export const AliasSchema = T.Union([
  T.Array(T.String({ minLength: 1 }), { minItems: 1 }),
  T.Object(
    {
      targets: T.Array(T.String({ minLength: 1 }), { minItems: 1 }),
      strategy: T.Optional(Strategy),
      cache: T.Optional(CacheSchema),
    },
    { additionalProperties: false },
  ),
]);

export const ClientSchema = T.Object(
  {
    key: T.String({ minLength: 1 }),
    models: T.Optional(T.Array(T.String())),
    rpm: T.Optional(T.Integer({ minimum: 1 })),
    tpm: T.Optional(T.Integer({ minimum: 1 })),
    concurrency: T.Optional(T.Integer({ minimum: 1 })),
    budget: T.Optional(
      T.Object(
        { usd: T.Number({ minimum: 0 }), per: T.Union([T.Literal("day"), T.Literal("month"), T.Literal("total")]) },
        { additionalProperties: false },
      ),
    ),
    allowNoAuthFrom: T.Optional(T.Array(T.String())),
    cache: T.Optional(CacheSchema),
  },
  { additionalProperties: false },
);

export const ConfigSchema = T.Object(
  {
    server: T.Optional(
      T.Object(
        {
          host: T.Optional(T.String({ minLength: 1 })),
          port: T.Optional(T.Integer({ minimum: 0, maximum: 65535 })),
          /** Largest accepted request body, bytes. */
          maxBodyBytes: T.Optional(T.Integer({ minimum: 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
    storage: T.Optional(
      T.Object(
        {
          path: T.Optional(T.String({ minLength: 1 })),
          /** postgres://… : the shared audit log and spend of several nodes (SPEC §8). */
          postgres: T.Optional(T.String({ pattern: "^postgres(ql)?://" })),
        },
        { additionalProperties: false },
      ),
    ),
    cluster: T.Optional(
      T.Object(
        {
          /** redis://, rediss:// or redis+unix:// URL of the state shared by every node. */
          redis: T.String({ pattern: "^(redis|rediss|redis\\+tls|redis\\+unix|redis\\+tls\\+unix)://" }),
          node: T.Optional(T.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:@-]+$" })),
          onRedisDown: T.Optional(T.Union([T.Literal("local"), T.Literal("reject")])),
          keyPrefix: T.Optional(T.String({ minLength: 1, maxLength: 100 })),
          timeoutMs: T.Optional(T.Integer({ minimum: 1, maximum: 10_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    limits: T.Optional(
      T.Object(
        {
          /** Largest non-stream upstream answer read into memory, bytes. */
          maxUpstreamBodyBytes: T.Optional(T.Integer({ minimum: 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
    images: T.Optional(
      T.Object(
        {
          allowPrivate: T.Optional(T.Boolean()),
          maxBytes: T.Optional(T.Integer({ minimum: 1 })),
          timeoutMs: T.Optional(T.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    admin: T.Optional(T.Object({ key: T.Optional(T.String({ minLength: 1 })) }, { additionalProperties: false })),
    metrics: T.Optional(T.Object({ auth: T.Optional(T.Boolean()) }, { additionalProperties: false })),
    audit: T.Optional(
      T.Object(
        {
          bodies: T.Optional(T.Boolean()),
          redact: T.Optional(T.Array(T.String())),
          retainDays: T.Optional(T.Number({ exclusiveMinimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    responses: T.Optional(T.Object({ retentionDays: T.Optional(T.Number({ exclusiveMinimum: 0 })) }, { additionalProperties: false })),
    cache: T.Optional(CacheSchema),
    telemetry: T.Optional(
      T.Object(
        {
          otlp: T.Object(
            {
              endpoint: T.String({ pattern: "^https?://" }),
              headers: T.Optional(T.Record(T.String(), T.String())),
              protocol: T.Optional(T.Union([T.Literal("http/protobuf"), T.Literal("http/json")])),
            },
            { additionalProperties: false },
          ),
          sampleRatio: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
          captureContent: T.Optional(T.Boolean()),
          serviceName: T.Optional(T.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    providers: T.Record(T.String({ pattern: "^[A-Za-z0-9_.-]+$" }), ProviderSchema),
    models: T.Optional(T.Record(T.String({ minLength: 1 }), AliasSchema)),
    clients: T.Optional(T.Record(T.String({ minLength: 1 }), ClientSchema)),
    routing: T.Optional(
      T.Object(
        {
          strategy: T.Optional(Strategy),
          keyRotation: T.Optional(
            T.Union([T.Literal("round-robin"), T.Literal("least-used"), T.Literal("weighted"), T.Literal("random")]),
          ),
          maxAttempts: T.Optional(T.Integer({ minimum: 1, maximum: 50 })),
          contentPolicyFailover: T.Optional(T.Boolean()),
          explainHeader: T.Optional(T.Boolean()),
          timeoutMs: T.Optional(T.Integer({ minimum: 1 })),
          route: T.Optional(T.Any()),
        },
        { additionalProperties: false },
      ),
    ),
    health: T.Optional(
      T.Object(
        {
          probeIntervalMs: T.Optional(T.Integer({ minimum: 0 })),
          failureThreshold: T.Optional(T.Integer({ minimum: 1 })),
          cooldownMs: T.Optional(T.Integer({ minimum: 0 })),
          firstByteTimeoutMs: T.Optional(T.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ConfigShape = Static<typeof ConfigSchema>;
