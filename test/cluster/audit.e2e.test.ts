import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import path from "node:path";
import { SQL } from "bun";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { freshDatabase } from "./engines";
import { ask, type Cluster, portOpen, randomName, SHARED_POSTGRES, SHARED_REDIS, startCluster } from "./nodes";

// Three nodes, one PostgreSQL (SPEC §8): every request is in the shared audit log exactly once,
// with the node that served it; the admin API, `lmrelay logs` and `lmrelay stats` on any node show
// every node's requests; /metrics has the cluster gauges. A fresh database per run, dropped after.

const root = path.resolve(import.meta.dir, "../..");
const enginesUp = (await portOpen(5432)) && (await portOpen(6379));
if (!enginesUp) console.warn("SKIPPED test/cluster/audit.e2e.test.ts: needs PostgreSQL on 127.0.0.1:5432 and Redis on 6379 (.ci/run starts them)");

const ADMIN = "admin-key-cluster-audit";
let fake: OpenAIFake;
let cluster: Cluster;
let db: { url: string; drop(): Promise<void> };
let pg: SQL;

beforeAll(async () => {
  if (!enginesUp) return;
  db = await freshDatabase(SHARED_POSTGRES, randomName("lmrelay_test_"));
  pg = new SQL(db.url, { max: 2 });
  fake = await startOpenAIFake({ models: ["m"] });
  fake.reply({ text: "ok", usage: { input: 10, output: 5 } });
  cluster = await startCluster(
    3,
    `{
  storage: { path: env("LMRELAY_SPOOL"), postgres: "${db.url}" },
  cluster: { redis: "${SHARED_REDIS}", node: env("LMRELAY_NODE"), keyPrefix: "${randomName("lmrelay-test-")}:" },
  admin: { key: "${ADMIN}" },
  providers: { up: { type: "openai-compatible", baseUrl: "${fake.url}/v1", models: ["m"], keys: ["sk-test"], pricing: { m: { input: 1, output: 2 } } } },
  clients: { app: { key: "client-app-key-0001" } },
  health: { probeIntervalMs: 0 },
}`,
  );
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await fake?.stop();
  await pg?.close();
  await db?.drop();
}, 30_000);

async function waitForRows(n: number, ms = 10_000): Promise<number> {
  const until = Date.now() + ms;
  let count = 0;
  while (Date.now() < until) {
    count = Number((await pg`select count(*)::int as n from requests`)[0].n);
    if (count >= n) return count;
    await Bun.sleep(100);
  }
  return count;
}

function cli(command: string, ...args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), command, "--config", path.join(cluster.dir, "lmrelay.config.ts"), ...args], {
    cwd: cluster.dir,
    env: { PATH: process.env.PATH!, LMRELAY_NODE: "cli", LMRELAY_SPOOL: "cli.db" },
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

describe.skipIf(!enginesUp)("three nodes, one PostgreSQL audit log", () => {
  const ids: string[] = [];

  test("every request is in PostgreSQL exactly once, with its node", async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => ask(cluster.nodes[i % 3]!.url, "client-app-key-0001")));
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    ids.push(...answers.map((a) => a.headers.get("x-request-id")!));
    expect(await waitForRows(30)).toBe(30);
    await Bun.sleep(300); // nothing more may arrive
    const rows = await pg`select request_id, node, cost_usd from requests order by id`;
    expect(rows).toHaveLength(30);
    expect(new Set(rows.map((r: { request_id: string }) => r.request_id))).toEqual(new Set(ids));
    const perNode = new Map<string, number>();
    for (const r of rows as { node: string }[]) perNode.set(r.node, (perNode.get(r.node) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ "node-0": 10, "node-1": 10, "node-2": 10 });
    // The spend rollup took each row once: 30 × (10 × $1 + 5 × $2) per million tokens.
    const spend = await pg`select sum(requests)::int as n, sum(cost_usd) as usd from spend_daily`;
    expect(spend[0].n).toBe(30);
    expect(Number(spend[0].usd)).toBeCloseTo(30 * 20e-6, 12);
  });

  test("the admin API of each node shows every node's requests", async () => {
    for (const node of cluster.nodes) {
      const res = await fetch(`${node.url}/admin/api/requests?limit=100`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { requestId: string; node: string }[] };
      expect(new Set(body.data.map((r) => r.requestId))).toEqual(new Set(ids));
      expect(new Set(body.data.map((r) => r.node))).toEqual(new Set(["node-0", "node-1", "node-2"]));
      const one = await fetch(`${node.url}/admin/api/requests?node=node-1&limit=100`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(((await one.json()) as { data: unknown[] }).data).toHaveLength(10);
      const spend = (await (await fetch(`${node.url}/admin/api/spend`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { byClient: { name: string; requests: number }[] };
      expect(spend.byClient).toEqual([expect.objectContaining({ name: "app", requests: 30 })]);
    }
  });

  test("lmrelay logs and stats read PostgreSQL: a node column and a per-node breakdown", () => {
    const logs = cli("logs", "--limit", "100", "--json");
    expect(logs.err).toBe("");
    const lines = logs.out.trim().split("\n").map((l) => JSON.parse(l) as { requestId: string; node: string });
    expect(new Set(lines.map((l) => l.requestId))).toEqual(new Set(ids));
    const table = cli("logs", "--limit", "3", "--node", "node-2");
    const [header, ...rows] = table.out.trim().split("\n");
    expect(header).toMatch(/^time \(UTC\)\s+node\s+request/);
    expect(rows, table.out + table.err).toHaveLength(3);
    for (const l of rows) expect(l).toContain(" node-2 ");
    const stats = cli("stats", "--json");
    const s = JSON.parse(stats.out) as { total: { requests: number }; byNode: { name: string; requests: number }[] };
    expect(s.total.requests).toBe(30);
    expect(s.byNode.map((l) => [l.name, l.requests]).sort()).toEqual([["node-0", 10], ["node-1", 10], ["node-2", 10]]);
    expect(cli("stats").out).toMatch(/\nnode\s+requests[^\n]*\n(node-\d\s+10\s[^\n]*\n){3}/);
  }, 30_000);

  test("/metrics carries the node and the engines' gauges; /healthz stays local", async () => {
    const text = await (await fetch(`${cluster.nodes[1]!.url}/metrics`)).text();
    expect(text).toContain('lmrelay_cluster_node_info{node="node-1"} 1');
    expect(text).toContain('lmrelay_cluster_redis_up{node="node-1"} 1');
    expect(text).toContain('lmrelay_cluster_postgres_up{node="node-1"} 1');
    expect(text).toContain('lmrelay_cluster_spool_rows{node="node-1"} 0');
    expect((await fetch(`${cluster.nodes[1]!.url}/healthz`)).status).toBe(200);
  });
});
