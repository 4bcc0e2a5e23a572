import { type ErrorKind, GatewayError, kindForStatus } from "../core/errors";
import { limitResetMs } from "../core/ratelimit";
import type { ReadWatch, UpstreamCall } from "./types";

// HTTP plumbing every HTTP upstream adapter shares: send with the call's signal, turn a failed
// answer (non-2xx, refused connection, timeout, cut body) into a GatewayError the router can act
// on. Messages are `<providerId>: <what the upstream said>` and never carry the key.

/** Who is being called: enough to label errors and scrub the key from them. */
export interface UpstreamEndpoint {
  providerId: string;
  /** The key sent with the request; scrubbed from every message. */
  secret?: string;
  signal: AbortSignal;
  /** Largest non-stream body read into memory (`limits.maxUpstreamBodyBytes`). */
  maxBodyBytes?: number;
  /** Touched on every body read (`bodyChunks`), whatever the bytes were. */
  reads?: ReadWatch;
  /** Sent as the `traceparent` header of every request to this endpoint (telemetry on). */
  traceparent?: string;
}

export const DEFAULT_MAX_UPSTREAM_BODY_BYTES = 128 * 1024 * 1024;

export function endpointOf(call: UpstreamCall): UpstreamEndpoint {
  const { provider, key, traceparent } = call.target;
  return { providerId: provider.id, secret: key?.secret, signal: call.signal, maxBodyBytes: provider.maxBodyBytes, reads: call.reads, traceparent };
}

/** What an error body said, whatever envelope it came in. */
export interface UpstreamErrorInfo {
  message?: string;
  /** Provider's own code (`insufficient_quota`, `context_length_exceeded`, `DeploymentNotFound`…). */
  code?: string;
  /** OpenAI `type` / Anthropic `error.type` / Gemini `status`. */
  type?: string;
  param?: string;
  /** A numeric status the body itself carried (OpenRouter `error.code`, Gemini `error.code`). */
  status?: number;
}

/** Lets an adapter recognise its provider's own spellings (Gemini `API_KEY_INVALID` → authentication),
 *  a retry delay carried in the body, or a status to report instead of the upstream's. */
export type ErrorClassifier = (
  status: number,
  info: UpstreamErrorInfo,
  body: unknown,
) => { kind?: ErrorKind; code?: string; retryAfterMs?: number; status?: number } | undefined;

export interface SendOptions {
  method?: "GET" | "POST";
  headers?: Readonly<Record<string, string>>;
  /** Already-serialised request body. */
  body?: string;
  classify?: ErrorClassifier;
}

const ERROR_BODY_LIMIT = 64 * 1024;

/** The request's headers plus the attempt's trace context (a configured `traceparent` header loses:
 *  the trace must name this attempt). */
function withTraceparent(headers: Record<string, string> | undefined, traceparent: string): Record<string, string> {
  return { ...headers, traceparent };
}

/** Sends a request; resolves only with a 2xx response, otherwise throws a GatewayError. */
export async function sendUpstream(ep: UpstreamEndpoint, url: string, opts: SendOptions = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
      headers: ep.traceparent ? withTraceparent(opts.headers, ep.traceparent) : opts.headers,
      body: opts.body,
      signal: ep.signal,
      // A redirect would resend the key to wherever the upstream points.
      redirect: "manual",
    });
  } catch (err) {
    throw failureFromThrown(ep, err);
  }
  if (res.ok) return res;
  throw await errorFromResponse(ep, res, opts.classify);
}

/** Sends a JSON POST and returns the response. */
export function postJson(ep: UpstreamEndpoint, url: string, headers: Record<string, string>, body: unknown, classify?: ErrorClassifier): Promise<Response> {
  return sendUpstream(ep, url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
    classify,
  });
}

/** Reads a 2xx JSON body; a body that is not JSON is a broken answer (`upstream_error`). */
export async function readJson(ep: UpstreamEndpoint, res: Response): Promise<any> {
  let text: string;
  try {
    text = await readBoundedText(ep, res, ep.maxBodyBytes ?? DEFAULT_MAX_UPSTREAM_BODY_BYTES);
  } catch (err) {
    throw failureFromThrown(ep, err);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw upstreamError(ep, "upstream_error", `answered ${res.status} with a body that is not JSON: ${snippet(text)}`, { code: "bad_response" });
  }
}

/** The whole body as text, refusing more than `limit` bytes: a runaway or hostile upstream must fail
 *  this attempt (and fail over), not fill the gateway's memory. */
export async function readBoundedText(ep: UpstreamEndpoint, res: Response, limit: number): Promise<string> {
  const tooLarge = () =>
    upstreamError(ep, "upstream_error", `answered with a body larger than ${limit} bytes (limits.maxUpstreamBodyBytes)`, { code: "response_too_large" });
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
  if (declared > limit && !encoded) {
    res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  // HTTP framing stops a declared length from growing; a compressed body could still inflate.
  if (declared >= 0 && !encoded) return await res.text();
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      size += r.value.byteLength;
      if (size > limit) throw tooLarge();
      chunks.push(r.value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}

/** The response body as raw chunks, with read failures (cut connection, timeout) as GatewayErrors.
 *  A plain iterator over the body's reader rather than a generator: one promise per read. */
export function bodyChunks(ep: UpstreamEndpoint, res: Response): AsyncIterableIterator<Uint8Array> {
  return new BodyChunks(ep, res.body);
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

interface BodyReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(): Promise<void>;
}

class BodyChunks implements AsyncIterableIterator<Uint8Array> {
  private reader: BodyReader | undefined;
  private readonly got = (r: { done: boolean; value?: Uint8Array }): IteratorResult<Uint8Array> => {
    if (r.done) return this.release();
    // Any bytes are life, even a keep-alive comment no decoder turns into an event.
    this.ep.reads?.touch();
    return r as IteratorYieldResult<Uint8Array>;
  };
  private readonly failed = (err: unknown): never => {
    this.release();
    throw failureFromThrown(this.ep, err);
  };

  constructor(
    private readonly ep: UpstreamEndpoint,
    body: ReadableStream<Uint8Array> | null,
  ) {
    this.reader = body?.getReader();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (!this.reader) return Promise.resolve(DONE);
    return this.reader.read().then(this.got, this.failed);
  }

  /** Stopping early (client gone, [DONE] seen) must release the upstream connection. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.release();
    return Promise.resolve(DONE);
  }

  private release(): typeof DONE {
    this.reader?.cancel().catch(() => {});
    this.reader = undefined;
    return DONE;
  }
}

/**
 * One path segment of an upstream URL built from a client-chosen name (Gemini's model, Azure's
 * deployment). Percent-encoded, so `?`, `#` and `/` stay inside it; `.` and `..` are refused, since
 * URLs resolve dot segments (encoded ones too) and the request would climb to another path of the
 * upstream, carrying the key.
 */
export function urlSegment(value: string, what: string): string {
  if (value === "" || value === "." || value === "..")
    throw new GatewayError("invalid_request", `lmrelay: ${JSON.stringify(value)} is not a valid ${what}`, { param: "model" });
  return encodeURIComponent(value.toWellFormed());
}

/** A GatewayError labelled with the provider: `<providerId>: <message>`, the key scrubbed. */
export function upstreamError(
  ep: Pick<UpstreamEndpoint, "providerId" | "secret">,
  kind: ErrorKind,
  message: string,
  opts: { status?: number; retryAfterMs?: number; code?: string; param?: string; cause?: unknown } = {},
): GatewayError {
  return new GatewayError(kind, `${ep.providerId}: ${scrub(message, ep.secret)}`, { ...opts, provider: ep.providerId });
}

/** A thrown fetch/read failure: timeout (the signal's reason says so), abort, or connection error. */
export function failureFromThrown(ep: UpstreamEndpoint, err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (ep.signal.aborted) {
    const reason = ep.signal.reason as { name?: string } | undefined;
    if (reason?.name === "TimeoutError") return upstreamError(ep, "timeout", "the upstream did not answer in time", { code: "timeout", cause: err });
    // A client abort: the router knows its own signal and tells the two apart.
    return upstreamError(ep, "upstream_error", "the request was aborted", { code: "aborted", cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return upstreamError(ep, "upstream_error", `connection failed: ${detail}`, { code: "connection_error", cause: err });
}

/** Turns a non-2xx answer into a GatewayError: faithful status, kind, code, retry-after. */
export async function errorFromResponse(ep: UpstreamEndpoint, res: Response, classify?: ErrorClassifier): Promise<GatewayError> {
  if (res.status >= 300 && res.status < 400) return redirectError(ep, res);
  let text = "";
  try {
    text = await readLimited(res, ERROR_BODY_LIMIT);
  } catch {
    // The status alone still classifies the failure.
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const info = extractErrorInfo(body);
  const message = info.message || snippet(text) || `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  const refined = classifyError(res.status, info, body, classify);
  return upstreamError(ep, refined.kind, message, {
    status: refined.status ?? res.status,
    // Without Retry-After, a 429's rate-limit headers say when the spent limit resets.
    retryAfterMs: parseRetryAfter(res.headers) ?? refined.retryAfterMs ?? (res.status === 429 ? limitResetMs(res.headers) : undefined),
    code: refined.code,
    param: info.param,
  });
}

/**
 * A 3xx is never followed (it would resend the key elsewhere) nor relayed (a client would follow it
 * to a URL of the upstream's choosing): it is a broken answer of this upstream, failed over like a
 * 5xx, with a message naming where it pointed — usually a wrong `baseUrl` (http vs https, a missing
 * `/v1`).
 */
function redirectError(ep: UpstreamEndpoint, res: Response): GatewayError {
  res.body?.cancel().catch(() => {});
  const location = res.headers.get("location");
  const where = location ? `to ${snippet(location)}` : "without a Location header";
  return upstreamError(ep, "upstream_error", `answered ${res.status} redirecting ${where}; upstream redirects are not followed (check the provider's baseUrl)`, {
    status: 502,
    code: "redirect",
  });
}

/** Kind and code for an upstream failure: status first, then the body's code/type/message. */
export function classifyError(
  status: number,
  info: UpstreamErrorInfo,
  body: unknown,
  classify?: ErrorClassifier,
): { kind: ErrorKind; code?: string; retryAfterMs?: number; status?: number } {
  // Status 0: an error reported inside a 200 answer (mid-stream), where only the body can tell.
  let kind: ErrorKind = status ? kindForStatus(status) : "upstream_error";
  let code = info.code;
  const tags = `${info.code ?? ""} ${info.type ?? ""}`.toLowerCase();
  if (/context_length|context_window|string_above_max_length/.test(tags)) kind = "context_length";
  else if ((status === 400 || status === 413) && /context (length|window)|maximum context|prompt is too long|too many tokens/i.test(info.message ?? ""))
    kind = "context_length";
  else if (/content_filter|content_policy|responsibleaipolicy/.test(tags)) kind = "content_filter";
  else if (/insufficient_quota/.test(tags)) {
    kind = "rate_limited";
    code = "insufficient_quota";
  } else if (!status && /rate_limit/.test(tags)) kind = "rate_limited";
  else if (!status && /overloaded/.test(tags)) kind = "overloaded";
  else if (status === 402) {
    // Out of credits is a property of the key: another key or provider may still answer.
    kind = "rate_limited";
    code ??= "insufficient_quota";
  }
  const custom = classify?.(status, info, body);
  if (custom?.kind) kind = custom.kind;
  if (custom?.code) code = custom.code;
  return { kind, code, retryAfterMs: custom?.retryAfterMs, status: custom?.status };
}

/** Reads the common error envelopes: OpenAI/Anthropic/Gemini `{error:{…}}`, `{error:"…"}`,
 *  Mistral/vLLM `{object:"error",message}`, FastAPI `{detail}`, Cloudflare `{errors:[…]}`. */
export function extractErrorInfo(body: unknown): UpstreamErrorInfo {
  if (Array.isArray(body)) return extractErrorInfo(body[0]);
  if (!body || typeof body !== "object") return typeof body === "string" && body ? { message: body } : {};
  const b = body as Record<string, any>;
  if (typeof b.error === "string") return { message: b.error, code: str(b.code), type: str(b.type) };
  if (b.error && typeof b.error === "object") {
    const e = b.error as Record<string, any>;
    const numeric = httpStatusOf(e.code);
    return {
      message: str(e.message) ?? str(e.msg),
      // A bare HTTP status in `code` says nothing the status does not.
      code: numeric === undefined ? str(e.code) : (str(e.status) ?? str(e.innererror?.code)),
      type: str(e.type) ?? str(e.status),
      param: str(e.param),
      status: numeric,
    };
  }
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    const e = b.errors[0];
    return typeof e === "string" ? { message: e } : { message: str(e?.message), code: str(e?.code) };
  }
  if (b.detail !== undefined) {
    if (typeof b.detail === "string") return { message: b.detail };
    if (Array.isArray(b.detail))
      return { message: b.detail.map(describeDetail).join("; ") };
  }
  // Mistral nests FastAPI's validation detail inside `message`.
  const message = b.message && typeof b.message === "object" ? extractErrorInfo(b.message).message : str(b.message);
  const status = httpStatusOf(b.code); // vLLM: `code: 400`
  return { message, code: status === undefined ? str(b.code) : undefined, type: str(b.type), param: str(b.param), status };
}

/** `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date), in ms. */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null) {
    const n = Number(ms);
    if (ms.trim() !== "" && Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const ra = headers.get("retry-after");
  if (ra === null || ra.trim() === "") return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** One FastAPI/pydantic validation item: `body.stream_options.include_usage: Extra inputs are not permitted`. */
function describeDetail(d: any): string {
  if (typeof d === "string") return d;
  const msg = str(d?.msg);
  if (!msg) return JSON.stringify(d);
  return Array.isArray(d.loc) ? `${d.loc.join(".")}: ${msg}` : msg;
}

/** A `code` that is really an HTTP status (`401`, `"429"`), not a provider code like Mistral's 3001. */
function httpStatusOf(code: unknown): number | undefined {
  const n = typeof code === "number" ? code : typeof code === "string" && /^\d{3}$/.test(code) ? Number(code) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v || undefined;
  if (typeof v === "number") return String(v);
  return undefined;
}

function scrub(message: string, secret?: string): string {
  return secret && secret.length >= 4 ? message.split(secret).join("***") : message;
}

function snippet(text: string): string {
  const t = text.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

async function readLimited(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const r = await reader.read();
      if (r.done) break;
      chunks.push(r.value);
      size += r.value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks)).slice(0, limit);
}
