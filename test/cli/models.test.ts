import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";

// `lmrelay models`: aliases and provider/model names from configured and discovered catalogs.

const root = path.resolve(import.meta.dir, "../..");
let fake: OpenAIFake;
let dir: string;

beforeAll(async () => {
  fake = await startOpenAIFake({ models: ["gpt-4o-mini", "text-embedding-3-small"] });
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-models-"));
  writeFileSync(
    path.join(dir, "lmrelay.config.ts"),
    `import { defineConfig } from "lmrelay";
export default defineConfig({
  storage: { path: ":memory:" },
  providers: {
    oa: {
      type: "openai",
      baseUrl: "${fake.url}/v1",
      keys: ["sk-test"],
      modelInfo: { "gpt-4o-mini": { contextWindow: 64000 } },
      pricing: { "text-embedding-*": { input: 0.01, output: 0 } },
    },
    echo: { type: "echo", models: ["echo-1"] },
  },
  models: { fast: ["oa/gpt-4o-mini", "echo/echo-1"] },
});
`,
  );
});

afterAll(async () => {
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Async spawn: the fake upstream lives in this process and must keep answering.
async function run(...args: string[]) {
  const p = Bun.spawn([process.execPath, path.join(root, "src/main.ts"), "models", "--config", path.join(dir, "lmrelay.config.ts"), ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

test("lists aliases, discovered and configured models, with prices", async () => {
  const { code, out, err } = await run();
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toContain("fast  (alias → oa/gpt-4o-mini, echo/echo-1)");
  expect(out).toMatch(/oa\/gpt-4o-mini  openai  \$[\d.]+\/\$[\d.]+ per M tokens/);
  expect(out).toContain("oa/text-embedding-3-small");
  expect(out).toContain("echo/echo-1  echo  free");
});

test("--json gives the same as data", async () => {
  const rows = JSON.parse((await run("--json")).out) as any[];
  expect(rows.map((r) => r.model)).toEqual(["fast", "oa/gpt-4o-mini", "oa/text-embedding-3-small", "echo/echo-1"]);
  expect(rows.find((r) => r.model === "oa/gpt-4o-mini").price.input).toBeGreaterThan(0);
});

test("each model's facts name their source: the catalog entry, the config's modelInfo and pricing", async () => {
  const { out } = await run();
  // Context window from modelInfo; output limit, reasoning and price from models.dev.
  expect(out).toContain("oa/gpt-4o-mini  openai  $0.15/$0.6 per M tokens  context 64000, output 16384, no reasoning  [models.dev:openai/gpt-4o-mini; contextWindow: config]");
  expect(out).toMatch(/oa\/text-embedding-3-small  openai  \$0.01\/\$0 per M tokens  .*price: config\]/);
  expect(out).toMatch(/\(model facts: https:\/\/github.com\/anomalyco\/models.dev as of \d{4}-\d{2}-\d{2}, MIT License;/);
  const rows = JSON.parse((await run("--json")).out) as any[];
  expect(rows.find((r) => r.model === "oa/gpt-4o-mini").facts).toEqual({
    contextWindow: 64000,
    maxOutputTokens: 16384,
    reasoning: false,
    sources: { contextWindow: "config", maxOutputTokens: "models.dev:openai/gpt-4o-mini", reasoning: "models.dev:openai/gpt-4o-mini", price: "models.dev:openai/gpt-4o-mini" },
  });
});
