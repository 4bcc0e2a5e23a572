// The official SDK's wire schemas (snake_case side), for strict checks of what lmrelay sends and
// what the fake answers. The SDK itself parses leniently (`skipValidation`), so tests validate here.
// The package does not export its serialization layer, so it is reached by path on purpose.
import * as wire from "../../node_modules/cohere-ai/serialization/index.js";

export type WireSchema = { parse(raw: unknown, opts?: Record<string, unknown>): { ok: boolean; errors?: unknown[] } };

export const cohereWire = wire as unknown as Record<string, WireSchema>;

/** Problems the SDK schema finds in a raw payload (empty = valid). Unknown keys fail when `strict`. */
export function wireProblems(schema: WireSchema, raw: unknown, strict = false): string[] {
  const r = schema.parse(raw, { unrecognizedObjectKeys: strict ? "fail" : "passthrough", skipValidation: false, breadcrumbsPrefix: [] });
  return r.ok ? [] : (r.errors ?? []).map((e: any) => `${(e.path ?? []).join(".")}: ${e.message}`);
}
