import { Kind, type TSchema } from "@sinclair/typebox";
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value";

// Schema errors in the user's words: the allowed values of an enum (`must be one of: openai, …`),
// "did you mean" for a misspelt field, and for a union (a key is a string or an object) the error
// inside the branch the value was meant for, not the validator's "Expected union value".

export interface Problem {
  path: string;
  message: string;
}

/** `/providers/openai/keys/0` → `providers.openai.keys[0]` */
export function fieldPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

export function schemaProblems(schema: TSchema, input: unknown, max = 20): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const push = (p: Problem) => {
    if (seen.has(p.path) || out.length >= max) return;
    seen.add(p.path);
    out.push(p);
  };
  for (const e of Value.Errors(schema, input)) {
    for (const p of explain(e, "")) push(p);
    if (out.length >= max) break;
  }
  return out;
}

function explain(e: ValueError, prefix: string): Problem[] {
  const path = fieldPath(prefix + e.path);
  const s = e.schema as TSchema & Record<string, unknown>;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const field = path.slice(path.lastIndexOf(".") + 1).replace(/^.*\]/, "");
    const fields = Object.keys((s.properties as Record<string, unknown>) ?? {});
    const near = closest(field, fields);
    return [{ path, message: `unknown field "${field}"${near ? `; did you mean "${near}"?` : ""}${fields.length ? ` (fields here: ${fields.join(", ")})` : ""}` }];
  }
  if (e.type === ValueErrorType.Union && Array.isArray(s.anyOf)) {
    const branches = (s.anyOf as TSchema[]).filter((b) => b[Kind] !== "Undefined");
    const literals = branches.filter((b) => "const" in b).map((b) => String((b as unknown as { const: unknown }).const));
    if (literals.length === branches.length) {
      const near = typeof e.value === "string" ? closest(e.value, literals) : undefined;
      return [{ path, message: `must be one of: ${literals.join(", ")}; got ${shown(e.value)}${near ? ` (did you mean "${near}"?)` : ""}` }];
    }
    // The branch of the value's own kind (an object for an object), when exactly one fits: its errors.
    const fitting = branches.filter((b) => kindMatches(b, e.value));
    if (fitting.length === 1) {
      const inner = [...Value.Errors(fitting[0]!, e.value)].flatMap((x) => explain(x, prefix + e.path));
      if (inner.length) return inner;
    }
    return [{ path, message: `must be ${branches.map(describe).join(" or ")}; got ${shown(e.value)}` }];
  }
  const kind = s[Kind];
  if (typeof kind === "string" && !kindMatches(s, e.value)) return [{ path, message: `must be ${describe(s)}; got ${shown(e.value)}` }];
  return [{ path, message: e.message.replace(/^Expected /, "must be ") + `; got ${shown(e.value)}` }];
}

function kindMatches(schema: TSchema, value: unknown): boolean {
  switch (schema[Kind]) {
    case "String":
      return typeof value === "string";
    case "Number":
    case "Integer":
      return typeof value === "number";
    case "Boolean":
      return typeof value === "boolean";
    case "Array":
      return Array.isArray(value);
    case "Object":
    case "Record":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "Function":
      return typeof value === "function";
    case "Literal":
      return value === (schema as { const?: unknown }).const;
    case "Union":
      return ((schema as { anyOf?: TSchema[] }).anyOf ?? []).some((b) => kindMatches(b, value));
    default:
      return true;
  }
}

function describe(schema: TSchema): string {
  switch (schema[Kind]) {
    case "String":
      return "a string";
    case "Number":
      return "a number";
    case "Integer":
      return "a whole number";
    case "Boolean":
      return "true or false";
    case "Literal":
      return JSON.stringify((schema as { const?: unknown }).const);
    case "Array":
      return `a list of ${plural(describe((schema as unknown as { items: TSchema }).items))}`;
    case "Object": {
      const props = Object.entries((schema as { properties?: Record<string, TSchema> }).properties ?? {});
      const req = new Set((schema as { required?: string[] }).required ?? []);
      return `an object { ${props.map(([k]) => (req.has(k) ? k : `${k}?`)).join(", ")} }`;
    }
    case "Record":
      return "an object";
    case "Function":
      return "a function";
    case "Union":
      return ((schema as { anyOf?: TSchema[] }).anyOf ?? []).filter((b) => b[Kind] !== "Undefined").map(describe).join(" or ");
    default:
      return String(schema[Kind]).toLowerCase();
  }
}

function plural(what: string): string {
  return what.replace(/^an? /, "").replace(/^(string|number|whole number|object|list)/, "$1s");
}

function shown(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") return v.length > 40 ? `a string "${v.slice(0, 40)}…"` : `"${v}"`;
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  if (typeof v === "function") return "a function";
  return String(v);
}

/** The nearest of `names` to `word` (edit distance within a third of its length), if any. */
export function closest(word: string, names: string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { n: string; d: number } | undefined;
  for (const n of names) {
    const d = editDistance(w, n.toLowerCase());
    if (d <= Math.max(2, Math.floor(w.length / 3)) && (!best || d < best.d)) best = { n, d };
  }
  return best?.n;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
