// `env("NAME")` for config files. A missing variable does not throw while the config module is
// evaluated (that would poison the module path, see notes Q4); it leaves a marker that validation
// reports with the field that used it.

const MISSING = Symbol.for("lmrelay.missingEnv");

export interface MissingEnv {
  readonly [MISSING]: true;
  readonly name: string;
  toString(): string;
}

export function isMissingEnv(v: unknown): v is MissingEnv {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[MISSING] === true;
}

function missing(name: string): MissingEnv {
  return { [MISSING]: true, name, toString: () => "" } as MissingEnv;
}

export interface EnvFn {
  /** The variable's value; a missing one is a config error naming it (unless `fallback` is given). */
  (name: string, fallback?: string): string;
  /** The variable's value, or undefined. Keys that are undefined are left out of key lists. */
  optional(name: string): string | undefined;
  /** Whether the variable is set and non-empty. */
  has(name: string): boolean;
}

export const env: EnvFn = Object.assign(
  (name: string, fallback?: string): string => {
    const v = process.env[name];
    if (v !== undefined && v !== "") return v;
    if (fallback !== undefined) return fallback;
    return missing(name) as unknown as string;
  },
  {
    optional: (name: string) => {
      const v = process.env[name];
      return v === undefined || v === "" ? undefined : v;
    },
    has: (name: string) => Boolean(process.env[name]),
  },
);
