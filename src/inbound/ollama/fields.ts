import { type GatewayError, lmrelayError } from "../../core/errors";

// Typed readers for Ollama request fields. Every wrong type becomes a 400 naming the field, so a bad
// client body never reaches the router (or crashes a decoder further down).

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function invalid(param: string, message: string): GatewayError {
  return lmrelayError("invalid_request", `${param}: ${message}`, { param });
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

export function expectObject(v: unknown, param: string): JsonObject {
  if (!isObject(v)) throw invalid(param, `expected an object, got ${typeName(v)}`);
  return v;
}

/** The request body itself must be an object. */
export function bodyObject(v: unknown): JsonObject {
  if (!isObject(v)) throw lmrelayError("invalid_request", `request body must be a JSON object, got ${typeName(v)}`);
  return v;
}

/** `model` is required by every Ollama endpoint that names one. */
export function requiredModel(body: JsonObject, key = "model"): string {
  const v = body[key];
  if (v === undefined || v === null || v === "") throw invalid(key, "model is required");
  if (typeof v !== "string") throw invalid(key, `expected a string, got ${typeName(v)}`);
  return v;
}

// The optional readers treat null like absent, as Go's JSON decoding (Ollama's own server) does.

export function optString(obj: JsonObject, key: string, param: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalid(param, `expected a string, got ${typeName(v)}`);
  return v;
}

export function optBool(obj: JsonObject, key: string, param: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalid(param, `expected a boolean, got ${typeName(v)}`);
  return v;
}

export function optNumber(obj: JsonObject, key: string, param: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalid(param, `expected a number, got ${typeName(v)}`);
  return v;
}

/** Integers are truncated like Ollama does for float JSON numbers in integer options. */
export function optInteger(obj: JsonObject, key: string, param: string): number | undefined {
  const v = optNumber(obj, key, param);
  return v === undefined ? undefined : Math.trunc(v);
}

export function optArray(obj: JsonObject, key: string, param: string): unknown[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid(param, `expected an array, got ${typeName(v)}`);
  return v;
}

export function stringArray(v: unknown[], param: string): string[] {
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") throw invalid(`${param}[${i}]`, `expected a string, got ${typeName(v[i])}`);
  }
  return v as string[];
}

/** `stream` defaults to true on every Ollama generation endpoint. */
export function streamFlag(body: JsonObject): boolean {
  return optBool(body, "stream", "stream") ?? true;
}
