import { describe, expect, test } from "bun:test";
import type { ModelInfo } from "../../../src/core/types";
import { capabilitiesOf, decodeShowRequest, findModel, KEEP_ALIVE_MS, RecentModels, requireModel, showBody, tagsBody } from "../../../src/inbound/ollama/meta";

const info = (id: string, provider?: string): ModelInfo => ({ id, provider, ownedBy: provider ?? "lmrelay", created: 1_700_000_000 });
const models = [info("smart"), info("local/llama3.2:latest", "local"), info("oa/gpt-4o", "oa"), info("oa/text-embedding-3-small", "oa")];

describe("findModel: the names the router resolves", () => {
  test.each([
    ["smart", "smart"],
    ["local/llama3.2:latest", "local/llama3.2:latest"],
    ["local/llama3.2", "local/llama3.2:latest"],
    ["llama3.2", "local/llama3.2:latest"],
    ["llama3.2:latest", "local/llama3.2:latest"],
    ["gpt-4o", "oa/gpt-4o"],
    ["gpt-4o:latest", "oa/gpt-4o"],
  ])("%s → %s", (name, id) => {
    expect(findModel(models, name)?.id).toBe(id);
  });

  test.each(["gpt-4", "llama3.2:1b", "oa/llama3.2", "smart2", "local/smart"])("%s is unknown", (name) => {
    expect(findModel(models, name)).toBeUndefined();
    expect(() => requireModel(models, name)).toThrow(`lmrelay: model '${name}' not found`);
  });
});

describe("capabilities inferred from names", () => {
  test.each([
    ["oa/text-embedding-3-small", ["embedding"]],
    ["local/nomic-embed-text:latest", ["embedding"]],
    ["local/all-minilm:latest", ["embedding"]],
    ["local/llama3.2:latest", ["completion", "tools"]],
    ["oa/gpt-4o", ["completion", "tools", "vision"]],
    ["oa/o3-mini", ["completion", "tools", "thinking"]],
    ["local/qwen3:8b", ["completion", "tools", "thinking"]],
    ["claude/claude-sonnet-4-5", ["completion", "tools", "vision", "thinking"]],
    ["smart", ["completion", "tools"]],
  ])("%s", (id, caps) => {
    expect(capabilitiesOf(id)).toEqual(caps);
  });
});

describe("tags and show bodies", () => {
  test("one entry per routable model, Ollama's field set", () => {
    const { models: tags } = tagsBody(models);
    expect(tags.map((t) => t.name)).toEqual(models.map((m) => m.id));
    expect(tags[1]).toEqual({
      name: "local/llama3.2:latest",
      model: "local/llama3.2:latest",
      modified_at: "2023-11-14T22:13:20.000Z",
      size: 0,
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      details: { parent_model: "", format: "", family: "llama", families: ["llama"], parameter_size: "", quantization_level: "" },
    });
  });

  test("show", () => {
    const body = showBody(info("oa/gpt-4o", "oa"));
    expect(body).toMatchObject({
      details: { family: "gpt" },
      model_info: { "general.architecture": "gpt", "general.basename": "gpt-4o" },
      capabilities: ["completion", "tools", "vision"],
      modified_at: "2023-11-14T22:13:20.000Z",
    });
    expect(body.modelfile).toContain("FROM oa/gpt-4o");
    expect(typeof body.parameters).toBe("string");
    expect(typeof body.template).toBe("string");
  });

  test("show request: model, or name from older clients", () => {
    expect(decodeShowRequest({ model: "a" })).toBe("a");
    expect(decodeShowRequest({ name: "b" })).toBe("b");
    expect(() => decodeShowRequest({})).toThrow("lmrelay: model: model is required");
    expect(() => decodeShowRequest({ model: 3 })).toThrow("lmrelay: model: expected a string");
    expect(() => decodeShowRequest("x")).toThrow("lmrelay: request body must be a JSON object");
  });
});

describe("RecentModels (/api/ps)", () => {
  test("most recent first; filtered per client; expired entries leave; unload forgets", () => {
    const r = new RecentModels();
    r.touch("a", 1_000);
    r.touch("b", 2_000);
    r.touch("a", 3_000);
    const ps = r.psBody(undefined, 4_000).models;
    expect(ps.map((m) => m.name)).toEqual(["a", "b"]);
    expect(ps[0]).toMatchObject({ model: "a", size: 0, size_vram: 0, expires_at: new Date(3_000 + KEEP_ALIVE_MS).toISOString() });
    expect(r.psBody((name) => name !== "a", 4_000).models.map((m) => m.name)).toEqual(["b"]);
    expect(r.psBody(undefined, 2_000 + KEEP_ALIVE_MS).models.map((m) => m.name)).toEqual(["a"]);
    r.forget("a");
    expect(r.psBody(undefined, 3_000).models).toEqual([]);
  });

  test("bounded: the least recently used entry goes first", () => {
    const r = new RecentModels(2);
    r.touch("a", 1);
    r.touch("b", 2);
    r.touch("a", 3);
    r.touch("c", 4);
    expect(r.psBody(undefined, 5).models.map((m) => m.name)).toEqual(["c", "a"]);
  });
});
