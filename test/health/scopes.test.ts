import { describe, expect, test } from "bun:test";
import { newEntry } from "../../src/health/entry";
import { HealthScopes } from "../../src/health/scopes";

describe("HealthScopes", () => {
  test("each (provider, fingerprint, model) scope holds its own record", () => {
    const s = new HealthScopes();
    const provider = s.set(newEntry("p", "", "", 0));
    const key = s.set(newEntry("p", "fp1", "", 0));
    const target = s.set(newEntry("p", "fp1", "m", 0));
    const other = s.set(newEntry("q", "fp1", "m", 0));
    expect(s.get("p", "", "")).toBe(provider);
    expect(s.get("p", "fp1", "")).toBe(key);
    expect(s.get("p", "fp1", "m")).toBe(target);
    expect(s.get("q", "fp1", "m")).toBe(other);
    expect(s.get("p", "fp2", "m")).toBeUndefined();
    expect(s.get("p", "", "m")).toBeUndefined();
    expect(s.get("r", "", "")).toBeUndefined();
    expect([...s.values()]).toEqual([provider, key, target, other]);
  });

  test("set replaces the record at its scope; delete drops only the record still there", () => {
    const s = new HealthScopes();
    const first = s.set(newEntry("p", "fp1", "m", 0));
    const second = s.set(newEntry("p", "fp1", "m", 5));
    expect(s.get("p", "fp1", "m")).toBe(second);
    expect([...s.values()]).toEqual([second]);
    s.delete(first);
    expect(s.get("p", "fp1", "m")).toBe(second);
    s.delete(second);
    expect(s.get("p", "fp1", "m")).toBeUndefined();
    expect([...s.values()]).toEqual([]);
    // Emptied inner maps are gone: a new record starts clean.
    const again = s.set(newEntry("p", "fp1", "m", 9));
    expect(s.get("p", "fp1", "m")).toBe(again);
  });

  test("deleting while iterating visits every record once", () => {
    const s = new HealthScopes();
    for (const p of ["a", "b", "c"]) for (const m of ["x", "y"]) s.set(newEntry(p, "-", m, 0));
    const seen: string[] = [];
    for (const e of s.values()) {
      seen.push(`${e.provider}/${e.model}`);
      if (e.provider !== "b") s.delete(e);
    }
    expect(seen).toEqual(["a/x", "a/y", "b/x", "b/y", "c/x", "c/y"]);
    expect([...s.values()].map((e) => `${e.provider}/${e.model}`)).toEqual(["b/x", "b/y"]);
  });
});
