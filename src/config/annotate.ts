import { ConfigError, type ResolvedConfig } from "./resolve";
import { locateFields, spotFor, tokenize } from "./locate";

// What the loader adds from the config file's text, which resolveConfig never sees: the line and
// column of each problem, why a disabled provider is off (the unset variable its `enabled:` or
// keys read), and a syntax error reported once, where the mistake is.

/** The same error with each problem's line and column in `source`, where found. */
export function locateProblems(err: ConfigError, source: string): ConfigError {
  const spots = locateFields(source);
  return new ConfigError(
    err.file,
    err.problems.map((p) => {
      const spot = p.path ? spotFor(spots, p.path) : undefined;
      return spot ? { ...p, line: spot.line, column: spot.column } : p;
    }),
  );
}

const ENV_READ = /\benv(?:\.has|\.optional)?\(\s*["'`]([A-Za-z_][A-Za-z0-9_]*)["'`]|process\.env\.([A-Za-z_][A-Za-z0-9_]*)|process\.env\[\s*["'`]([A-Za-z_][A-Za-z0-9_]*)["'`]/g;

/** The environment variable the config's `admin.key` reads, if the file names one. */
export function adminKeyVariable(source: string): string | undefined {
  const spot = locateFields(source).get("admin.key");
  if (!spot) return undefined;
  const m = [...source.slice(spot.start, spot.end).matchAll(ENV_READ)][0];
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** Sets each disabled provider's reason: the variables its block reads that are unset, e.g.
 *  `OPENAI_API_KEY not set`; else `enabled: false in the config`. */
export function explainDisabled(config: ResolvedConfig, source: string, env: Record<string, string | undefined> = process.env): void {
  if (!config.disabled?.size) return;
  const spots = locateFields(source);
  for (const d of config.disabled.values()) {
    const spot = spots.get(`providers.${d.id}`);
    const text = spot ? source.slice(spot.start, spot.end) : "";
    const unset = [...new Set([...text.matchAll(ENV_READ)].map((m) => m[1] ?? m[2] ?? m[3]!))].filter((name) => !env[name]);
    d.reason = unset.length ? `${unset.join(", ")} not set` : "enabled: false in the config";
  }
}

/** One syntax error, placed where it is: Bun reports a missing `,` at the token after it (often a
 *  line or more later, past comments) and then cascades; we keep the first diagnostic and, when
 *  it is a missing separator, move it to the end of the line that lacks it. */
export function describeSyntaxError(message: string, line: number, column: number, source: string | undefined): string {
  const found = /^Expected "([,}\])])" but found "(.+)"$/.exec(message);
  if (source && found) {
    const lines = source.split("\n");
    const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
    const prev = tokenize(source.slice(0, offset)).at(-1);
    if (prev) {
      const end = prev.at + (prev.t === "string" ? prev.v.length + 2 : prev.v.length);
      const before = source.slice(0, end).split("\n");
      if (before.length < line)
        return `line ${before.length}:${before.at(-1)!.length + 1}: missing "," at the end of this line (the next entry, "${found[2]}", starts on line ${line})\n      ${lines[before.length - 1]!.trim()}`;
    }
  }
  return `line ${line}:${column}: ${message}${source ? `\n      ${(source.split("\n")[line - 1] ?? "").trim()}` : ""}`;
}
