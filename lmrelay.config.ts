// lmrelay example config. Run: bun run start (or ./lmrelay serve --config lmrelay.config.ts).
// With no API keys set this still works: the built-in `echo` provider answers every request, and a
// local Ollama on 127.0.0.1:11434 is used when it runs. Keys found in the environment enable the
// matching providers.
import { defineConfig, env } from "lmrelay";

export default defineConfig({
  server: { host: "127.0.0.1", port: 11435 },
  storage: { path: "lmrelay.db" }, // relative to this file

  providers: {
    // Deterministic, free, offline: replies with the last user message, word by word.
    echo: { type: "echo", models: ["echo-1"], free: true },

    // A local Ollama; its models are discovered from /api/tags (none while it is not running).
    local: { type: "ollama", baseUrl: "http://127.0.0.1:11434", free: true },

    openai: { type: "openai", keys: [env.optional("OPENAI_API_KEY")], enabled: env.has("OPENAI_API_KEY") },
    anthropic: { type: "anthropic", keys: [env.optional("ANTHROPIC_API_KEY")], enabled: env.has("ANTHROPIC_API_KEY") },
    gemini: { type: "gemini", keys: [env.optional("GEMINI_API_KEY")], enabled: env.has("GEMINI_API_KEY") },
    groq: { type: "groq", keys: [env.optional("GROQ_API_KEY")], enabled: env.has("GROQ_API_KEY") },
    openrouter: { type: "openrouter", keys: [env.optional("OPENROUTER_API_KEY")], enabled: env.has("OPENROUTER_API_KEY") },
  },

  models: {
    // One public name, an ordered fallback chain: the first reachable target answers.
    default: ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "local/llama3.2", "echo/echo-1"],
    echo: ["echo/echo-1"],
  },

  routing: {
    strategy: "health",
    maxAttempts: 4,
    timeoutMs: 120_000,
  },

  // OpenTelemetry traces to your collector, when its address is set (README "Traces").
  telemetry: env.has("OTEL_EXPORTER_OTLP_ENDPOINT") ? { otlp: { endpoint: env("OTEL_EXPORTER_OTLP_ENDPOINT") } } : undefined,
});
