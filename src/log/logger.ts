// Structured logs: one JSON object per line, or a readable line when stdout is a terminal.
// Callers pass fingerprints and names, never secrets; as a safety net every line is also scrubbed
// of the secrets the config in force knows (an upstream may echo a key back in its error text).

import { writeStdoutLine } from "./stdout-lines";
import { stdoutIsTerminal } from "./tty";

export { flushStdoutLines } from "./stdout-lines";

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LEVELS = Object.keys(ORDER) as Level[];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Default: `LMRELAY_LOG_LEVEL`, else "info". */
  level?: Level;
  /** Default: `LMRELAY_LOG_FORMAT` ("json" | "pretty"), else pretty when stdout is a terminal. */
  pretty?: boolean;
  /** Colour the level in pretty mode (default: when pretty and stdout is a terminal). */
  color?: boolean;
  /** Default: batched writes to stdout (see stdout-lines.ts). */
  write?: (line: string) => void;
  /** Secrets to scrub from every line (the current config's keys). Called per line: keep it cheap. */
  secrets?: () => readonly string[];
  /** This node's name (`cluster.node`), on every line when several nodes share one log stream. */
  node?: string;
}

const COLORS: Record<Level, string> = { debug: "\x1b[90m", info: "\x1b[36m", warn: "\x1b[33m", error: "\x1b[31m" };
export const REDACTED = "[redacted]";

export function parseLevel(value: string | undefined): Level | undefined {
  return value && value in ORDER ? (value as Level) : undefined;
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v, jsonReplacer);
}

/** Errors serialise to `{}` by default; logs want their message. */
function jsonReplacer(_key: string, v: unknown): unknown {
  if (v instanceof Error) return { name: v.name, message: v.message };
  if (typeof v === "bigint") return v.toString();
  return v;
}

/** `,"k":v,…}` — the rest of a JSON line. The replacer is only paid for when a value needs it:
 *  request logs carry plain values, and a replacer costs a call per key. */
function fieldsJson(fields: Record<string, unknown>): string {
  let plain = true;
  for (const k in fields) {
    const v = fields[k];
    if ((typeof v === "object" && v !== null) || typeof v === "bigint") {
      plain = false;
      break;
    }
  }
  const json = plain ? JSON.stringify(fields) : JSON.stringify(fields, jsonReplacer);
  return json.length > 2 ? `,${json.slice(1)}` : "}";
}

/** The current time as ISO text, formatted once per millisecond (a busy gateway logs several lines per ms). */
let isoMs = 0;
let iso = "";
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}

function scrub(line: string, secrets: readonly string[]): string {
  for (const s of secrets) if (line.includes(s)) line = line.replaceAll(s, REDACTED);
  return line;
}

/** Whether logs are readable lines rather than JSON: `LMRELAY_LOG_FORMAT`, else a terminal. */
export function prettyLogs(): boolean {
  const format = process.env.LMRELAY_LOG_FORMAT;
  return format === "json" ? false : format === "pretty" ? true : stdoutIsTerminal();
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? parseLevel(process.env.LMRELAY_LOG_LEVEL) ?? "info"];
  const pretty = opts.pretty ?? prettyLogs();
  const color = opts.color ?? (pretty && stdoutIsTerminal() && !process.env.NO_COLOR);
  const write = opts.write ?? writeStdoutLine;
  const secrets = opts.secrets;
  const nodeJson = opts.node === undefined ? "" : `,"node":${JSON.stringify(opts.node)}`;
  const nodeText = opts.node === undefined ? "" : ` node=${formatValue(opts.node)}`;
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    let line: string;
    if (pretty) {
      let extra = "";
      if (fields) for (const k in fields) if (fields[k] !== undefined) extra += ` ${k}=${formatValue(fields[k])}`;
      const tag = level.toUpperCase().padEnd(5);
      line = `${new Date().toISOString().slice(11, 23)} ${color ? `${COLORS[level]}${tag}\x1b[0m` : tag} ${msg}${extra}${nodeText}`;
    } else line = `{"time":"${isoNow()}","level":"${level}"${nodeJson},"msg":${JSON.stringify(msg)}${fields ? fieldsJson(fields) : "}"}`;
    write(secrets ? scrub(line, secrets()) : line);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
