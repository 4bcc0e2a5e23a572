import { readFileSync } from "node:fs";

// `--env-file PATH`: the same KEY=VALUE file the systemd unit's EnvironmentFile= reads, for
// running lmrelay by hand. (The release binary deliberately does not autoload a `.env` from its
// working directory: a service takes its environment from systemd, not from whatever sits there.)

/** Parses `KEY=value` lines: `#` comments, optional `export `, single or double quotes. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\([nrt"\\$])/g, (_, c: string) => ({ n: "\n", r: "\r", t: "\t" })[c] ?? c);
    } else value = value.replace(/\s+#.*$/, "");
    out.set(m[1]!, value);
  }
  return out;
}

/** Sets variables from the file that the environment does not already set (the environment wins,
 *  as with systemd). Returns how many were set. Throws with a readable message when unreadable. */
export function loadEnvFile(file: string, env: Record<string, string | undefined> = process.env): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read --env-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let n = 0;
  for (const [k, v] of parseEnvFile(text)) {
    if (env[k] !== undefined && env[k] !== "") continue;
    env[k] = v;
    n++;
  }
  return n;
}
