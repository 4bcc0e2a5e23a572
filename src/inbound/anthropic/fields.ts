import { type GatewayError, lmrelayError } from "../../core/errors";

// Small type checks for decoding untrusted JSON. Each failure is a 400 naming the field by its path
// (`messages.2.content.0.text`), in the style of Anthropic's own validation messages.

export type Json = Record<string, unknown>;

export function invalid(path: string, message: string): GatewayError {
  const param = path.split(".")[0];
  return lmrelayError("invalid_request", path ? `${path}: ${message}` : message, param ? { param } : undefined);
}

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

export function expectObject(value: unknown, path: string): Json {
  if (!isObject(value)) throw invalid(path, `expected an object, got ${typeName(value)}`);
  return value;
}

export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(path, `expected an array, got ${typeName(value)}`);
  return value;
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== "string") throw invalid(path, `expected a string, got ${typeName(value)}`);
  return value;
}

/** `undefined` and `null` both mean "absent", as in Anthropic's API. */
export function optionalString(value: unknown, path: string): string | undefined {
  return value == null ? undefined : expectString(value, path);
}

export function optionalNumber(value: unknown, path: string): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(path, `expected a number, got ${typeName(value)}`);
  return value;
}

export function optionalInteger(value: unknown, path: string, min: number): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) throw invalid(path, `expected an integer, got ${typeName(value)}`);
  if (value < min) throw invalid(path, `must be at least ${min}, got ${value}`);
  return value;
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value == null) return undefined;
  if (typeof value !== "boolean") throw invalid(path, `expected a boolean, got ${typeName(value)}`);
  return value;
}
