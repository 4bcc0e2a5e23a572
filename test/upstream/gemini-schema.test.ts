import { describe, expect, test } from "bun:test";
import { toGeminiParameters, toGeminiSchema } from "../../src/core/gemini-schema";
import { checkSchema } from "../fakes/gemini-validate";

// JSON Schema → Gemini's OpenAPI subset: every output is also checked against the fake's copy of
// the schema rules the real API enforces.

describe("toGeminiSchema", () => {
  const table: { name: string; in: Record<string, unknown>; out: Record<string, unknown> }[] = [
    {
      name: "$ref/$defs are inlined, $schema and additionalProperties dropped",
      in: {
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: { home: { $ref: "#/$defs/Addr", description: "Home address" }, work: { $ref: "#/definitions/Addr" } },
        additionalProperties: false,
        $defs: { Addr: { type: "object", properties: { street: { type: "string" } }, required: ["street"], additionalProperties: false } },
        definitions: { Addr: { type: "object", properties: { zip: { type: "string" } } } },
      },
      out: {
        type: "OBJECT",
        properties: {
          home: { type: "OBJECT", description: "Home address", properties: { street: { type: "STRING" } }, required: ["street"] },
          work: { type: "OBJECT", properties: { zip: { type: "STRING" } } },
        },
      },
    },
    {
      name: "anyOf [X, null] and type [X, null] → X + nullable; several variants stay anyOf",
      in: {
        type: "object",
        properties: {
          a: { anyOf: [{ type: "string", format: "email" }, { type: "null" }], description: "maybe" },
          b: { type: ["integer", "null"] },
          c: { oneOf: [{ type: "string" }, { type: "number" }] },
          d: { type: ["string", "number"] },
        },
      },
      out: {
        type: "OBJECT",
        properties: {
          a: { type: "STRING", description: "maybe", nullable: true },
          b: { type: "INTEGER", nullable: true },
          c: { anyOf: [{ type: "STRING" }, { type: "NUMBER" }] },
          d: { anyOf: [{ type: "STRING" }, { type: "NUMBER" }] },
        },
      },
    },
    {
      name: "const and enums; numeric enums dropped; allOf merged; required pruned; types inferred",
      in: {
        properties: {
          kind: { const: "circle" },
          unit: { type: "string", enum: ["c", "f", null] },
          level: { type: "integer", enum: [1, 2, 3], minimum: 1, exclusiveMaximum: 4 },
          both: { allOf: [{ type: "object", properties: { x: { type: "number" } }, required: ["x"] }, { properties: { y: { type: "number" } } }] },
          list: { items: { type: "string" }, minItems: 1, uniqueItems: true },
          bare: { type: "array" },
          when: { type: "string", format: "date-time" },
          pattern: { type: "string", pattern: "^a", default: "a", examples: ["a"] },
        },
        required: ["kind", "ghost"],
      },
      out: {
        type: "OBJECT",
        properties: {
          kind: { type: "STRING", enum: ["circle"] },
          unit: { type: "STRING", enum: ["c", "f"], nullable: true },
          level: { type: "INTEGER", minimum: 1 },
          both: { type: "OBJECT", properties: { x: { type: "NUMBER" }, y: { type: "NUMBER" } }, required: ["x"] },
          list: { type: "ARRAY", items: { type: "STRING" }, minItems: 1 },
          bare: { type: "ARRAY", items: { type: "STRING" } },
          when: { type: "STRING", format: "date-time" },
          pattern: { type: "STRING", pattern: "^a" },
        },
        required: ["kind"],
      },
    },
    {
      name: "recursive refs stop at a plain object",
      in: { $defs: { Node: { type: "object", properties: { next: { $ref: "#/$defs/Node" }, v: { type: "string" } } } }, $ref: "#/$defs/Node" },
      out: { type: "OBJECT", properties: { next: { type: "OBJECT" }, v: { type: "STRING" } } },
    },
    {
      name: "empty nested objects lose their empty properties",
      in: { type: "object", properties: { meta: { type: "object", properties: {}, additionalProperties: { type: "string" } } } },
      out: { type: "OBJECT", properties: { meta: { type: "OBJECT" } } },
    },
  ];
  for (const row of table) {
    test(row.name, () => {
      const out = toGeminiSchema(row.in);
      expect(out).toEqual(row.out);
      expect(checkSchema(out, "parameters")).toBeUndefined();
    });
  }

  test("parameters of a function that takes none are omitted", () => {
    expect(toGeminiParameters(undefined)).toBeUndefined();
    expect(toGeminiParameters({ type: "object", properties: {} })).toBeUndefined();
    expect(toGeminiParameters({ type: "object" })).toBeUndefined();
    expect(toGeminiParameters({ type: "object", properties: { a: { type: "string" } } })).toEqual({ type: "OBJECT", properties: { a: { type: "STRING" } } });
  });
});
