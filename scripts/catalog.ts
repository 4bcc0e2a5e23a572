#!/usr/bin/env bun
// Builds src/catalog/models.json, the model catalog lmrelay ships, from a snapshot of the public
// models.dev data (https://github.com/anomalyco/models.dev, MIT): one TOML file per model under
// providers/<provider>/models/, some inheriting from a shared models/<vendor>/<name>.toml through
// `base_model`.
//
//   bun scripts/catalog.ts /path/to/models.dev            a checkout (providers/ and models/ inside)
//   bun scripts/catalog.ts /path/to/models.dev.git        a bare clone: HEAD is read with git
//
// Only the facts lmrelay uses are kept (context window, output limit, reasoning controls, tools,
// temperature, input modalities, prices) and only for the providers lmrelay speaks to, so the
// file stays small enough to embed in the binary.
import { $ } from "bun";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CATALOG_PROVIDERS, type CatalogFile, type CatalogModel } from "../src/catalog/format";

const SOURCE = "https://github.com/anomalyco/models.dev";
/** Vendors whose shared base models are also listed under their own provider when the provider's
 *  folder no longer lists them (retired models still served for a while, e.g. claude-3-5-haiku). */
const BASE_VENDORS: Record<string, string> = { anthropic: "anthropic", openai: "openai", google: "google", mistral: "mistral", cohere: "cohere" };

type Toml = Record<string, any>;

function fail(msg: string): never {
  process.stderr.write(`catalog: ${msg}\n`);
  process.exit(1);
}

const arg = process.argv[2];
if (!arg) fail("usage: bun scripts/catalog.ts <models.dev checkout or bare git directory> [out.json]");
const out = process.argv[3] ?? path.resolve(import.meta.dir, "../src/catalog/models.json");

let root = path.resolve(arg);
let cleanup: string | undefined;
let commit = "unknown";
let date = new Date().toISOString().slice(0, 10);
const isGit = existsSync(path.join(root, ".git")) || existsSync(path.join(root, "HEAD"));
if (isGit) {
  commit = (await $`git --git-dir=${gitDir(root)} rev-parse HEAD`.quiet().text()).trim();
  date = (await $`git --git-dir=${gitDir(root)} log -1 --format=%cs HEAD`.quiet().text()).trim();
}
if (!existsSync(path.join(root, "providers"))) {
  if (!isGit) fail(`${root} has no providers/ folder and is not a git directory`);
  // A bare clone (the search tool's fetch): extract the two folders of HEAD.
  cleanup = mkdtempSync(path.join(tmpdir(), "models.dev-"));
  await $`git --git-dir=${gitDir(root)} archive HEAD providers models | tar -x -C ${cleanup}`.quiet();
  root = cleanup;
}

function gitDir(dir: string): string {
  return existsSync(path.join(dir, ".git")) ? path.join(dir, ".git") : dir;
}

function readToml(file: string): Toml {
  try {
    return Bun.TOML.parse(readFileSync(file, "utf8")) as Toml;
  } catch (e) {
    fail(`${file}: ${(e as Error).message}`);
  }
}

/** Every .toml under `dir`, with its id (path relative to `dir`, without `.toml`). */
function tomlFiles(dir: string, prefix = ""): { id: string; file: string }[] {
  if (!existsSync(dir)) return [];
  const found: { id: string; file: string }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...tomlFiles(full, `${prefix}${entry.name}/`));
    else if (entry.name.endsWith(".toml")) found.push({ id: prefix + entry.name.slice(0, -5), file: full });
  }
  return found;
}

const baseModels = new Map<string, Toml>();
for (const { id, file } of tomlFiles(path.join(root, "models"))) baseModels.set(id, readToml(file));

/** models.dev's own rule: the provider's file deep-merges over its base model (arrays replace). */
function mergeDeep(base: Toml, over: Toml): Toml {
  const merged: Toml = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = merged[k];
    merged[k] = isPlain(b) && isPlain(v) ? mergeDeep(b, v) : v;
  }
  return merged;
}

function isPlain(v: unknown): v is Toml {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function resolveModel(toml: Toml, where: string): Toml {
  if (toml.base_model === undefined) return toml;
  const base = baseModels.get(toml.base_model);
  if (!base) fail(`${where}: unknown base_model ${toml.base_model}`);
  const { base_model: _b, base_model_omit: omit, ...overrides } = toml;
  const merged = mergeDeep(base, overrides);
  for (const key of (omit as string[] | undefined) ?? []) delete merged[key];
  return merged;
}

function compact(m: Toml): CatalogModel | undefined {
  const out: CatalogModel = {};
  if (typeof m.limit?.context === "number" && m.limit.context > 0) out.context = m.limit.context;
  if (typeof m.limit?.output === "number" && m.limit.output > 0) out.output = m.limit.output;
  if (typeof m.reasoning === "boolean") out.reasoning = m.reasoning;
  for (const option of (m.reasoning_options as Toml[] | undefined) ?? []) {
    if (option.type === "effort") out.efforts = (option.values as (string | null)[]).filter((v): v is string => typeof v === "string" && v !== "default");
    else if (option.type === "budget_tokens") out.budget = [option.min ?? null, option.max ?? null];
    else if (option.type === "toggle") out.toggle = true;
  }
  if (typeof m.tool_call === "boolean") out.tools = m.tool_call;
  if (typeof m.temperature === "boolean") out.temperature = m.temperature;
  const input = m.modalities?.input;
  if (Array.isArray(input)) out.input = input.filter((x: unknown): x is string => typeof x === "string");
  if (Array.isArray(m.modalities?.output) && !m.modalities.output.includes("text")) return undefined; // image/audio generators
  const c = m.cost;
  if (c && typeof c.input === "number" && typeof c.output === "number") {
    out.price = [c.input, c.output, typeof c.cache_read === "number" ? c.cache_read : null, typeof c.cache_write === "number" ? c.cache_write : null];
  }
  return out;
}

const providers: CatalogFile["providers"] = {};
let count = 0;
for (const provider of CATALOG_PROVIDERS) {
  const models: Record<string, CatalogModel> = {};
  for (const { id, file } of tomlFiles(path.join(root, "providers", provider, "models"))) {
    const model = compact(resolveModel(readToml(file), `${provider}/${id}`));
    if (model) models[id] = model;
  }
  const vendor = BASE_VENDORS[provider];
  if (vendor) {
    for (const [id, toml] of baseModels) {
      if (!id.startsWith(`${vendor}/`)) continue;
      const name = id.slice(vendor.length + 1);
      if (models[name]) continue;
      const model = compact(toml);
      if (model) models[name] = model;
    }
  }
  if (Object.keys(models).length === 0) fail(`no models for provider ${provider} (is ${arg} a models.dev snapshot?)`);
  providers[provider] = Object.fromEntries(Object.entries(models).sort(([a], [b]) => (a < b ? -1 : 1)));
  count += Object.keys(models).length;
}

const file: CatalogFile = {
  source: SOURCE,
  commit,
  date,
  license: "MIT License, Copyright (c) 2025 models.dev (https://github.com/anomalyco/models.dev/blob/dev/LICENSE)",
  providers,
};
writeFileSync(out, JSON.stringify(file) + "\n");
if (cleanup) rmSync(cleanup, { recursive: true, force: true });
process.stdout.write(`catalog: ${count} models of ${CATALOG_PROVIDERS.length} providers from ${SOURCE} ${commit.slice(0, 12)} (${date}) → ${path.relative(process.cwd(), out)}\n`);
