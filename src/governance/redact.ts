import type { ResolvedConfig } from "../config/resolve";
import { isRedactPattern as isPattern, redactRegExp as toRegExp } from "../core/redact-rules";
import { fingerprint } from "../core/secrets";

// Redaction of captured bodies (`audit: { bodies: true, redact: [...] }`). An entry is either a
// JSON field name — its value is replaced wherever it appears (`"content"`, `"user"`) — or a
// `/regex/flags` whose matches are replaced in every string. Every configured secret (upstream,
// client and admin keys) is replaced by its fingerprint whatever the config says.

export const REDACTED = "[redacted]";

export class Redactor {
  private readonly fields: Set<string>;
  private readonly patterns: RegExp[];
  private readonly secrets: [string, string][];

  constructor(entries: readonly string[], secrets: readonly string[]) {
    this.fields = new Set(entries.filter((e) => !isPattern(e)).map((e) => e.toLowerCase()));
    this.patterns = entries.filter(isPattern).map(toRegExp);
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length).map((s) => [s, fingerprint(s)]);
  }

  /** Secrets and patterns replaced in plain text. */
  text(s: string): string {
    let out = s;
    for (const [secret, fp] of this.secrets) if (out.includes(secret)) out = out.split(secret).join(fp);
    for (const re of this.patterns) out = out.replace(re, REDACTED);
    return out;
  }

  value(v: unknown): unknown {
    if (typeof v === "string") return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.fields.has(k.toLowerCase()) ? REDACTED : this.value(x);
      return out;
    }
    return v;
  }

  /** A body as text: JSON redacted field by field, streams (SSE, NDJSON) line by line. */
  body(text: string): string {
    if (this.fields.size === 0) return this.text(text);
    const trimmed = text.trimStart();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        return JSON.stringify(this.value(JSON.parse(text)));
      } catch {
        // Not one JSON document: NDJSON, handled below.
      }
    }
    return text
      .split("\n")
      .map((line) => {
        const prefix = line.startsWith("data: ") ? "data: " : line.startsWith("data:") ? "data:" : line.startsWith("{") ? "" : undefined;
        if (prefix === undefined) return this.text(line);
        try {
          return prefix + JSON.stringify(this.value(JSON.parse(line.slice(prefix.length))));
        } catch {
          return this.text(line);
        }
      })
      .join("\n");
  }
}

const cache = new WeakMap<ResolvedConfig, Redactor>();

/** The redactor of a config: its `audit.redact` and all its secrets. */
export function redactorFor(config: ResolvedConfig): Redactor {
  let r = cache.get(config);
  if (!r) {
    const secrets: string[] = [];
    for (const p of config.providers.values()) for (const k of p.keys) secrets.push(k.secret);
    for (const c of config.clients.values()) secrets.push(c.secret);
    if (config.adminKey) secrets.push(config.adminKey);
    r = new Redactor(config.audit.redact, secrets);
    cache.set(config, r);
  }
  return r;
}
