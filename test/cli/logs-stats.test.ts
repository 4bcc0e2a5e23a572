import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "../../src/cli/args";
import { logsCommand } from "../../src/cli/logs";
import { statsCommand } from "../../src/cli/stats";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway } from "../helpers/gateway";

// `lmrelay logs` and `lmrelay stats` read the SQLite file a server wrote: found through the config
// (even one whose provider keys are not in the environment) or named with --db.

let dir: string;
let upstream: OpenAIFake;
const MAIN = path.join(import.meta.dir, "../../src/main.ts");

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-cli-"));
  upstream = await startOpenAIFake({ keys: ["sk-test", "sk-two"] });
  upstream.reply({ text: "ok", usage: { input: 1000, output: 500 } });
  const gw = await startGateway({
    storage: { path: path.join(dir, "data", "audit.db") },
    providers: {
      oa: { type: "openai", baseUrl: `${upstream.url}/v1`, keys: ["sk-test", "sk-two"], models: ["gpt-4o-mini", "my-tune"] },
    },
    clients: { web: { key: "lmr-web-key" }, batch: { key: "lmr-batch-key", models: ["oa/my-tune"] } },
  });
  const call = (key: string, model: string, id: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "x-request-id": id },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] }),
    }).then((r) => r.text());
  for (let i = 0; i < 4; i++) await call("lmr-web-key", "oa/gpt-4o-mini", `web-${i}`);
  await call("lmr-batch-key", "oa/my-tune", "batch-ok");
  await call("lmr-batch-key", "oa/gpt-4o-mini", "batch-403");
  // Both keys fail: two attempts, then 502.
  upstream.fail({ kind: "status", status: 500 }, { kind: "status", status: 500 });
  await call("lmr-web-key", "oa/gpt-4o-mini", "web-502");
  await gw.stop();
  // A config next to the data whose keys come from an unset variable: still readable for the CLI.
  writeFileSync(
    path.join(dir, "lmrelay.config.ts"),
    `import { defineConfig, env } from "lmrelay";
export default defineConfig({ storage: { path: "data/audit.db" }, providers: { oa: { type: "openai", keys: [env("LMRELAY_TEST_UNSET_KEY")] } } });
`,
  );
});

afterAll(async () => {
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(command: typeof logsCommand, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await command(parseArgs(argv, ["json"]), { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const config = () => ["--config", path.join(dir, "lmrelay.config.ts")];

describe("lmrelay logs", () => {
  test("newest last, one line per request, errors below their line", async () => {
    const r = await run(logsCommand, config());
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    // A header names the columns, each above its values.
    expect(lines[0]).toMatch(/^time \(UTC\) +request +client +protocol +model asked +served by +status +latency +first token +tokens in→out +cost +attempts$/);
    const row = lines.find((l) => l.includes("web-502"))!;
    for (const [name, value] of [["status", "502"], ["served by", "-"], ["client", "web"]] as const) expect(row.indexOf(value, lines[0]!.indexOf(name))).toBe(lines[0]!.indexOf(name));
    expect(lines[1]).toContain("web-0");
    expect(r.out).toContain("batch-403");
    expect(r.out).toMatch(/batch-403 .* 403 /);
    expect(r.out).toContain('lmrelay: client "batch" is not allowed to use model "oa/gpt-4o-mini"');
    expect(r.out).toMatch(/web-502 .* 502 .*2 attempts\n {4}lmrelay: all 2 attempts failed/);
    // my-tune has no price: its cost is flagged.
    expect(r.out).toMatch(/batch-ok .*\$0\?/);
  });

  test("filters and --json", async () => {
    const json = await run(logsCommand, [...config(), "--client", "web", "--status", "200", "--json"]);
    const rows = json.out.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => r.requestId)).toEqual(["web-0", "web-1", "web-2", "web-3"]);
    expect(rows[0]).toMatchObject({ client: "web", provider: "oa", model: "gpt-4o-mini", inputTokens: 1000, outputTokens: 500, attempts: [expect.objectContaining({ outcome: "served" })] });
    expect(rows[0].costUsd).toBeCloseTo((1000 * 0.15 + 500 * 0.6) / 1e6, 12);
    const limited = await run(logsCommand, [...config(), "--limit", "2", "--json"]);
    expect(limited.out.trimEnd().split("\n").map((l) => JSON.parse(l).requestId)).toEqual(["batch-403", "web-502"]);
    const errors = await run(logsCommand, [...config(), "--status", "5xx", "--model", "oa/gpt-4o-mini", "--json"]);
    expect(errors.out.trimEnd().split("\n").map((l) => JSON.parse(l).requestId)).toEqual(["web-502"]);
    expect((await run(logsCommand, [...config(), "--provider", "nobody"])).out).toBe("no requests match\n");
    expect((await run(logsCommand, [...config(), "--since", "1h", "--json"])).out.trimEnd().split("\n")).toHaveLength(7);
  });

  test("bad input is a clear error, not a crash", async () => {
    expect(await run(logsCommand, [...config(), "--status", "teapot"])).toMatchObject({ code: 1, err: expect.stringContaining('status "teapot"') });
    expect(await run(logsCommand, [...config(), "--since", "someday"])).toMatchObject({ code: 1, err: expect.stringContaining("--since takes a duration") });
    expect(await run(logsCommand, [...config(), "--limit", "0"])).toMatchObject({ code: 1 });
    expect(await run(logsCommand, [...config(), "--verbose"])).toMatchObject({ code: 2, err: expect.stringContaining("unknown flag --verbose") });
    expect(await run(logsCommand, ["--db", path.join(dir, "missing.db")])).toMatchObject({ code: 1, err: expect.stringContaining("no database at") });
    expect(await run(logsCommand, ["--config", path.join(dir, "nope.ts")])).toMatchObject({ code: 1, err: expect.stringContaining("config file not found") });
  });
});

describe("lmrelay stats", () => {
  test("totals and tables by client, provider and model; unpriced models flagged", async () => {
    const r = await run(statsCommand, ["--db", path.join(dir, "data", "audit.db"), "--since", "1d"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/requests 7\s+errors 2/);
    expect(r.out).toMatch(/^client\s+requests\s+errors\s+p50\s+p95/m);
    expect(r.out).toMatch(/^web\s+5\s+1 \(20\.0%\)/m);
    expect(r.out).toMatch(/^oa\/my-tune\s+1\s+0/m);
    expect(r.out).toContain("unpriced (cost counted as 0");
    expect(r.out).toMatch(/^ {2}oa\/my-tune {2}1 request$/m);
  });

  test("--json", async () => {
    const r = await run(statsCommand, [...config(), "--json"]);
    const s = JSON.parse(r.out);
    expect(s.total).toMatchObject({ requests: 7, errors: 2, inputTokens: 5000, outputTokens: 2500 });
    expect(s.total.costUsd).toBeCloseTo((4 * (1000 * 0.15 + 500 * 0.6)) / 1e6, 12);
    expect(s.byClient.map((l: { name: string }) => l.name).sort()).toEqual(["batch", "web"]);
    expect(s.unpriced).toEqual([{ model: "oa/my-tune", requests: 1 }]);
  });

  test("an empty window", async () => {
    const r = await run(statsCommand, [...config(), "--since", "2000-01-01T00:00:00Z"]);
    expect(r.out).toContain("requests 7");
    const none = await run(statsCommand, ["--db", path.join(dir, "data", "audit.db"), "--since", "0s"]);
    expect(none.out).toContain("no requests in this window");
  });
});

test("the binary's entry point dispatches logs and stats", async () => {
  const proc = Bun.spawn([process.execPath, MAIN, "logs", "--db", path.join(dir, "data", "audit.db"), "--limit", "1", "--json"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  expect(JSON.parse(out).requestId).toBe("web-502");
  const stats = Bun.spawn([process.execPath, MAIN, "stats", "--db", path.join(dir, "data", "audit.db")], { stdout: "pipe", stderr: "pipe" });
  const [statsOut, statsCode] = await Promise.all([new Response(stats.stdout).text(), stats.exited]);
  expect(statsCode).toBe(0);
  expect(statsOut).toContain("requests 7");
}, 20_000); // two processes: more than the default 5 s on a loaded machine
