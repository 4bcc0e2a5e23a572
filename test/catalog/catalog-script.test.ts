import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CATALOG_PROVIDERS, type CatalogFile } from "../../src/catalog/format";

// scripts/catalog.ts over a small models.dev-shaped snapshot: one TOML per model, `base_model`
// inheritance (deep merge, arrays replaced, `base_model_omit`), reasoning options, prices, and
// image generators left out.

const root = path.resolve(import.meta.dir, "../..");
let dir: string;

function write(rel: string, text: string): void {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-catalog-"));
  write(
    "models/openai/gpt-9.toml",
    `name = "GPT-9"\nreasoning = true\ntemperature = false\ntool_call = true\nknowledge = "2026-01"\n[limit]\ncontext = 400_000\noutput = 128_000\n[modalities]\ninput = ["text", "image"]\noutput = ["text"]\n`,
  );
  write(
    "providers/openai/models/gpt-9.toml",
    `base_model = "openai/gpt-9"\nbase_model_omit = ["knowledge"]\nreasoning_options = [{ type = "effort", values = ["none", "low", "high", "xhigh"] }]\n[cost]\ninput = 1.5\noutput = 12\ncache_read = 0.15\n[limit]\noutput = 64_000\n`,
  );
  write(
    "providers/openai/models/paint-1.toml",
    `name = "Paint"\nreasoning = false\ntool_call = false\n[modalities]\ninput = ["text"]\noutput = ["image"]\n`,
  );
  write(
    "models/anthropic/claude-old-20240101.toml",
    `name = "Old"\nreasoning = false\ntool_call = true\n[limit]\ncontext = 200_000\noutput = 8192\n[modalities]\ninput = ["text"]\noutput = ["text"]\n`,
  );
  for (const p of CATALOG_PROVIDERS)
    write(
      `providers/${p}/models/m-${p}.toml`,
      `name = "M"\nreasoning = true\nreasoning_options = [{ type = "budget_tokens", min = 1024 }]\ntool_call = true\n[limit]\ncontext = 1000\noutput = 100\n[modalities]\ninput = ["text"]\noutput = ["text"]\n`,
    );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("builds the compact catalog with base models merged, options kept, generators dropped", async () => {
  const out = path.join(dir, "models.json");
  const p = Bun.spawn([process.execPath, path.join(root, "scripts/catalog.ts"), dir, out], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toContain(`models of ${CATALOG_PROVIDERS.length} providers`);
  const catalog = JSON.parse(readFileSync(out, "utf8")) as CatalogFile;
  expect(catalog.source).toBe("https://github.com/anomalyco/models.dev");
  expect(catalog.license).toStartWith("MIT License");
  expect(catalog.providers.openai!["gpt-9"]).toEqual({
    context: 400_000,
    output: 64_000,
    reasoning: true,
    efforts: ["none", "low", "high", "xhigh"],
    tools: true,
    temperature: false,
    input: ["text", "image"],
    price: [1.5, 12, 0.15, null],
  });
  expect(catalog.providers.openai!["paint-1"]).toBeUndefined();
  // A retired model only the shared base folder still lists stays known under its provider.
  expect(catalog.providers.anthropic!["claude-old-20240101"]).toMatchObject({ context: 200_000, output: 8192, reasoning: false });
  expect(catalog.providers.groq!["m-groq"]).toMatchObject({ budget: [1024, null] });
});

test("a directory that is not a models.dev snapshot is refused with a clear message", async () => {
  const empty = mkdtempSync(path.join(tmpdir(), "lmrelay-catalog-empty-"));
  try {
    const p = Bun.spawn([process.execPath, path.join(root, "scripts/catalog.ts"), empty, path.join(empty, "x.json")], { stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("has no providers/ folder and is not a git directory");
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
