import fc from "fast-check";

// Mutations of a generated body, at two levels: on the JSON value (wrong types, missing and extra
// fields, huge strings and arrays, 10,000-deep nesting, out-of-range numbers) and on the bytes
// sent (invalid UTF-8, NUL bytes, duplicate keys, truncation, empty and non-object bodies).

export type ValueMutation =
  | { op: "replace"; at: number; value: unknown }
  | { op: "delete"; at: number }
  | { op: "extra"; at: number; key: string; value: unknown }
  /** Replace a node with raw JSON text (too deep or too big to build as a value, or not a JS number). */
  | { op: "raw"; at: number; raw: RawSpec };

export type RawSpec =
  | { kind: "deep"; depth: number; shape: "array" | "object" }
  | { kind: "number"; text: string }
  | { kind: "string"; size: number; unit: string }
  | { kind: "array"; size: number; item: string };

export type ByteMutation =
  | { op: "duplicate-key"; key: string; valueJson: string }
  | { op: "insert"; at: number; bytes: number[] }
  | { op: "truncate"; at: number }
  | { op: "bom" }
  | { op: "whole"; bytes: number[] };

const wrongValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, "", "x", [], {}, [null], { type: null }, 1.5, "null", "[]"),
  fc.jsonValue({ maxDepth: 2 }),
);

const rawSpec: fc.Arbitrary<RawSpec> = fc.oneof(
  fc.record({ kind: fc.constant("deep" as const), depth: fc.constantFrom(100, 1_000, 10_000), shape: fc.constantFrom("array" as const, "object" as const) }),
  fc.record({ kind: fc.constant("number" as const), text: fc.constantFrom("1e400", "-1e400", "123456789012345678901234567890", "-0.0", "1E-400", "0.1e1", "9007199254740993") }),
  fc.record({ kind: fc.constant("string" as const), size: fc.constantFrom(10_000, 200_000, 600_000), unit: fc.constantFrom("a", "é", "💥", "\\u0000", "\\ud800", "\\n") }),
  fc.record({ kind: fc.constant("array" as const), size: fc.constantFrom(1_000, 20_000, 100_000), item: fc.constantFrom("0", '""', "{}", "null", '{"role":"user","content":"x"}') }),
);

export const valueMutation: fc.Arbitrary<ValueMutation> = fc.oneof(
  fc.record({ op: fc.constant("replace" as const), at: fc.nat(), value: wrongValue }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("extra" as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "prototype", "toString")), value: wrongValue }),
  fc.record({ op: fc.constant("raw" as const), at: fc.nat(), raw: rawSpec }),
);

const badBytes = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // UTF-8-encoded surrogate
  [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
  [0x80],
  [0xe2, 0x82], // truncated sequence
  [0x00],
  [0x00, 0x00, 0x00],
  [0x0d, 0x0a],
);

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant("duplicate-key" as const), key: fc.constantFrom("model", "messages", "stream", "max_tokens", "input", "prompt"), valueJson: fc.constantFrom('"x"', "null", "[]", "true", "{}", '"echo/echo-1"') }),
  fc.record({ op: fc.constant("insert" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: badBytes.map((b) => [...b]) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.constant({ op: "bom" as const }),
  fc.record({
    op: fc.constant("whole" as const),
    bytes: fc.constantFrom("", " ", "null", "[]", "1", '"x"', "{", "}", "{}", "\u0000", "true", "[{}]", "{}{}", '{"a":1}garbage').map((s) => [...Buffer.from(s)]),
  }),
);

/** Every node of a JSON value as a path from the root (the root itself is `[]`). */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function parentOf(root: unknown, path: (string | number)[]): any {
  let node: any = root;
  for (const seg of path.slice(0, -1)) node = node?.[seg];
  return node;
}

const RAW_MARK = "\u0001raw";

function rawText(spec: RawSpec): string {
  switch (spec.kind) {
    case "deep":
      return spec.shape === "array" ? "[".repeat(spec.depth) + "]".repeat(spec.depth) : '{"a":'.repeat(spec.depth) + "0" + "}".repeat(spec.depth);
    case "number":
      return spec.text;
    case "string":
      return `"${spec.unit.repeat(Math.ceil(spec.size / Math.max(1, spec.unit.length)))}"`;
    case "array":
      return `[${new Array(spec.size).fill(spec.item).join(",")}]`;
  }
}

/** Applies value mutations to a deep copy, serialises, then applies byte mutations. */
export function mutate(body: unknown, values: ValueMutation[], bytes: ByteMutation[]): Uint8Array {
  let root: unknown = structuredClone(body);
  const raws: string[] = [];
  for (const original of values) {
    // Generated values may be shared between mutations: copy, so no mutation makes a cycle.
    const m = "value" in original ? { ...original, value: structuredClone(original.value) } : original;
    const all = paths(root);
    const path = all[m.at % all.length]!;
    const replacement = m.op === "raw" ? `${RAW_MARK}${raws.push(rawText(m.raw)) - 1}` : m.op === "replace" ? m.value : undefined;
    if (path.length === 0) {
      if (m.op === "replace" || m.op === "raw") root = replacement;
      else if (m.op === "extra" && root && typeof root === "object") (root as any)[m.key] = m.value;
      continue;
    }
    const parent = parentOf(root, path);
    const key = path.at(-1)!;
    if (!parent || typeof parent !== "object") continue;
    if (m.op === "replace" || m.op === "raw") parent[key] = replacement;
    else if (m.op === "delete") {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else {
      const target = parent[key];
      if (target && typeof target === "object" && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
      else if (!Array.isArray(parent)) Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    }
  }
  let text = JSON.stringify(root) ?? "";
  raws.forEach((raw, i) => {
    text = text.replace(JSON.stringify(`${RAW_MARK}${i}`), () => raw);
  });
  let out: Buffer = Buffer.from(text, "utf8");
  for (const m of bytes) out = applyByteMutation(out, m);
  return new Uint8Array(out);
}

function applyByteMutation(buf: Buffer, m: ByteMutation): Buffer {
  switch (m.op) {
    case "duplicate-key": {
      const brace = buf.indexOf(0x7b /* { */);
      if (brace === -1) return buf;
      return Buffer.concat([buf.subarray(0, brace + 1), Buffer.from(`"${m.key}":${m.valueJson},`), buf.subarray(brace + 1)]);
    }
    case "insert": {
      const at = Math.floor(m.at * buf.length);
      return Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes), buf.subarray(at)]);
    }
    case "truncate":
      return buf.subarray(0, Math.floor(m.at * buf.length));
    case "bom":
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf]);
    case "whole":
      return Buffer.from(m.bytes);
  }
}

/** How the body travels: its content type and framing. */
export interface Transport {
  contentType: string | null;
  /** `length`: Content-Length; `chunked`: Transfer-Encoding: chunked; `cut`: chunked, then the
   *  client closes the socket half-way; `short`: Content-Length larger than what is sent, then close. */
  framing: "length" | "chunked" | "cut" | "short";
}

export const transport: fc.Arbitrary<Transport> = fc.record({
  contentType: fc.oneof(
    { weight: 10, arbitrary: fc.constant("application/json") },
    { weight: 1, arbitrary: fc.constantFrom(null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/xml", "*/*", "application/json;;charset=") },
  ),
  framing: fc.oneof({ weight: 12, arbitrary: fc.constant("length" as const) }, { weight: 2, arbitrary: fc.constant("chunked" as const) }, { weight: 1, arbitrary: fc.constantFrom("cut" as const, "short" as const) }),
});
