import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// Which folder of src/ may import which (STYLE.md "Which folder may use which", README
// "Development"). Arrows point down only; what a folder may use is what its arrows reach,
// directly or through folders below it. Any folder may log; `log` itself knows nothing of config.
// Upstream adapters see config's types only (config never imports them). Type imports count: a
// type is a dependency as much as a value is. Files at the top of src/ (main, sdk, version) are the
// entry points and sit outside the folders.

const ARROWS: Record<string, string[]> = {
  cli: ["config", "server", "store"],
  server: ["inbound", "router", "governance", "store", "config", "telemetry", "cache", "core"],
  // OpenTelemetry: implements core's tracer interface; content redacted by governance's rules.
  telemetry: ["governance", "config", "core"],
  // Response cache stores (memory, SQLite, Redis) behind core's store interface.
  cache: ["store", "config", "core"],
  inbound: ["core"],
  router: ["governance", "health", "upstream", "config", "core"],
  governance: ["store", "config", "catalog", "cluster", "core"],
  health: ["store", "config", "cluster", "core"],
  upstream: ["config", "catalog", "core"],
  store: ["core"],
  config: ["core"],
  // Model knowledge (models.dev snapshot): data and lookups, below everything that reads it.
  catalog: ["core"],
  // State shared by several nodes (Redis): the interfaces governance and health are handed, and
  // their Redis implementation; the runtime passes it in.
  cluster: ["core"],
  log: ["core"],
  core: [],
};
/** Folder pairs allowed only through `import type`. */
const TYPES_ONLY = new Set(["upstream->config"]);

const SRC = resolve(import.meta.dir, "../../src");

interface Edge {
  from: string;
  to: string;
  file: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

/** src/<folder>/… → folder; a file at the top of src/ → undefined. */
function folderOf(file: string): string | undefined {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? parts[0] : undefined;
}

/** Every relative import between two folders: static, `export … from`, side-effect and dynamic. */
function folderEdges(): Edge[] {
  const edges: Edge[] = [];
  const spec = /(?:^|[\s;])(import|export)(\s+type)?\s+(?:[^'";]*?\sfrom\s+)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const m of readFileSync(file, "utf8").matchAll(spec)) {
      let target = resolve(dirname(file), m[3] ?? m[4]!);
      if (!target.startsWith(`${SRC}/`)) continue;
      // `from "../catalog"` is the folder's index.
      if (existsSync(target) && statSync(target).isDirectory()) target = join(target, "index.ts");
      const to = folderOf(target);
      if (!to || to === from) continue;
      edges.push({ from, to, file: relative(SRC, file), typeOnly: m[2] !== undefined });
    }
  }
  return edges;
}

/** What each folder may import: its arrows' closure, plus `log`. */
function allowed(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const reach = (f: string, seen: Set<string>) => {
    for (const t of ARROWS[f] ?? []) if (!seen.has(t)) (seen.add(t), reach(t, seen));
    return seen;
  };
  for (const f of Object.keys(ARROWS)) {
    const s = reach(f, new Set());
    if (f !== "log") s.add("log");
    out.set(f, s);
  }
  return out;
}

/** Every circle in the folder graph, as `a -> b -> … -> a`. */
function circles(edges: Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) (next.get(e.from) ?? next.set(e.from, new Set()).get(e.from)!).add(e.to);
  const found = new Set<string>();
  const walk = (path: string[]) => {
    for (const n of next.get(path.at(-1)!) ?? []) {
      const at = path.indexOf(n);
      if (at >= 0) {
        const loop = path.slice(at);
        // One spelling per circle: start at its smallest folder name.
        const start = loop.indexOf([...loop].sort()[0]!);
        const canon = [...loop.slice(start), ...loop.slice(0, start)];
        found.add([...canon, canon[0]].join(" -> "));
      } else if (path.length < 12) walk([...path, n]);
    }
  };
  for (const f of next.keys()) walk([f]);
  return [...found].sort();
}

describe("folder imports", () => {
  const edges = folderEdges();

  test("the scan sees the imports (it would pass vacuously otherwise)", () => {
    expect(edges.some((e) => e.from === "router" && e.to === "upstream")).toBe(true);
    expect(edges.some((e) => e.from === "server" && e.to === "inbound")).toBe(true);
    expect(edges.some((e) => e.from === "upstream" && e.to === "config" && e.typeOnly)).toBe(true);
    // A folder imported by its name (its index.ts) counts too.
    expect(edges.some((e) => e.from === "upstream" && e.to === "catalog")).toBe(true);
  });

  test("every folder of src/ has its place in the arrows", () => {
    const folders = new Set(readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name));
    expect([...folders].filter((f) => !(f in ARROWS))).toEqual([]);
  });

  test("no folder imports one its arrows do not reach", () => {
    const may = allowed();
    const against = edges
      .filter((e) => !may.get(e.from)?.has(e.to) || (TYPES_ONLY.has(`${e.from}->${e.to}`) && !e.typeOnly))
      .map((e) => `${e.from} -> ${e.to}${TYPES_ONLY.has(`${e.from}->${e.to}`) ? " (types only)" : ""}  (${e.file})`);
    expect([...new Set(against)]).toEqual([]);
  });

  test("no circle between folders", () => {
    expect(circles(edges)).toEqual([]);
  });

  test("the checks catch what they are for", () => {
    // A made-up graph with a circle and an edge against the arrows.
    const made: Edge[] = [
      { from: "health", to: "upstream", file: "health/probe.ts", typeOnly: false },
      { from: "upstream", to: "health", file: "upstream/http.ts", typeOnly: false },
    ];
    expect(circles(made)).toEqual(["health -> upstream -> health"]);
    expect(allowed().get("health")!.has("upstream")).toBe(false);
    expect(allowed().get("config")!.has("upstream")).toBe(false);
    expect(allowed().get("router")!.has("store")).toBe(true);
    expect(allowed().get("log")!.has("config")).toBe(false);
  });
});
