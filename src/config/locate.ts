// Where a config field is written in the user's file: a tolerant scan of the object literal after
// `export default` (through `defineConfig(`), recording each key's line and column and the text of
// its value. Configs are mostly literal objects; what is computed (a spread, a variable) is simply
// not located, and the error then points at the nearest enclosing field that is.

export interface FieldSpot {
  line: number;
  column: number;
  /** Offsets of the value's text in the source (for a provider: its whole `{ … }`). */
  start: number;
  end: number;
}

export interface Token {
  t: "punct" | "word" | "string";
  v: string;
  at: number;
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "/" && src[i + 1] === "/") i = src.indexOf("\n", i) === -1 ? src.length : src.indexOf("\n", i);
    else if (c === "/" && src[i + 1] === "*") i = src.indexOf("*/", i + 2) === -1 ? src.length : src.indexOf("*/", i + 2) + 2;
    else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      out.push({ t: "string", v: src.slice(i + 1, j), at: i });
      i = j + 1;
    } else if (c === "`") {
      let j = i + 1;
      let depth = 0;
      while (j < src.length && (src[j] !== "`" || depth > 0)) {
        if (src[j] === "\\") j++;
        else if (src[j] === "$" && src[j + 1] === "{") depth++, j++;
        else if (src[j] === "}" && depth > 0) depth--;
        j++;
      }
      out.push({ t: "string", v: src.slice(i + 1, j), at: i });
      i = j + 1;
    } else if (/[A-Za-z0-9_$.]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_$.]/.test(src[j]!)) j++;
      // `...spread` starts with dots; keep them one token so it is recognised.
      out.push({ t: "word", v: src.slice(i, j), at: i });
      i = j;
    } else {
      out.push({ t: "punct", v: c, at: i });
      i++;
    }
  }
  return out;
}

const OPEN: Record<string, string> = { "{": "}", "[": "]", "(": ")" };

/** Every located field of the default-exported config, by path (`providers.openai.keys[0]`). */
export function locateFields(src: string): Map<string, FieldSpot> {
  const toks = tokenize(src);
  const spots = new Map<string, FieldSpot>();
  const lineStarts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") lineStarts.push(i + 1);
  const pos = (at: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - lineStarts[lo]! + 1 };
  };
  const endOf = (i: number) => (i < toks.length ? toks[i]!.at : src.length);

  /** Skips one balanced group starting at an opening token; returns the index after it. */
  const skipGroup = (i: number): number => {
    const stack = [OPEN[toks[i]!.v]!];
    i++;
    while (i < toks.length && stack.length) {
      const v = toks[i]!.v;
      if (toks[i]!.t === "punct" && OPEN[v]) stack.push(OPEN[v]!);
      else if (toks[i]!.t === "punct" && v === stack.at(-1)) stack.pop();
      i++;
    }
    return i;
  };
  /** Skips an expression up to the `,` or closing bracket that ends it at this depth. */
  const skipExpr = (i: number): number => {
    while (i < toks.length) {
      const k = toks[i]!;
      if (k.t === "punct" && (k.v === "," || k.v === "}" || k.v === "]" || k.v === ")")) return i;
      i = k.t === "punct" && OPEN[k.v] ? skipGroup(i) : i + 1;
    }
    return i;
  };
  const join = (base: string, key: string) => (base ? `${base}.${key}` : key);

  const parseValue = (i: number, path: string, keyAt: number): number => {
    const k = toks[i];
    let next: number;
    if (k?.t === "punct" && k.v === "{") next = parseObject(i, path);
    else if (k?.t === "punct" && k.v === "[") next = parseArray(i, path);
    else next = skipExpr(i);
    if (path) spots.set(path, { ...pos(keyAt), start: k ? k.at : src.length, end: endOf(next) });
    return next;
  };
  const parseObject = (i: number, path: string): number => {
    i++;
    while (i < toks.length) {
      const k = toks[i]!;
      if (k.t === "punct" && k.v === "}") return i + 1;
      if (k.t === "punct" && k.v === ",") {
        i++;
        continue;
      }
      if (k.t === "word" && k.v.startsWith("...")) {
        i = skipExpr(i);
        continue;
      }
      if (k.t === "punct" && k.v === "[") {
        i = skipExpr(skipGroup(i)); // a computed key: not located
        continue;
      }
      const after = toks[i + 1];
      const key = k.v;
      if (after?.t === "punct" && after.v === ":") i = parseValue(i + 2, join(path, key), k.at);
      else if (after?.t === "punct" && after.v === "(") {
        // A method (`route(req, c) { … }`): the key is located, the body skipped.
        let j = skipGroup(i + 1);
        while (j < toks.length && !(toks[j]!.t === "punct" && toks[j]!.v === "{")) j++;
        const end = j < toks.length ? skipGroup(j) : j;
        spots.set(join(path, key), { ...pos(k.at), start: k.at, end: endOf(end) });
        i = end;
      } else {
        i = skipExpr(i + 1);
        spots.set(join(path, key), { ...pos(k.at), start: k.at, end: endOf(i) });
      }
    }
    return i;
  };
  const parseArray = (i: number, path: string): number => {
    i++;
    let index = 0;
    while (i < toks.length) {
      const k = toks[i]!;
      if (k.t === "punct" && k.v === "]") return i + 1;
      if (k.t === "punct" && k.v === ",") {
        index++;
        i++;
        continue;
      }
      i = parseValue(i, `${path}[${index}]`, k.at);
    }
    return i;
  };

  // `export default defineConfig({` or `export default {`: the first `{` after `export default`.
  for (let i = 0; i + 1 < toks.length; i++) {
    if (toks[i]!.v !== "export" || toks[i + 1]!.v !== "default") continue;
    let j = i + 2;
    while (j < toks.length && !(toks[j]!.t === "punct" && toks[j]!.v === "{")) {
      if (toks[j]!.t === "punct" && toks[j]!.v === ";") break;
      j++;
    }
    if (toks[j]?.v === "{") parseObject(j, "");
    break;
  }
  return spots;
}

/** The spot of `path`, else of its nearest located ancestor. */
export function spotFor(spots: Map<string, FieldSpot>, path: string): FieldSpot | undefined {
  let p = path;
  while (p) {
    const s = spots.get(p);
    if (s) return s;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
  return undefined;
}
