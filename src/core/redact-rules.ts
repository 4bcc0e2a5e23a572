// The syntax of an `audit.redact` entry: a JSON field name, or a `/regex/flags` whose matches are
// replaced in every string. Here so that config validation and the redactor read it alike.

export function isRedactPattern(entry: string): boolean {
  return entry.length > 2 && entry.startsWith("/") && entry.lastIndexOf("/") > 0;
}

/** The entry's regular expression (always global); throws when it does not compile. */
export function redactRegExp(entry: string): RegExp {
  const end = entry.lastIndexOf("/");
  const flags = entry.slice(end + 1);
  return new RegExp(entry.slice(1, end), flags.includes("g") ? flags : flags + "g");
}

/** Problems with `audit.redact` entries, for config validation. */
export function redactProblems(entries: readonly string[]): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  entries.forEach((e, i) => {
    if (!isRedactPattern(e)) return;
    try {
      redactRegExp(e);
    } catch (err) {
      out.push({ path: `audit.redact[${i}]`, message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });
  return out;
}
