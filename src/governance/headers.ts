import type { Protocol } from "../core/types";

// A client's rate-limit state in its own protocol's headers (openai.md, anthropic.md): OpenAI
// clients read `x-ratelimit-*` with Go-style durations, Anthropic clients `anthropic-ratelimit-*`
// with RFC 3339 reset times. Ollama and Gemini have no such headers (Gemini clients read the
// RetryInfo of the error body instead).

export interface LimitState {
  limit: number;
  remaining: number;
  /** Milliseconds until the limit is fully replenished. */
  resetMs: number;
}

/** Go-style duration as OpenAI sends it: `12ms`, `1s`, `6m0s`, `1h2m3s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

export function rateLimitHeaders(protocol: Protocol, now: number, requests?: LimitState, tokens?: LimitState): Record<string, string> {
  const out: Record<string, string> = {};
  // Responses clients are OpenAI clients (Codex reads these headers too).
  if (protocol === "openai" || protocol === "responses") {
    if (requests) {
      out["x-ratelimit-limit-requests"] = String(requests.limit);
      out["x-ratelimit-remaining-requests"] = String(Math.max(0, requests.remaining));
      out["x-ratelimit-reset-requests"] = goDuration(requests.resetMs);
    }
    if (tokens) {
      out["x-ratelimit-limit-tokens"] = String(tokens.limit);
      out["x-ratelimit-remaining-tokens"] = String(Math.max(0, Math.floor(tokens.remaining)));
      out["x-ratelimit-reset-tokens"] = goDuration(tokens.resetMs);
    }
  } else if (protocol === "anthropic") {
    const at = (ms: number) => new Date(Math.ceil((now + ms) / 1000) * 1000).toISOString().replace(".000Z", "Z");
    if (requests) {
      out["anthropic-ratelimit-requests-limit"] = String(requests.limit);
      out["anthropic-ratelimit-requests-remaining"] = String(Math.max(0, requests.remaining));
      out["anthropic-ratelimit-requests-reset"] = at(requests.resetMs);
    }
    if (tokens) {
      out["anthropic-ratelimit-tokens-limit"] = String(tokens.limit);
      out["anthropic-ratelimit-tokens-remaining"] = String(Math.max(0, Math.floor(tokens.remaining)));
      out["anthropic-ratelimit-tokens-reset"] = at(tokens.resetMs);
    }
  }
  return out;
}
