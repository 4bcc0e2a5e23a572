import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type ServeProcess, startServe } from "../ops/serve-process";

// Several lmrelay nodes as separate processes (the real CLI) over one config file, each with its
// own name (LMRELAY_NODE) and spool, for the cluster tests. Tests use the machine's Redis
// (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432) under a fresh key prefix / database each, or
// start their own instances for fault tests (cluster/engines.ts).

export const SHARED_REDIS = "redis://127.0.0.1:6379";
export const SHARED_POSTGRES = "postgres://postgres@127.0.0.1:5432";

/** Whether a binary is on PATH; tests that need it skip loudly when it is not. */
export function hasBinary(name: string): boolean {
  return Bun.which(name) !== null;
}

/** Whether a TCP port answers (the machine's shared Redis or PostgreSQL). */
export async function portOpen(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

export function randomName(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

export interface Cluster {
  dir: string;
  nodes: ServeProcess[];
  /** Starts node `i` again (after a kill), with the same name and spool. */
  restart(i: number): Promise<ServeProcess>;
  stop(): Promise<void>;
}

/** Writes `body` (the object literal inside defineConfig) and starts `n` nodes on it. Each node
 *  gets `storage.path` spool-<i>.db through LMRELAY_SPOOL and its name node-<i> through LMRELAY_NODE. */
export async function startCluster(n: number, body: string, env: Record<string, string> = {}): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-cluster-"));
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, `import { defineConfig, env } from "lmrelay";\nexport default defineConfig(${body});\n`);
  const nodeEnv = (i: number) => ({ LMRELAY_NODE: `node-${i}`, LMRELAY_SPOOL: `spool-${i}.db`, ...env });
  const nodes = await Promise.all(Array.from({ length: n }, (_, i) => startServe(file, ["--no-watch"], nodeEnv(i))));
  return {
    dir,
    nodes,
    async restart(i) {
      nodes[i] = await startServe(file, ["--no-watch"], nodeEnv(i));
      return nodes[i]!;
    },
    async stop() {
      for (const node of nodes) if (node.proc.exitCode === null && node.proc.signalCode === null) node.kill("SIGKILL");
      await Promise.all(nodes.map((node) => node.proc.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One chat request to a node as client `key`; returns the status, headers and parsed body. */
export async function ask(url: string, key: string, model = "m", extra: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...extra },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: res.status, headers: res.headers, body };
}
