// Model-name globs (`claude-haiku-*`, `local/*`): `*` matches any run of characters, `?` one.

export type Matcher = (name: string) => boolean;

export function compileGlob(pattern: string): Matcher {
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

/** One matcher for a list of globs; `undefined` list = match everything. */
export function compileGlobs(patterns: readonly string[] | undefined): Matcher {
  if (!patterns) return () => true;
  const matchers = patterns.map(compileGlob);
  return (name) => matchers.some((m) => m(name));
}
