// What the benchmark sends and where: the lmrelay config pointing at the fast fake upstream
// (routing, health and audit on; one client key with an allow-list), the request bodies, and the
// streaming cases with their direct, bare-proxy and lmrelay URLs.

import { writeFileSync } from "node:fs";
import path from "node:path";

export const CLIENT_KEY = "lmr-bench-client-key-0001";
export const CHUNKS = 50;
/** Paced streams: one chunk every PACED_MS, so each chunk is its own upstream write. */
export const PACED_MS = 5;

/** The upstream paths (see upstream.ts) each lmrelay provider reaches. */
export function upstreamPaths(slowChunks: number) {
  return {
    paced: `/s/${CHUNKS}/${PACED_MS}`,
    burst: `/s/${CHUNKS}/0`,
    slow: `/s/${slowChunks}/1000`,
  };
}

export function writeGatewayConfig(dir: string, gatewayPort: number, upstreamPort: number, slowChunks: number): string {
  const p = upstreamPaths(slowChunks);
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(
    file,
    `import { defineConfig } from "lmrelay";

const up = "http://127.0.0.1:${upstreamPort}";

export default defineConfig({
  server: { host: "127.0.0.1", port: ${gatewayPort} },
  storage: { path: "bench.db" },
  providers: {
    fast: { type: "openai", baseUrl: up + "/v1", keys: [{ key: "sk-bench-upstream-0001", name: "bench" }], models: ["bench-model"] },
    spare: { type: "openai-compatible", baseUrl: up + "/v1", keys: ["sk-bench-upstream-0002"], models: ["bench-model"] },
    paced: { type: "openai", baseUrl: up + "${p.paced}/v1", keys: ["sk-bench-upstream-0003"], models: ["bench-paced"] },
    burst: { type: "openai", baseUrl: up + "${p.burst}/v1", keys: ["sk-bench-upstream-0004"], models: ["bench-burst"] },
    slow: { type: "openai", baseUrl: up + "${p.slow}/v1", keys: ["sk-bench-upstream-0005"], models: ["bench-slow"] },
    claude: { type: "anthropic", baseUrl: up + "${p.paced}", keys: ["sk-bench-upstream-0006"], models: ["bench-claude"] },
    llama: { type: "ollama", baseUrl: up + "${p.paced}", models: ["bench-llama"] },
  },
  // The non-stream load asks for an alias: resolution walks a fallback chain like a real setup.
  models: { bench: ["fast/bench-model", "spare/bench-model"] },
  clients: {
    bench: { key: "${CLIENT_KEY}", models: ["bench", "bench-*", "fast/*", "spare/*"] },
  },
  routing: { strategy: "health", keyRotation: "round-robin", maxAttempts: 3, timeoutMs: 120_000 },
  health: { probeIntervalMs: 30_000, failureThreshold: 3, cooldownMs: 60_000 },
});
`,
  );
  return file;
}

/** A typical small chat request: system prompt, a short exchange, sampling parameters. */
export const CHAT_BODY = {
  model: "bench",
  messages: [
    { role: "system", content: "You are a concise assistant. Answer in one short sentence." },
    { role: "user", content: "What is the capital of France?" },
    { role: "assistant", content: "Paris." },
    { role: "user", content: "And how many people live there, roughly?" },
  ],
  max_tokens: 128,
  temperature: 0.2,
};

export type Protocol = "openai" | "anthropic" | "ollama" | "responses";

const PATHS: Record<Protocol, string> = { openai: "/v1/chat/completions", anthropic: "/v1/messages", ollama: "/api/chat", responses: "/v1/responses" };

function streamBody(protocol: Protocol, model: string): string {
  const { messages, temperature } = CHAT_BODY;
  if (protocol === "anthropic") return JSON.stringify({ model, system: messages[0]!.content, messages: messages.slice(1), max_tokens: 128, temperature, stream: true });
  if (protocol === "ollama") return JSON.stringify({ model, messages, options: { temperature }, stream: true });
  if (protocol === "responses")
    return JSON.stringify({ model, instructions: messages[0]!.content, input: messages.slice(1), max_output_tokens: 128, temperature, store: false, stream: true });
  return JSON.stringify({ ...CHAT_BODY, model, stream: true });
}

export interface StreamTarget {
  target: "direct" | "bare" | "lmrelay";
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Count content markers only in SSE frames holding this text (a Responses stream repeats the
   *  whole text in its closing events; only the deltas are the chunks). */
  countIn?: string;
}

export interface StreamCase {
  name: string;
  /** Which case's bare-proxy run this one is judged against (translated cases have no bare twin). */
  reference: string;
  targets: StreamTarget[];
}

/** The streaming cases: same-format relays of each protocol, and translations. */
export function streamCases(ports: { upstream: number; bare: number; gateway: number }, slowChunks: number): StreamCase[] {
  const p = upstreamPaths(slowChunks);
  const json = { "content-type": "application/json" };
  const auth = { ...json, authorization: `Bearer ${CLIENT_KEY}`, "anthropic-version": "2023-06-01" };
  const raw = (protocol: Protocol, prefix: string, model: string): StreamTarget[] => [
    { target: "direct", port: ports.upstream, path: prefix + PATHS[protocol], headers: json, body: streamBody(protocol, model) },
    { target: "bare", port: ports.bare, path: prefix + PATHS[protocol], headers: json, body: streamBody(protocol, model) },
  ];
  const via = (protocol: Protocol, model: string): StreamTarget => ({
    target: "lmrelay",
    port: ports.gateway,
    path: PATHS[protocol],
    headers: auth,
    body: streamBody(protocol, model),
    ...(protocol === "responses" ? { countIn: "response.output_text.delta" } : {}),
  });
  return [
    { name: "openai→openai", reference: "openai→openai", targets: [...raw("openai", p.paced, "bench-paced"), via("openai", "bench-paced")] },
    { name: "anthropic→openai", reference: "openai→openai", targets: [via("anthropic", "bench-paced")] },
    { name: "anthropic→anthropic", reference: "anthropic→anthropic", targets: [...raw("anthropic", p.paced, "bench-claude"), via("anthropic", "bench-claude")] },
    { name: "ollama→ollama", reference: "ollama→ollama", targets: [...raw("ollama", p.paced, "bench-llama"), via("ollama", "bench-llama")] },
    { name: "openai→anthropic", reference: "anthropic→anthropic", targets: [via("openai", "bench-claude")] },
    // Burst: the upstream sends all chunks as fast as it can, so the relay's CPU per chunk shows.
    { name: "openai→openai burst", reference: "openai→openai burst", targets: [...raw("openai", p.burst, "bench-burst"), via("openai", "bench-burst")] },
    { name: "anthropic→openai burst", reference: "openai→openai burst", targets: [via("anthropic", "bench-burst")] },
    // The Responses API served by a Chat Completions upstream (its first request finds no
    // /responses there, falls back and remembers): judged against the chat cases' CPU per chunk.
    { name: "responses→openai", reference: "openai→openai", targets: [via("responses", "bench-paced")] },
    { name: "responses→openai burst", reference: "openai→openai burst", targets: [via("responses", "bench-burst")] },
  ];
}

/** A slow stream (one chunk a second) through lmrelay or the bare proxy, for the open-streams runs. */
export function slowTarget(target: "bare" | "lmrelay", port: number, slowChunks: number): StreamTarget {
  const p = upstreamPaths(slowChunks);
  if (target === "bare") return { target, port, path: `${p.slow}${PATHS.openai}`, headers: { "content-type": "application/json" }, body: streamBody("openai", "bench-slow") };
  return { target, port, path: PATHS.openai, headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` }, body: streamBody("openai", "bench-slow") };
}
