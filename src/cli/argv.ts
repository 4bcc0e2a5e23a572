// Tiny argv parser: `--flag value`, `--flag=value`, boolean `--flag`, and positionals. Kept free of
// imports: main.ts loads it before deciding whether `serve` re-executes itself.

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
  /** The words after `--`, for commands that pass them on (`lmrelay run claude -- -p hi`). */
  rest?: string[];
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq !== -1) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (booleanFlags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1]!.startsWith("--")) flags.set(a.slice(2), true);
    else flags.set(a.slice(2), argv[++i]!);
  }
  return { positionals, flags };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** A message naming the first flag a command does not take, or undefined when all are known. */
export function unknownFlags(args: ParsedArgs, known: readonly string[]): string | undefined {
  for (const name of args.flags.keys()) if (!known.includes(name)) return `unknown flag --${name} (takes: ${known.map((k) => `--${k}`).join(", ")})`;
  return undefined;
}

/** Enough of a command's spec (./commands) to parse its command line. */
export interface FlagRules {
  /** Flag name → whether it takes a value. */
  flags: ReadonlyMap<string, boolean>;
  maxPositionals: number;
  /** Whether words after `--` are kept (in `rest`) for another program. */
  rest?: boolean;
}

export type CommandLine = { kind: "args"; args: ParsedArgs } | { kind: "help" } | { kind: "error"; message: string };

/** The one parser every command goes through: `--help`/`-h` anywhere asks for help, an unknown
 *  flag, a value flag without a value, a value given to a boolean flag or one positional too many
 *  is an error. Words after `--` are passed on untouched when the command takes them. */
export function parseCommandLine(argv: string[], rules: FlagRules): CommandLine {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  const known = [...rules.flags.keys()].map((k) => `--${k}`).join(", ");
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      if (!rules.rest) return { kind: "error", message: "takes no arguments after --" };
      rest = argv.slice(i + 1);
      break;
    }
    if (a === "--help" || a === "-h") return { kind: "help" };
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    if (!a.startsWith("--")) return { kind: "error", message: `unknown flag ${a} (takes: ${known})` };
    const eq = a.indexOf("=");
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    const takesValue = rules.flags.get(name);
    if (takesValue === undefined) return { kind: "error", message: `unknown flag --${name} (takes: ${known})` };
    if (!takesValue) {
      if (eq !== -1) return { kind: "error", message: `--${name} takes no value` };
      flags.set(name, true);
      continue;
    }
    if (eq !== -1) flags.set(name, a.slice(eq + 1));
    else if (i + 1 < argv.length && argv[i + 1] !== "--" && !argv[i + 1]!.startsWith("--")) flags.set(name, argv[++i]!);
    else return { kind: "error", message: `--${name} needs a value` };
  }
  if (positionals.length > rules.maxPositionals)
    return { kind: "error", message: rules.maxPositionals ? `unexpected argument "${positionals[rules.maxPositionals]}"` : `takes no arguments, got "${positionals[0]}"` };
  return { kind: "args", args: rest ? { positionals, flags, rest } : { positionals, flags } };
}
