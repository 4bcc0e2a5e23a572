// Every command's flags and help, as data: main.ts parses each command line against its entry, so
// `--help`, unknown flags and missing values behave the same for every command. Kept free of
// imports: main.ts loads it before deciding whether `serve` re-executes itself.

export interface FlagSpec {
  name: string;
  /** Placeholder of the value (`PATH`); absent = a boolean flag. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** The words after `lmrelay <name>` in the usage line. */
  synopsis: string;
  summary: string;
  flags: FlagSpec[];
  /** Most positionals the command takes (the words after `--` do not count). */
  maxPositionals: number;
  /** Whether `-- args…` is taken (passed on to another program). */
  rest?: boolean;
  /** Lines printed after the flags in `lmrelay help <command>`. */
  notes?: string[];
}

const CONFIG: FlagSpec = { name: "config", value: "PATH", help: "the config file (default ./lmrelay.config.ts)" };
const JSON_FLAG: FlagSpec = { name: "json", help: "machine-readable output" };
const DB: FlagSpec = { name: "db", value: "PATH", help: "the SQLite audit database (default: the config's storage.path)" };
const ENV_FILE: FlagSpec = { name: "env-file", value: "PATH", help: "KEY=value lines added to the environment (variables already set win)" };
const CLIENT_KEY: FlagSpec = { name: "client", value: "NAME", help: "use the key of this client from the config (default: $LMRELAY_API_KEY, else a placeholder)" };
const MODEL: FlagSpec = { name: "model", value: "NAME", help: "the model name the client asks for (default: an alias from the config)" };
const URL_FLAG: FlagSpec = { name: "url", value: "URL", help: "the gateway address (default: from --config, ./lmrelay.config.ts or the installed service)" };

export const CLIENT_NAMES = ["claude", "codex", "gemini", "openai", "anthropic", "aider", "continue", "opencode", "open-webui"] as const;

export const COMMAND_SPECS: CommandSpec[] = [
  {
    name: "serve",
    synopsis: "[--config PATH] [--host HOST] [--port PORT] [--no-watch] [--drain-timeout SECONDS] [--log-level L]",
    summary: "run the gateway (reloads on config change and SIGHUP)",
    maxPositionals: 0,
    flags: [
      CONFIG,
      { name: "host", value: "HOST", help: "listen address (overrides server.host)" },
      { name: "port", value: "PORT", help: "listen port (overrides server.port)" },
      { name: "no-watch", help: "reload on SIGHUP only, not when the file changes" },
      { name: "drain-timeout", value: "SECONDS", help: "how long SIGTERM waits for running requests (default 30)" },
      { name: "log-level", value: "L", help: "debug, info, warn or error" },
    ],
  },
  {
    name: "check",
    synopsis: "[--config PATH] [--strict]",
    summary: "validate the config; print every provider (enabled or not), each alias chain and its verdict",
    maxPositionals: 0,
    flags: [CONFIG, { name: "strict", help: "exit 1 when an alias has no usable target" }],
  },
  {
    name: "models",
    synopsis: "[--config PATH] [--json]",
    summary: "list the model names clients can use, with prices; disabled targets are marked",
    maxPositionals: 0,
    flags: [CONFIG, JSON_FLAG],
  },
  {
    name: "init",
    synopsis: "[DIR] [--force] [--types]",
    summary: "write a starter config, its editor types, a tsconfig.json and a .env.example",
    maxPositionals: 1,
    flags: [
      { name: "force", help: "overwrite existing files" },
      { name: "types", help: "write only lmrelay-env.d.ts (after an upgrade)" },
    ],
  },
  {
    name: "service",
    synopsis: "install [--user] [--dry-run] [--config PATH] [--env-file PATH] [--name NAME] [--binary PATH] [--force]",
    summary: "write a hardened systemd unit for `lmrelay serve`",
    maxPositionals: 1,
    flags: [
      { name: "user", help: "a per-user service (systemctl --user) instead of a system one" },
      { name: "dry-run", help: "print the unit; write nothing" },
      { name: "config", value: "PATH", help: "the config file the service runs (default ./lmrelay.config.ts)" },
      { name: "name", value: "NAME", help: "unit and state directory name (default lmrelay)" },
      { name: "binary", value: "PATH", help: "the lmrelay executable (default: this one)" },
      { name: "force", help: "replace an existing, different unit file" },
    ],
    notes: ["--env-file here names the unit's EnvironmentFile= (default .env beside the config, optional)."],
  },
  {
    name: "env",
    synopsis: `<client> [--config PATH] [--client NAME] [--model NAME] [--url URL]`,
    summary: "print what a client needs to use this gateway: shell exports or a config snippet",
    maxPositionals: 1,
    flags: [CONFIG, CLIENT_KEY, MODEL, URL_FLAG],
    notes: [`clients: ${CLIENT_NAMES.join(", ")}`],
  },
  {
    name: "run",
    synopsis: `<client> [--config PATH] [--client NAME] [--model NAME] [--url URL] [-- ARGS…]`,
    summary: "start a client with its environment set for this gateway (e.g. lmrelay run claude -- -p hi)",
    maxPositionals: 1,
    rest: true,
    flags: [CONFIG, CLIENT_KEY, MODEL, URL_FLAG],
    notes: [
      "claude, codex, gemini, aider, opencode and open-webui start that program; openai and anthropic",
      "run the command after -- with the SDK's variables set (lmrelay run openai -- python app.py).",
    ],
  },
  {
    name: "logs",
    synopsis: "[--client C] [--model M] [--provider P] [--node N] [--status 429|5xx|error] [--since 1h|2025-11-01] [--limit N] [--json] [--config PATH|--db PATH]",
    summary: "query the audit log",
    maxPositionals: 0,
    flags: [
      CONFIG,
      DB,
      { name: "client", value: "C", help: "only this client" },
      { name: "model", value: "M", help: "only this requested model" },
      { name: "provider", value: "P", help: "only requests served by this provider" },
      { name: "node", value: "N", help: "only requests this node served (cluster.node)" },
      { name: "status", value: "S", help: "a status (429), a class (5xx) or error" },
      { name: "since", value: "WHEN", help: "a duration (30m, 24h, 7d) or a date" },
      { name: "limit", value: "N", help: "at most N rows (default 50)" },
      JSON_FLAG,
    ],
  },
  {
    name: "stats",
    synopsis: "[--since 24h] [--json] [--config PATH|--db PATH]",
    summary: "requests, errors, latency, tokens and spend by client, provider, model (and node)",
    maxPositionals: 0,
    flags: [CONFIG, DB, { name: "since", value: "WHEN", help: "a duration (30m, 24h, 7d) or a date (default 24h)" }, JSON_FLAG],
  },
  { name: "version", synopsis: "", summary: "print version and commit", maxPositionals: 0, flags: [] },
  { name: "help", synopsis: "[COMMAND]", summary: "this overview, or the help of one command", maxPositionals: 1, flags: [] },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMAND_SPECS.find((c) => c.name === name);
}

/** Every flag a command takes: its own, `--env-file` (every command) and `--help`. */
export function allFlags(spec: CommandSpec): FlagSpec[] {
  return [...spec.flags, ENV_FILE, { name: "help", help: "print this help" }];
}

export function usageLine(spec: CommandSpec): string {
  return `usage: lmrelay ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ""}`;
}

export function commandHelp(spec: CommandSpec): string {
  const flags = allFlags(spec);
  const label = (f: FlagSpec) => `--${f.name}${f.value ? ` ${f.value}` : ""}`;
  const width = Math.max(...flags.map((f) => label(f).length));
  const out = [usageLine(spec), "", spec.summary, "", "flags:", ...flags.map((f) => `  ${label(f).padEnd(width)}  ${f.help}`)];
  if (spec.notes?.length) out.push("", ...spec.notes);
  return out.join("\n") + "\n";
}

export function overview(version: string): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length));
  return [
    `lmrelay ${version} — one port for OpenAI, Anthropic, Ollama, Responses and Gemini clients; many providers behind it.`,
    "",
    "usage: lmrelay <command> [flags]",
    "",
    "commands:",
    ...COMMAND_SPECS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --env-file PATH and --help; `lmrelay help <command>` shows its flags.",
    "First steps: lmrelay init, lmrelay check, lmrelay serve (or lmrelay service install), lmrelay run claude.",
    "",
  ].join("\n");
}
