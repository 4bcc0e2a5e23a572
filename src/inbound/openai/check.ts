import { type GatewayError, lmrelayError } from "../../core/errors";

// Hand-written field checks for OpenAI request bodies: one pass, no schema compilation, and every
// failure is a 400 whose `param` names the offending field the way OpenAI does (`messages[2].content`).
// `null` counts as absent for optional fields: many clients serialise unset options as null.

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function invalidParam(param: string, message: string): GatewayError {
  return lmrelayError("invalid_request", `'${param}' ${message}`, { param });
}

export function wrongType(param: string, expected: string, got: unknown): GatewayError {
  return invalidParam(param, `must be ${expected}, got ${describe(got)}`);
}

export function missingParam(param: string): GatewayError {
  return invalidParam(param, "is required");
}

export function unsupported(param: string, what: string): GatewayError {
  return lmrelayError("invalid_request", `${what} is not supported ('${param}')`, { param });
}

export function requiredString(obj: Json, key: string, param: string = key): string {
  const v = obj[key];
  if (v === undefined || v === null) throw missingParam(param);
  if (typeof v !== "string") throw wrongType(param, "a string", v);
  return v;
}

export function optionalString(obj: Json, key: string, param: string = key): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw wrongType(param, "a string", v);
  return v;
}

export function optionalNumber(obj: Json, key: string, param: string = key): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw wrongType(param, "a number", v);
  return v;
}

export function optionalInteger(obj: Json, key: string, min: number, param: string = key): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw wrongType(param, "an integer", v);
  if (v < min) throw invalidParam(param, `must be at least ${min}, got ${v}`);
  return v;
}

export function optionalBoolean(obj: Json, key: string, param: string = key): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw wrongType(param, "a boolean", v);
  return v;
}

/** `stop`: a string or an array of strings, normalised to an array. */
export function optionalStop(obj: Json): string[] | undefined {
  const v = obj.stop;
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return [v];
  if (!Array.isArray(v)) throw wrongType("stop", "a string or an array of strings", v);
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") throw wrongType(`stop[${i}]`, "a string", v[i]);
  return v as string[];
}

/** `n` / `best_of`: lmrelay relays one answer per request. */
export function rejectMultipleChoices(obj: Json, key: string): void {
  const n = optionalInteger(obj, key, 1);
  if (n !== undefined && n > 1) throw unsupported(key, `${key} > 1 (several answers per request)`);
}

/** `stream_options.include_usage`, only meaningful on a stream. */
export function includeUsage(obj: Json): boolean | undefined {
  const opts = obj.stream_options;
  if (opts === undefined || opts === null) return undefined;
  if (!isObject(opts)) throw wrongType("stream_options", "an object", opts);
  return optionalBoolean(opts, "include_usage", "stream_options.include_usage");
}
