// Tiny argv parser: `--flag value`, `--flag=value`, boolean `--flag`, and positionals. Kept free of
// imports: main.ts loads it before deciding whether `serve` re-executes itself.

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
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
