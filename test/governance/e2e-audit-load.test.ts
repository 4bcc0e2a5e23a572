import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// 500 concurrent requests over the three protocols, streamed and not: exactly 500 audit rows, each
// with the upstream's token counts and the cost they imply, and the spend rollup and metrics agree.
// Once with an in-memory database (its queue on the request thread), once with a file (written by
// the audit writer thread).

let upstream: OpenAIFake;
let dir: string;
const INPUT = 10;
const OUTPUT = 5;
// $2 / $4 per million: one request costs (10 × 2 + 5 × 4) / 1e6.
const COST = (INPUT * 2 + OUTPUT * 4) / 1_000_000;

beforeAll(async () => {
  upstream = await startOpenAIFake();
  upstream.reply({ text: "load ok", usage: { input: INPUT, output: OUTPUT } });
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-audit-load-"));
});

afterAll(async () => {
  await upstream?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const storage of ["memory", "file"] as const)
  describe(`audit under load (${storage === "file" ? "a database file: the writer thread" : "in memory: the request thread"})`, () => {
    let gw: TestGateway;

    beforeAll(async () => {
      gw = await startGateway({
        providers: {
          oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"], pricing: { "gpt-4o-mini": { input: 2, output: 4 } } },
        },
        clients: { load: { key: "lmr-load-key" } },
        storage: { path: storage === "file" ? path.join(dir, "audit.db") : ":memory:" },
      });
    });

    afterAll(async () => {
      await gw?.stop();
    });

    test("500 concurrent requests → exactly 500 audit rows with correct tokens and cost", async () => {
      const proc = Bun.spawn([process.execPath, path.join(import.meta.dir, "load-client.ts"), gw.url, "500", "lmr-load-key", "oa/gpt-4o-mini"], {
        stdout: "pipe",
        stderr: "pipe",
        // Let all 500 be in flight at once (Bun's default cap is 256 concurrent fetches a process).
        env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "1024" },
      });
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      const texts = JSON.parse(out) as string[];
      expect(texts).toHaveLength(500);
      expect(texts.filter((t) => t !== "load ok")).toEqual([]);

      gw.runtime.audit.flush();
      const sqlite = gw.runtime.db.$client;
      const rows = sqlite.query("select request_id, status, input_tokens, output_tokens, cost_usd, client, provider, model, usage_estimated from requests").all() as {
        request_id: string;
        status: number;
        input_tokens: number;
        output_tokens: number;
        cost_usd: number;
        client: string;
        provider: string;
        model: string;
        usage_estimated: number;
      }[];
      expect(rows).toHaveLength(500);
      expect(new Set(rows.map((r) => r.request_id)).size).toBe(500);
      for (const r of rows) {
        expect(r).toMatchObject({ status: 200, input_tokens: INPUT, output_tokens: OUTPUT, client: "load", provider: "oa", model: "gpt-4o-mini", usage_estimated: 0 });
        expect(r.cost_usd).toBeCloseTo(COST, 12);
      }
      const day = sqlite.query("select sum(requests) as n, sum(input_tokens) as i, sum(output_tokens) as o, sum(cost_usd) as usd from spend_daily").get() as {
        n: number;
        i: number;
        o: number;
        usd: number;
      };
      expect(day).toMatchObject({ n: 500, i: 500 * INPUT, o: 500 * OUTPUT });
      expect(day.usd).toBeCloseTo(500 * COST, 9);
      expect(gw.runtime.audit.dropped).toBe(0);
      expect(gw.runtime.audit.written).toBe(500);
      // The counter budgets read agrees with the table.
      expect(gw.runtime.audit.spend.of("load", {})).toBeCloseTo(day.usd, 9);

      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      const requests = [...metrics.matchAll(/^lmrelay_requests_total\{[^}]*status="200"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      expect(requests).toBe(500);
      expect(metrics).toMatch(new RegExp(`^lmrelay_tokens_total\\{provider="oa",model="gpt-4o-mini",client="load",type="input"\\} ${500 * INPUT}$`, "m"));
    }, 60_000);
  });
