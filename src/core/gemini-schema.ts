// Gemini's schemas both ways. JSON Schema → the OpenAPI 3 subset Gemini accepts in `parameters`
// and `responseSchema` (the Gemini upstream), and that subset → JSON Schema (Gemini clients'
// declarations, for every other upstream). Gemini rejects unknown keywords with a 400, so the
// first keeps a known list rather than deleting bad ones:
// `$ref`s are inlined, `anyOf:[X, {type:null}]` / `type:[X,"null"]` become X + `nullable`, `allOf`
// is merged, `const` becomes a one-value enum.

type Schema = Record<string, unknown>;

const TYPES: Record<string, string> = {
  string: "STRING",
  number: "NUMBER",
  integer: "INTEGER",
  boolean: "BOOLEAN",
  array: "ARRAY",
  object: "OBJECT",
};

/** Formats Gemini knows, per type; any other value is refused by the API. */
const FORMATS: Record<string, string[]> = {
  STRING: ["enum", "date-time"],
  NUMBER: ["float", "double"],
  INTEGER: ["int32", "int64"],
};

const COPIED = ["title", "description", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "minProperties", "maxProperties"];

/** Refs deeper than this are cut (a recursive schema would otherwise expand forever). */
const MAX_DEPTH = 24;

interface Ctx {
  root: Schema;
  /** Refs being expanded on the current path, to stop cycles. */
  expanding: Set<string>;
}

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Resolves a local `$ref` ("#/$defs/X", "#/definitions/X", "#"); undefined when it points nowhere. */
function resolveRef(ref: string, root: Schema): Schema | undefined {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return isObject(node) ? node : undefined;
}

/** Merges `allOf` members: properties and required are unioned, other keywords first-wins. */
function mergeAll(members: Schema[]): Schema {
  const out: Schema = {};
  const properties: Schema = {};
  const required = new Set<string>();
  for (const m of members) {
    for (const [k, v] of Object.entries(m)) {
      if (k === "properties" && isObject(v)) Object.assign(properties, v);
      else if (k === "required" && Array.isArray(v)) for (const r of v) required.add(String(r));
      else if (!(k in out)) out[k] = v;
    }
  }
  if (Object.keys(properties).length) out.properties = properties;
  if (required.size) out.required = [...required];
  return out;
}

function isNullSchema(s: unknown): boolean {
  return isObject(s) && s.type === "null" && Object.keys(s).every((k) => k === "type" || k === "description" || k === "title");
}

function cleanNode(input: unknown, ctx: Ctx, depth: number): Schema {
  if (!isObject(input)) return {};
  let node = input;

  if (typeof node.$ref === "string") {
    const ref = node.$ref;
    const target = resolveRef(ref, ctx.root);
    if (!target || ctx.expanding.has(ref) || depth > MAX_DEPTH) {
      // Unresolvable or recursive: keep what a model needs to produce something valid.
      const stub: Schema = { type: "OBJECT" };
      if (typeof node.description === "string") stub.description = node.description;
      return stub;
    }
    const { $ref: _, ...siblings } = node;
    ctx.expanding.add(ref);
    const out = cleanNode({ ...target, ...siblings }, ctx, depth + 1);
    ctx.expanding.delete(ref);
    return out;
  }

  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    const members = (allOf as unknown[]).filter(isObject).map((m) => {
      if (typeof m.$ref !== "string") return m;
      return resolveRef(m.$ref, ctx.root) ?? {};
    });
    return cleanNode(mergeAll([rest, ...members]), ctx, depth + 1);
  }

  const out: Schema = {};
  let nullable = node.nullable === true;

  const variants = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (variants) {
    const nonNull = variants.filter((v) => !isNullSchema(v));
    if (nonNull.length < variants.length) nullable = true;
    const { anyOf: _a, oneOf: _o, ...rest } = node;
    if (nonNull.length === 1) {
      // The node's own description outranks the variant's.
      const merged = cleanNode({ ...(nonNull[0] as Schema), ...stripType(rest) }, ctx, depth + 1);
      if (nullable) merged.nullable = true;
      return merged;
    }
    if (nonNull.length > 1) {
      out.anyOf = nonNull.map((v) => cleanNode(v, ctx, depth + 1));
      for (const k of COPIED) if (rest[k] !== undefined) out[k] = rest[k];
      if (nullable) out.nullable = true;
      return out;
    }
  }

  let type: string | undefined;
  if (Array.isArray(node.type)) {
    const types = node.type.filter((t): t is string => typeof t === "string");
    if (types.includes("null")) nullable = true;
    const nonNull = types.filter((t) => t !== "null");
    if (nonNull.length === 1) type = TYPES[nonNull[0]!];
    else if (nonNull.length > 1) out.anyOf = nonNull.filter((t) => TYPES[t]).map((t) => ({ type: TYPES[t] }));
  } else if (typeof node.type === "string") {
    if (node.type === "null") nullable = true;
    else type = TYPES[node.type];
  }

  let values = node.const !== undefined ? [node.const] : Array.isArray(node.enum) ? node.enum : undefined;
  if (values) {
    if (values.includes(null)) nullable = true;
    values = values.filter((v) => v !== null);
    // Gemini enums are string-only; numeric enums stay plain numbers.
    if (values.length && values.every((v) => typeof v === "string") && (type === undefined || type === "STRING")) {
      type = "STRING";
      out.enum = values;
    }
  }

  // Gemini wants a type wherever the shape implies one.
  if (!type && !out.anyOf) {
    if (isObject(node.properties)) type = "OBJECT";
    else if (node.items !== undefined) type = "ARRAY";
  }
  if (type) out.type = type;
  if (typeof node.format === "string" && type && FORMATS[type]?.includes(node.format)) out.format = node.format;
  for (const k of COPIED) if (node[k] !== undefined) out[k] = node[k];

  if (isObject(node.properties)) {
    const properties: Schema = {};
    for (const [name, sub] of Object.entries(node.properties)) properties[name] = cleanNode(sub, ctx, depth + 1);
    if (Object.keys(properties).length) {
      out.properties = properties;
      if (Array.isArray(node.required)) {
        const required = node.required.filter((r): r is string => typeof r === "string" && r in properties);
        if (required.length) out.required = required;
      }
    }
  }

  if (node.items !== undefined) {
    const items = Array.isArray(node.items) ? node.items[0] : node.items;
    out.items = cleanNode(items, ctx, depth + 1);
  } else if (type === "ARRAY") {
    // Gemini refuses an ARRAY without `items` ("items: missing field"); strings are the usual intent.
    out.items = { type: "STRING" };
  }

  if (nullable) out.nullable = true;
  return out;
}

function stripType(s: Schema): Schema {
  const { type: _, ...rest } = s;
  return rest;
}

/** Converts a JSON Schema to Gemini's subset. */
export function toGeminiSchema(schema: Record<string, unknown>): Schema {
  return cleanNode(schema, { root: schema, expanding: new Set() }, 0);
}

/** A function's `parameters`, or undefined when it takes none (Gemini refuses an OBJECT without properties). */
export function toGeminiParameters(schema: Record<string, unknown> | undefined): Schema | undefined {
  if (!schema) return undefined;
  const out = toGeminiSchema(schema);
  if (out.type === "OBJECT" && !out.properties) return undefined;
  return out;
}

// ---- Gemini's OpenAPI subset → JSON Schema ----

/** Keywords the two dialects spell alike (Gemini's `Schema` message, js-genai `types.ts`). */
const SHARED = [...COPIED, "default"];

const JSON_TYPES: Record<string, string> = {
  STRING: "string",
  NUMBER: "number",
  INTEGER: "integer",
  BOOLEAN: "boolean",
  ARRAY: "array",
  OBJECT: "object",
  NULL: "null",
};

/** Why a Gemini schema cannot be read (the caller names the field path). */
export class GeminiSchemaError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function fromNode(input: unknown, path: string, depth: number): Schema {
  if (!isObject(input)) throw new GeminiSchemaError(path, "expected a schema object");
  if (depth > MAX_DEPTH * 4) throw new GeminiSchemaError(path, `nested deeper than ${MAX_DEPTH * 4} levels`);
  const out: Schema = {};
  let type: string | undefined;
  if (input.type !== undefined && input.type !== "TYPE_UNSPECIFIED") {
    if (typeof input.type !== "string" || !JSON_TYPES[input.type.toUpperCase()])
      throw new GeminiSchemaError(`${path}.type`, `expected one of STRING, NUMBER, INTEGER, BOOLEAN, ARRAY, OBJECT, NULL, got ${JSON.stringify(input.type)}`);
    type = JSON_TYPES[input.type.toUpperCase()];
  }
  // `nullable` is OpenAPI's way of saying what JSON Schema says with a "null" type.
  if (type) out.type = input.nullable === true && type !== "null" ? [type, "null"] : type;
  // `format: "enum"` only marks a string enum in Gemini's dialect.
  if (typeof input.format === "string" && input.format !== "enum") out.format = input.format;
  if (Array.isArray(input.enum)) out.enum = input.nullable === true ? [...input.enum, null] : input.enum;
  for (const k of SHARED) if (input[k] !== undefined) out[k] = input[k];
  if (input.example !== undefined) out.examples = [input.example];
  if (input.properties !== undefined) {
    if (!isObject(input.properties)) throw new GeminiSchemaError(`${path}.properties`, "expected an object");
    const properties: Schema = {};
    for (const [name, sub] of Object.entries(input.properties)) properties[name] = fromNode(sub, `${path}.properties.${name}`, depth + 1);
    out.properties = properties;
  }
  if (Array.isArray(input.required)) out.required = input.required.filter((r) => typeof r === "string");
  if (input.items !== undefined) out.items = fromNode(input.items, `${path}.items`, depth + 1);
  if (Array.isArray(input.anyOf)) {
    const variants = input.anyOf.map((v, i) => fromNode(v, `${path}.anyOf.${i}`, depth + 1));
    if (input.nullable === true && !type) variants.push({ type: "null" });
    out.anyOf = variants;
  }
  // `propertyOrdering` and anything else Gemini-only has no JSON Schema meaning: left out.
  return out;
}

/** Converts a schema in Gemini's OpenAPI dialect (upper-case types, `nullable`) to JSON Schema. */
export function fromGeminiSchema(schema: unknown, path = ""): Schema {
  return fromNode(schema, path, 0);
}
