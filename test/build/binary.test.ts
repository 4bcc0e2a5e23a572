import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SPAN_KIND, startOtlpFake } from "../fakes/otlp";
import { binaryInEmptyDir, listeningUrl } from "../helpers/binary";

// Issue 2, point 3: the compiled binary, copied alone into an empty folder beside a TypeScript
// config that imports from "lmrelay", loads that config and serves. No node_modules anywhere.

let dir: string;
let binary: string;

beforeAll(() => {
  ({ dir, binary } = binaryInEmptyDir("lmrelay-bin-"));
  writeFileSync(
    path.join(dir, "lmrelay.config.ts"),
    `import { defineConfig, env } from "lmrelay";
import { greeting } from "./helpers/names.ts";

const port: number = Number(env("LMRELAY_TEST_PORT", "0"));
export default defineConfig({
  server: { port },
  providers: { echo: { type: "echo", models: ["echo-1"] } },
  models: { [greeting]: ["echo/echo-1"] },
});
`,
  );
  Bun.spawnSync(["mkdir", "-p", path.join(dir, "helpers")]);
  writeFileSync(path.join(dir, "helpers/names.ts"), `export const greeting: string = "hello-alias";\n`);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the build leaves only binaries in dist/: no source maps (the binary embeds its own), no bytecode order", () => {
  const left = readdirSync(path.resolve(import.meta.dir, "../../dist")).filter((f) => f.endsWith(".map") || f === "bytecode-order.txt" || f.startsWith("."));
  expect(left).toEqual([]);
});

test("version prints version and commit", () => {
  const p = Bun.spawnSync([binary, "version"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
  expect(p.exitCode).toBe(0);
  expect(p.stdout.toString()).toMatch(/^lmrelay \d+\.\d+\.\d+ \(\w+\)\n$/);
});

test("check loads the TypeScript config and prints the routing table", () => {
  const p = Bun.spawnSync([binary, "check"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  const out = p.stdout.toString();
  expect(out).toContain("echo  type=echo");
  expect(out).toMatch(/hello-alias \[alias[^\n]*: 1 of 1 target usable\n\s+echo\/echo-1 {2}usable\n\s+try order: 1\. echo\/echo-1/);
});

test("check reports a bad config with file, field and reason", () => {
  const bad = path.join(dir, "bad.config.ts");
  writeFileSync(bad, `import { defineConfig, env } from "lmrelay";\nexport default defineConfig({ providers: { x: { type: "openai", keys: [env("LMRELAY_NOPE_KEY")] } } });\n`);
  const p = Bun.spawnSync([binary, "check", "--config", bad], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
  expect(p.exitCode).toBe(1);
  const err = p.stderr.toString();
  expect(err).toContain(bad);
  expect(err).toContain("providers.x.keys[0]");
  expect(err).toContain("LMRELAY_NOPE_KEY is not set");
});

test("serve answers an OpenAI request through the echo provider; its audit writer thread writes the row", async () => {
  const proc = Bun.spawn([binary, "serve"], { cwd: dir, env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
  let out = "";
  try {
    const started = await listeningUrl(proc.stdout);
    out = started.out;
    expect(started.url).toBeDefined();
    const res = await fetch(`${started.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "from-the-binary" },
      body: JSON.stringify({ model: "hello-alias", messages: [{ role: "user", content: "ping from the binary" }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.choices[0].message.content).toBe("ping from the binary");
    expect(res.headers.get("x-lmrelay-provider")).toBe("echo");
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
  for (const reader = proc.stdout.getReader(); ; ) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  // The writer thread's file is an entry point of the binary: no fallback to the request thread.
  expect(out).not.toContain("audit writer thread failed");
  const db = new Database(path.join(dir, "lmrelay.db"), { readonly: true });
  try {
    expect(db.query("select request_id, provider, status from requests").all()).toEqual([{ request_id: "from-the-binary", provider: "echo", status: 200 }]);
  } finally {
    db.close();
  }
}, 30_000);

test("the binary exports traces over OTLP (the OpenTelemetry packages are bundled in)", async () => {
  const collector = startOtlpFake();
  const file = path.join(dir, "traced.config.ts");
  writeFileSync(
    file,
    `import { defineConfig, env } from "lmrelay";
export default defineConfig({
  server: { port: 0 },
  storage: { path: "traced.db" },
  providers: { echo: { type: "echo", models: ["echo-1"] } },
  telemetry: { otlp: { endpoint: env("OTLP_ENDPOINT") } },
});
`,
  );
  const proc = Bun.spawn([binary, "serve", "--config", file], { cwd: dir, env: { PATH: "/usr/bin:/bin", OTLP_ENDPOINT: collector.url }, stdout: "pipe", stderr: "pipe" });
  try {
    const { url } = await listeningUrl(proc.stdout);
    expect(url).toBeDefined();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: "00-aaaabbbbccccddddeeeeffff00001111-1234567890abcdef-01" },
      body: JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: "traced" }] }),
    });
    expect(res.status).toBe(200);
    const spans = await collector.waitFor(2, 10_000);
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER);
    expect(server?.traceId).toBe("aaaabbbbccccddddeeeeffff00001111");
    expect(server?.attributes["gen_ai.request.model"]).toBe("echo/echo-1");
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    collector.stop();
  }
}, 30_000);
