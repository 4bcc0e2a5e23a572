// Gemini function names: a letter or underscore first, then [A-Za-z0-9_-], at most 64 characters.
// Other names are rewritten deterministically (so history and declarations agree without shared
// state) and mapped back on the way out.

const VALID = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX = 64;

/** FNV-1a, 32 bits, as 8 hex digits: a short stable suffix that keeps rewritten names distinct. */
function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export function geminiFunctionName(name: string): string {
  if (VALID.test(name)) return name;
  let safe = name.replace(/[^A-Za-z0-9_-]/g, "_");
  if (!/^[A-Za-z_]/.test(safe)) safe = `_${safe}`;
  return `${safe.slice(0, MAX - 9)}_${shortHash(name)}`;
}

/** Collects the rewritten names of one request so the answer's calls get their original names back. */
export class FunctionNames {
  /** wire name → canonical name, only for names that were rewritten. */
  readonly original = new Map<string, string>();

  toWire(name: string): string {
    const wire = geminiFunctionName(name);
    if (wire !== name) this.original.set(wire, name);
    return wire;
  }

  fromWire(name: string): string {
    return this.original.get(name) ?? name;
  }
}
