import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { allowedCandidates, candidateAllowed, modelVisible } from "../../src/governance/allowlist";
import { type Candidate, resolveCandidates } from "../../src/router/candidates";
import { Catalog } from "../../src/router/catalog";

const config = resolveConfig({
  providers: {
    local: { type: "ollama", models: ["llama3.2:latest", "qwen3:8b"] },
    oa: { type: "openai", keys: ["sk-aaaaaaaa"], models: ["gpt-4o", "gpt-4o-mini"] },
  },
  models: { fast: ["local/llama3.2", "oa/gpt-4o-mini"], smart: ["oa/gpt-4o"] },
  clients: {
    all: { key: "k-all-0000" },
    localOnly: { key: "k-local-000", models: ["local/*"] },
    aliases: { key: "k-alias-000", models: ["fast"] },
    bare: { key: "k-bare-0000", models: ["gpt-4o-mini", "llama3.2"] },
  },
});
const catalog = new Catalog();
await catalog.load(config);
const client = (id: string) => config.clients.get(id)!;
const cand = (p: string, model: string): Candidate => ({ provider: config.providers.get(p)!, model });

describe("allowedCandidates", () => {
  const fast = [cand("local", "llama3.2:latest"), cand("oa", "gpt-4o-mini")];

  test("no list or no client: everything", () => {
    expect(allowedCandidates(undefined, "fast", fast)).toBe(fast);
    expect(allowedCandidates(client("all"), "fast", fast)).toBe(fast);
  });

  test("an allowed alias allows every target it resolves to", () => {
    expect(allowedCandidates(client("aliases"), "fast", fast)).toEqual(fast);
  });

  test("otherwise each candidate must match by provider/model or bare name; :latest is implicit", () => {
    expect(allowedCandidates(client("localOnly"), "fast", fast)).toEqual([fast[0]!]);
    expect(allowedCandidates(client("bare"), "fast", fast)).toEqual(fast);
    expect(candidateAllowed(client("bare"), "local", "llama3.2:latest")).toBe(true);
  });

  test("nothing allowed: 403 naming the client and the model, never the key", () => {
    let err: unknown;
    try {
      allowedCandidates(client("aliases"), "smart", [cand("oa", "gpt-4o")]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    const g = err as GatewayError;
    expect(g.status).toBe(403);
    expect(g.message).toBe('lmrelay: client "aliases" is not allowed to use model "smart"');
    expect(g.message).not.toContain("k-alias");
  });
});

describe("modelVisible (model lists)", () => {
  test("aliases by name or through an allowed target; provider/model by either spelling", () => {
    const vis = (id: string, name: string) => modelVisible(client(id), name, name.includes("/") ? config.providers.get(name.split("/")[0]!) : undefined, (n) => resolveCandidates(config, catalog, n).candidates);
    expect(vis("aliases", "fast")).toBe(true);
    expect(vis("aliases", "smart")).toBe(false);
    expect(vis("aliases", "oa/gpt-4o")).toBe(false);
    expect(vis("localOnly", "local/qwen3:8b")).toBe(true);
    expect(vis("localOnly", "oa/gpt-4o")).toBe(false);
    expect(vis("localOnly", "fast")).toBe(true);
    expect(vis("localOnly", "smart")).toBe(false);
    expect(vis("bare", "oa/gpt-4o-mini")).toBe(true);
    expect(vis("bare", "local/llama3.2:latest")).toBe(true);
    expect(vis("bare", "oa/gpt-4o")).toBe(false);
  });
});
