import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { VERSION } from "../version";
import { type ParsedArgs, unknownFlags } from "./args";
import envExample from "./templates/env.example.txt" with { type: "text" };
import sdkTypes from "./templates/lmrelay-env.d.ts.txt" with { type: "text" };
import starterConfig from "./templates/lmrelay.config.ts.txt" with { type: "text" };
import tsconfig from "./templates/tsconfig.json.txt" with { type: "text" };

// `lmrelay init [DIR] [--force] [--types]`: a commented starter config, the editor types for
// `import ... from "lmrelay"` (so `tsc --noEmit` checks the config with no node_modules), a
// tsconfig.json and a .env.example. The templates are embedded in the binary as text.

export interface InitFile {
  name: string;
  content: string;
  what: string;
}

export function initFiles(opts: { typesOnly?: boolean } = {}): InitFile[] {
  const types: InitFile = {
    name: "lmrelay-env.d.ts",
    content: `// lmrelay ${VERSION}. After upgrading lmrelay, refresh with: lmrelay init --types --force\n${sdkTypes}`,
    what: 'types of the "lmrelay" module, for editors and tsc',
  };
  if (opts.typesOnly) return [types];
  return [
    { name: "lmrelay.config.ts", content: starterConfig, what: "the starter config: edit this" },
    types,
    { name: "tsconfig.json", content: tsconfig, what: "editor settings for the config" },
    { name: ".env.example", content: envExample, what: "the environment variables the config reads" },
  ];
}

export function initCommand(args: ParsedArgs): number {
  const bad = unknownFlags(args, ["force", "types", "env-file"]);
  if (bad || args.positionals.length > 1) {
    process.stderr.write(`lmrelay init: ${bad ?? "takes at most one folder"}\nusage: lmrelay init [DIR] [--force] [--types]\n`);
    return 2;
  }
  const dir = path.resolve(args.positionals[0] ?? ".");
  const force = args.flags.has("force");
  const files = initFiles({ typesOnly: args.flags.has("types") });
  // Check everything before writing anything: no half-initialised folders.
  const existing = files.filter((f) => existsSync(path.join(dir, f.name)));
  if (existing.length && !force) {
    process.stderr.write(
      `lmrelay init: ${existing.map((f) => path.join(dir, f.name)).join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing written (--force overwrites)\n`,
    );
    return 1;
  }
  try {
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(path.join(dir, f.name), f.content);
  } catch (e) {
    process.stderr.write(`lmrelay init: cannot write into ${dir}: ${(e as Error).message}\n`);
    return 1;
  }
  const width = Math.max(...files.map((f) => f.name.length));
  const out = [`lmrelay init: wrote into ${dir}`, ...files.map((f) => `  ${f.name.padEnd(width)}  ${f.what}`)];
  if (files.length > 1) {
    // Paths as the user would type them: relative below the current folder, absolute elsewhere.
    const rel = path.relative(process.cwd(), dir);
    const base = rel.startsWith("..") || path.isAbsolute(rel) ? dir : rel;
    const at = (name: string) => (base ? path.join(base, name) : name);
    out.push(
      "",
      "next:",
      `  cp ${at(".env.example")} ${at(".env")} && chmod 600 ${at(".env")}   then fill in your keys`,
      `  lmrelay check --config ${at("lmrelay.config.ts")} --env-file ${at(".env")}`,
      `  lmrelay serve --config ${at("lmrelay.config.ts")} --env-file ${at(".env")}`,
      `  lmrelay service install --config ${at("lmrelay.config.ts")}   to run it under systemd`,
      `  lmrelay run claude --config ${at("lmrelay.config.ts")}   start a client through it (lmrelay env codex|gemini|… prints the settings)`,
    );
  }
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
