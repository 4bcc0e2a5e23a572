#!/usr/bin/env bun
// Generates the editor types for `import { defineConfig, env } from "lmrelay"`: one ambient
// `declare module "lmrelay" { ... }` file, bundled from the declarations tsc emits for src/sdk.ts.
// `lmrelay init` writes it beside the user's config (it is embedded in the binary as text), so an
// editor or `tsc --noEmit` type-checks the config with no node_modules.
//
//   bun scripts/sdk-types.ts           rewrite src/cli/templates/lmrelay-env.d.ts.txt if it is stale
//   bun scripts/sdk-types.ts --check   exit 1 when it is stale
//
// The bundler is deliberately small: it follows the re-exports of src/sdk.ts, copies each exported
// declaration, and pulls in (unexported) every declaration those refer to, from the same file or
// through relative `import type`s. Anything it cannot inline (a type from an npm package, a
// renamed re-export) is an error naming the declaration, never a silently broken file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dir, "..");
export const SDK_TYPES_FILE = path.join(root, "src/cli/templates/lmrelay-env.d.ts.txt");

const HEADER = `// Types for \`import { defineConfig, env } from "lmrelay"\` in lmrelay.config.ts: what editors and
// \`tsc --noEmit\` need, with no node_modules. The lmrelay binary serves this module itself at run
// time. Generated from lmrelay's src/sdk.ts (scripts/sdk-types.ts); do not edit.
`;

interface Statement {
  /** The statement as emitted, with its leading doc comment. */
  text: string;
  name?: string;
  exported: boolean;
}

interface DeclFile {
  file: string;
  statements: Statement[];
  /** Local name → [absolute .d.ts file, name there]. */
  imports: Map<string, [string, string]>;
  /** Names declared (a name may have several statements: overloads, merged interfaces). */
  decls: Map<string, Statement[]>;
  reexports: { from: string; names?: string[] }[];
}

/** Runs tsc's declaration emit for src/sdk.ts and returns the bundled ambient module text. */
export function generateSdkTypes(): string {
  const out = mkdtempSync(path.join(tmpdir(), "lmrelay-sdk-types-"));
  try {
    const tsconfig = path.join(out, "tsconfig.json");
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: {
          declaration: true,
          emitDeclarationOnly: true,
          noCheck: true,
          outDir: path.join(out, "d"),
          rootDir: path.join(root, "src"),
          module: "Preserve",
          moduleResolution: "bundler",
          target: "ESNext",
          strict: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          resolveJsonModule: true,
          types: ["bun"],
          typeRoots: [path.join(root, "node_modules/@types")],
        },
        files: [path.join(root, "src/sdk.ts")],
      }),
    );
    const tsc = Bun.spawnSync([process.execPath, path.join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { stdout: "pipe", stderr: "pipe" });
    if (tsc.exitCode !== 0) throw new Error(`tsc declaration emit failed:\n${tsc.stdout}${tsc.stderr}`);
    return bundle(path.join(out, "d", "sdk.d.ts"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function bundle(entry: string): string {
  const files = new Map<string, DeclFile>();
  const load = (file: string): DeclFile => {
    let f = files.get(file);
    if (!f) files.set(file, (f = parseDeclFile(file)));
    return f;
  };
  // (file, name) pairs to include; public ones keep `export`.
  const included = new Map<string, { file: string; name: string; public: boolean }>();
  const queue: { file: string; name: string; public: boolean; via: string }[] = [];
  const sdk = load(entry);
  for (const re of sdk.reexports) {
    const target = load(re.from);
    const names = re.names ?? [...target.decls.keys()].filter((n) => target.decls.get(n)!.some((s) => s.exported));
    for (const name of names) queue.push({ file: re.from, name, public: true, via: "src/sdk.ts" });
  }
  const owner = new Map<string, string>();
  while (queue.length) {
    const item = queue.shift()!;
    const f = load(item.file);
    const id = `${item.file}\0${item.name}`;
    const seen = included.get(id);
    if (seen) {
      seen.public ||= item.public;
      continue;
    }
    const statements = f.decls.get(item.name);
    if (!statements) {
      const imported = f.imports.get(item.name);
      if (imported) {
        queue.push({ file: imported[0], name: imported[1], public: item.public, via: item.via });
        continue;
      }
      throw new Error(`sdk-types: ${item.via} needs "${item.name}", which ${rel(item.file)} neither declares nor imports from a relative file`);
    }
    const other = owner.get(item.name);
    if (other && other !== item.file) throw new Error(`sdk-types: "${item.name}" is declared in both ${rel(other)} and ${rel(item.file)}; rename one`);
    owner.set(item.name, item.file);
    included.set(id, { file: item.file, name: item.name, public: item.public });
    for (const s of statements) {
      if (s.text.includes("import(")) throw new Error(`sdk-types: "${item.name}" in ${rel(item.file)} refers to an npm package's type; it cannot be inlined`);
      for (const ref of identifiers(s.text)) {
        if (ref === item.name) continue;
        if (f.decls.has(ref) || f.imports.has(ref)) queue.push({ file: item.file, name: ref, public: false, via: `"${item.name}"` });
      }
    }
  }
  // Emit in a stable order: files as first loaded, statements in their written order.
  const body: string[] = [];
  for (const f of files.values())
    for (const s of f.statements) {
      if (!s.name) continue;
      const inc = included.get(`${f.file}\0${s.name}`);
      if (!inc) continue;
      body.push(ambient(s.text, inc.public));
    }
  // tsc indents by 4; the file reads better at 2, one level deeper inside the module block.
  const indented = body.map((t) => t.replace(/^((?: {4})*)(?=.)/gm, (lead: string) => "  " + "  ".repeat(lead.length / 4))).join("\n");
  // `export {}` turns off the implicit export of everything in an ambient module, so the helpers
  // pulled in above stay private, exactly like the run-time module.
  return `${HEADER}\ndeclare module "lmrelay" {\n${indented}\n  export {};\n}\n`;
}

/** Drops `declare` (implicit inside `declare module`) and, for private helpers, `export`. */
function ambient(text: string, isPublic: boolean): string {
  return text.replace(/^(export\s+)?(declare\s+)?(?=(interface|type|const|let|var|function|class|enum|namespace|abstract)\b)/m, (_m, exp: string | undefined) => (isPublic && exp ? "export " : ""));
}

function rel(file: string): string {
  return file.replace(/^.*?\/d\//, "src/").replace(/\.d\.ts$/, ".ts");
}

function parseDeclFile(file: string): DeclFile {
  const src = readFileSync(file, "utf8").replace(/\r\n/g, "\n");
  const dir = path.dirname(file);
  const resolve = (spec: string) => {
    if (!spec.startsWith(".")) throw new Error(`sdk-types: ${rel(file)} uses the package "${spec}"; only relative imports can be inlined`);
    return path.resolve(dir, spec.replace(/\.(ts|js)$/, "")) + ".d.ts";
  };
  const f: DeclFile = { file, statements: [], imports: new Map(), decls: new Map(), reexports: [] };
  for (const text of splitStatements(src)) {
    const code = stripComments(text).trim();
    let m: RegExpExecArray | null;
    if ((m = /^import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/.exec(code))) {
      for (const spec of splitNames(m[1]!)) {
        const [orig, local] = spec.split(/\s+as\s+/) as [string, string | undefined];
        if (!m[2]!.startsWith(".")) continue; // checked only if something refers to it
        f.imports.set((local ?? orig).trim(), [resolve(m[2]!), orig.trim()]);
      }
      continue;
    }
    if (/^import\b/.test(code) || /^export\s*\{\s*\}/.test(code)) continue;
    if ((m = /^export\s+(?:type\s+)?\*\s+from\s*["']([^"']+)["']/.exec(code))) {
      f.reexports.push({ from: resolve(m[1]!) });
      continue;
    }
    if ((m = /^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/.exec(code))) {
      const names = splitNames(m[1]!);
      for (const n of names) if (/\sas\s/.test(n)) throw new Error(`sdk-types: renamed re-export "${n}" in ${rel(file)} is not supported`);
      f.reexports.push({ from: resolve(m[2]!), names });
      continue;
    }
    const d = /^(export\s+)?(?:declare\s+)?(?:abstract\s+)?(?:interface|type|const|let|var|function|class|enum|namespace)\s+([A-Za-z_$][\w$]*)/.exec(code);
    if (!d) throw new Error(`sdk-types: cannot read this statement in ${rel(file)}:\n${text}`);
    const st: Statement = { text: text.trim(), name: d[2]!, exported: Boolean(d[1]) };
    f.statements.push(st);
    const list = f.decls.get(st.name!) ?? [];
    list.push(st);
    f.decls.set(st.name!, list);
  }
  return f;
}

function splitNames(list: string): string[] {
  return list
    .split(",")
    .map((s) => s.trim().replace(/^type\s+/, ""))
    .filter(Boolean);
}

/** Top-level statements of a .d.ts, each with the comments before it. */
function splitStatements(src: string): string[] {
  const out: string[] = [];
  let start = 0;
  let depth = 0;
  let i = 0;
  const end = (at: number) => {
    const s = src.slice(start, at);
    if (stripComments(s).trim()) out.push(s);
    start = at;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "/" && src[i + 1] === "/") {
      const nl = src.indexOf("\n", i);
      i = nl === -1 ? src.length : nl;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const close = src.indexOf("*/", i + 2);
      i = close === -1 ? src.length : close + 2;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      i++;
      while (i < src.length && src[i] !== c) i += src[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "}") {
      depth--;
      if (depth === 0) {
        // `interface X { }` ends at its brace; `type X = { … };` and `export { a } from "…";` go on.
        if (/^(export\s+)?(declare\s+)?(abstract\s+)?(interface|enum|namespace|module|class)\b/.test(stripComments(src.slice(start, i)).trim())) end(i + 1);
      }
    } else if (c === ";" && depth === 0) {
      end(i + 1);
    }
    i++;
  }
  end(src.length);
  return out;
}

function stripComments(s: string): string {
  return s.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

function identifiers(text: string): Set<string> {
  const code = stripComments(text).replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
  return new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? []);
}

if (import.meta.main) {
  const next = generateSdkTypes();
  let current = "";
  try {
    current = readFileSync(SDK_TYPES_FILE, "utf8");
  } catch {}
  const check = process.argv.includes("--check");
  if (current === next) console.log(`${path.relative(root, SDK_TYPES_FILE)} is up to date`);
  else if (check) {
    console.error(`${path.relative(root, SDK_TYPES_FILE)} is stale: run bun scripts/sdk-types.ts`);
    process.exit(1);
  } else {
    writeFileSync(SDK_TYPES_FILE, next);
    console.log(`wrote ${path.relative(root, SDK_TYPES_FILE)}`);
  }
}
