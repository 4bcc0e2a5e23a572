import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/core/errors";
import type { ModelInfo } from "../../../src/core/types";
import { anthropicModel, anthropicModelList } from "../../../src/inbound/anthropic/models";

const models: ModelInfo[] = ["a", "b", "c", "d", "e"].map((id, i) => ({ id, ownedBy: "p", created: 1_700_000_000 + i }));

function ids(query: string): { ids: string[]; has_more: boolean; first_id: string | null; last_id: string | null } {
  const page = anthropicModelList(models, new URLSearchParams(query)) as { data: { id: string }[]; has_more: boolean; first_id: string | null; last_id: string | null };
  return { ids: page.data.map((m) => m.id), has_more: page.has_more, first_id: page.first_id, last_id: page.last_id };
}

describe("anthropicModel", () => {
  test("Anthropic model object with an RFC 3339 creation time", () => {
    expect(anthropicModel({ id: "openai/gpt-4o", provider: "openai", ownedBy: "openai", created: 1_700_000_000 })).toEqual({
      type: "model",
      id: "openai/gpt-4o",
      display_name: "openai/gpt-4o",
      created_at: "2023-11-14T22:13:20.000Z",
    });
  });
});

describe("anthropicModelList pagination", () => {
  const cases: [string, ReturnType<typeof ids>][] = [
    ["", { ids: ["a", "b", "c", "d", "e"], has_more: false, first_id: "a", last_id: "e" }],
    ["limit=2", { ids: ["a", "b"], has_more: true, first_id: "a", last_id: "b" }],
    ["limit=2&after_id=b", { ids: ["c", "d"], has_more: true, first_id: "c", last_id: "d" }],
    ["limit=2&after_id=d", { ids: ["e"], has_more: false, first_id: "e", last_id: "e" }],
    ["after_id=e", { ids: [], has_more: false, first_id: null, last_id: null }],
    ["limit=2&before_id=e", { ids: ["c", "d"], has_more: true, first_id: "c", last_id: "d" }],
    ["limit=2&before_id=c", { ids: ["a", "b"], has_more: false, first_id: "a", last_id: "b" }],
    ["before_id=a", { ids: [], has_more: false, first_id: null, last_id: null }],
  ];
  for (const [query, want] of cases) test(query || "(no query)", () => expect(ids(query)).toEqual(want));

  test("walking forward by last_id visits every model once", () => {
    const seen: string[] = [];
    let query = "limit=2";
    for (let i = 0; i < 10; i++) {
      const page = ids(query);
      seen.push(...page.ids);
      if (!page.has_more) break;
      query = `limit=2&after_id=${page.last_id}`;
    }
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
  });

  const bad: [string, string][] = [
    ["limit=0", 'lmrelay: limit: expected an integer from 1 to 1000, got "0"'],
    ["limit=abc", 'lmrelay: limit: expected an integer from 1 to 1000, got "abc"'],
    ["limit=1001", 'lmrelay: limit: expected an integer from 1 to 1000, got "1001"'],
    ["after_id=zzz", 'lmrelay: after_id: no model with id "zzz"'],
    ["after_id=a&before_id=c", "lmrelay: after_id and before_id cannot be used together"],
  ];
  for (const [query, message] of bad) {
    test(`bad query ${query} → 400`, () => {
      let caught: unknown;
      try {
        anthropicModelList(models, new URLSearchParams(query));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      expect((caught as GatewayError).status).toBe(400);
      expect((caught as GatewayError).message).toBe(message);
    });
  }
});
