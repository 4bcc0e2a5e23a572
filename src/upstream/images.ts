import { GatewayError, lmrelayError } from "../core/errors";

// node:net and node:dns load Bun's Node stream modules (≈ 10 ms of start-up, paid by nothing else
// on the way to serving): they are loaded on the first image fetch instead.
let net: typeof import("node:net") | undefined;
const isIPv4 = (s: string) => (net ??= require("node:net") as typeof import("node:net")).isIPv4(s);
const isIPv6 = (s: string) => (net ??= require("node:net") as typeof import("node:net")).isIPv6(s);

// Downloads an image for upstreams that only take inline images (Ollama, Gemini, Cohere). The URL
// comes from a client, so this is a server-side request on the client's behalf: refuse anything
// that is not a public address (every hop of a redirect included), cap size and time.

export interface FetchImageOptions {
  /** Allow loopback, private, link-local… addresses (tests, trusted setups). Default false. */
  allowPrivate?: boolean;
  /** Largest image accepted, in bytes. Default 20 MB. */
  maxBytes?: number;
  /** Whole-download deadline (DNS, redirects and body included). Default 10 s. */
  timeoutMs?: number;
  /** The request's own signal: a client disconnect stops the download. */
  signal?: AbortSignal;
}

export interface InlineImage {
  mediaType: string;
  /** Raw base64, no `data:` prefix. */
  data: string;
}

export const DEFAULT_IMAGE_MAX_BYTES = 20 * 1024 * 1024;
export const DEFAULT_IMAGE_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 5;

export async function fetchImageAsBase64(url: string, opts: FetchImageOptions = {}): Promise<InlineImage> {
  const maxBytes = opts.maxBytes ?? DEFAULT_IMAGE_MAX_BYTES;
  if (url.startsWith("data:")) return decodeDataUri(url, maxBytes);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw imageError(url, "not a valid URL");
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    for (let hop = 0; ; hop++) {
      await checkDestination(current, opts.allowPrivate === true, signal);
      const res = await fetch(current, {
        redirect: "manual",
        signal,
        headers: { accept: "image/*", "user-agent": "lmrelay" },
      });
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw imageError(url, `more than ${MAX_REDIRECTS} redirects`);
        current = new URL(res.headers.get("location")!, current);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw imageError(url, `the server answered HTTP ${res.status}`);
      }
      return await readImage(res, url, maxBytes);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if (timeout.aborted) throw imageError(url, `no answer within ${timeoutMs} ms`);
    if (opts.signal?.aborted) throw imageError(url, "the request was cancelled");
    throw imageError(url, (err as Error)?.message ?? String(err));
  }
}

async function readImage(res: Response, url: string, maxBytes: number): Promise<InlineImage> {
  const declared = Number(res.headers.get("content-length") ?? "");
  if (declared > maxBytes) throw imageError(url, `the image is larger than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw imageError(url, `the image is larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  if (size === 0) throw imageError(url, "the image is empty");
  const bytes = Buffer.concat(chunks, size);
  const mediaType = checkedMediaType(res.headers.get("content-type"), bytes, url);
  return { mediaType, data: bytes.toString("base64") };
}

/** `data:<type>[;base64],<payload>`; a base64 payload is passed through without re-encoding. */
function decodeDataUri(uri: string, maxBytes: number): InlineImage {
  const comma = uri.indexOf(",");
  if (comma === -1) throw imageError(uri, "a data URI needs a ',' before its payload");
  const meta = uri.slice(5, comma);
  const isBase64 = /;base64$/i.test(meta);
  const declaredType = meta.split(";")[0]!;
  let data: string;
  let head: Uint8Array;
  if (isBase64) {
    data = uri.slice(comma + 1).replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 === 1) throw imageError(uri, "the base64 payload is invalid");
    const size = Math.floor((data.length * 3) / 4) - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0);
    if (size > maxBytes) throw imageError(uri, `the image is larger than ${maxBytes} bytes`);
    head = Buffer.from(data.slice(0, 24), "base64");
  } else {
    const bytes = percentDecode(uri.slice(comma + 1));
    if (!bytes) throw imageError(uri, "the payload is not valid percent-encoding");
    if (bytes.byteLength > maxBytes) throw imageError(uri, `the image is larger than ${maxBytes} bytes`);
    data = bytes.toString("base64");
    head = bytes;
  }
  if (head.byteLength === 0) throw imageError(uri, "the image is empty");
  return { mediaType: checkedMediaType(declaredType, head, uri), data };
}

/** Percent-decoding to bytes (`decodeURIComponent` insists on UTF-8, images are binary). */
function percentDecode(text: string): Buffer | undefined {
  const input = Buffer.from(text, "utf8");
  const out = Buffer.allocUnsafe(input.byteLength);
  let n = 0;
  for (let i = 0; i < input.byteLength; i++) {
    if (input[i] !== 0x25 /* % */) {
      out[n++] = input[i]!;
      continue;
    }
    const hex = input.toString("latin1", i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out[n++] = parseInt(hex, 16);
    i += 2;
  }
  return out.subarray(0, n);
}

function checkedMediaType(header: string | null, bytes: Uint8Array, url: string): string {
  const declared = (header ?? "").split(";")[0]!.trim().toLowerCase();
  // Servers that do not know the type send nothing or a generic binary type: trust the bytes then.
  if (declared === "" || declared === "application/octet-stream" || declared === "binary/octet-stream") {
    const sniffed = sniffImageType(bytes);
    if (!sniffed) throw imageError(url, "the content is not a recognised image format");
    return sniffed;
  }
  if (!declared.startsWith("image/")) throw imageError(url, `the content type is ${declared}, not an image`);
  if (declared === "image/svg+xml") throw imageError(url, "SVG is not a raster image format models accept");
  return declared;
}

/** Media type from an image's first bytes (PNG, JPEG, GIF, WebP, BMP, TIFF, AVIF, HEIC), if recognised. */
export function sniffImageType(b: Uint8Array): string | undefined {
  const at = (offset: number, ...bytes: number[]) => bytes.every((x, i) => b[offset + i] === x);
  const ascii = (offset: number, s: string) => at(offset, ...Array.from(s, (c) => c.charCodeAt(0)));
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (at(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
  if (ascii(0, "GIF87a") || ascii(0, "GIF89a")) return "image/gif";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "image/webp";
  if (ascii(0, "BM") && b.byteLength >= 14) return "image/bmp";
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return "image/tiff";
  if (ascii(4, "ftyp")) {
    if (ascii(8, "avif") || ascii(8, "avis")) return "image/avif";
    if (ascii(8, "heic") || ascii(8, "heix") || ascii(8, "mif1")) return "image/heic";
  }
  return undefined;
}

async function checkDestination(url: URL, allowPrivate: boolean, signal: AbortSignal): Promise<void> {
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw imageError(url.href, `the scheme ${url.protocol} is not allowed (only http, https and data)`);
  if (url.username || url.password) throw imageError(url.href, "URLs with credentials are not allowed");
  if (allowPrivate) return;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: string[];
  if (isIPv4(host) || isIPv6(host)) addresses = [host];
  else {
    try {
      addresses = await resolveHost(host, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw imageError(url.href, `cannot resolve host ${host}`);
    }
  }
  if (addresses.length === 0) throw imageError(url.href, `cannot resolve host ${host}`);
  for (const address of addresses)
    if (!isPublicAddress(address)) throw imageError(url.href, `host ${host} is not a public address (${address})`);
}

/** Every address of a host name; DNS itself cannot be cancelled, so the signal races it. */
async function resolveHost(host: string, signal: AbortSignal): Promise<string[]> {
  const { lookup } = await import("node:dns/promises");
  signal.throwIfAborted();
  let onAbort = () => {};
  // The listener goes once the race is over, so a long-lived request signal does not collect them.
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const found = await Promise.race([lookup(host, { all: true, verbatim: true }), aborted]);
    return found.map((a) => a.address);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** True only for globally routable unicast addresses. */
export function isPublicAddress(address: string): boolean {
  if (isIPv4(address)) return isPublicIPv4(ipv4Bytes(address));
  if (isIPv6(address)) return isPublicIPv6(ipv6Bytes(address.split("%")[0]!));
  return false;
}

function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

function isPublicIPv4([a, b, c]: number[]): boolean {
  if (a === 0 || a === 10 || a === 127 || a! >= 224) return false; // this-network, private, loopback, multicast/reserved
  if (a === 100 && b! >= 64 && b! <= 127) return false; // carrier-grade NAT
  if (a === 169 && b === 254) return false; // link-local (cloud metadata lives here)
  if (a === 172 && b! >= 16 && b! <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF assignments, TEST-NET-1
  if (a === 192 && b === 88 && c === 99) return false; // 6to4 relay anycast
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if (a === 198 && b === 51 && c === 100) return false; // TEST-NET-2
  if (a === 203 && b === 0 && c === 113) return false; // TEST-NET-3
  return true;
}

/** 16 bytes of an IPv6 address (accepts `::` compression and a dotted IPv4 tail). */
function ipv6Bytes(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tail.push(...ipv4Bytes(text.slice(lastColon + 1)));
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const [left, right] = text.split("::") as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const head = groups(left);
  const rest = groups(right);
  const all = right === undefined ? head : [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function isPublicIPv6(b: number[]): boolean {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped).
  if (zeros(0, 10)) return b[10] === 0xff && b[11] === 0xff ? isPublicIPv4(b.slice(12)) : false;
  // 64:ff9b::/96 NAT64 reaches the embedded IPv4 address.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return isPublicIPv4(b.slice(12));
  if ((b[0]! & 0xe0) !== 0x20) return false; // outside 2000::/3 global unicast: ULA, link-local, multicast…
  if (b[0] === 0x20 && b[1] === 0x01 && b[2]! < 0x02) return false; // 2001::/23 IETF (Teredo, ORCHID…)
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return false; // documentation
  if (b[0] === 0x20 && b[1] === 0x02) return isPublicIPv4(b.slice(2, 6)); // 6to4 embeds an IPv4 address
  return true;
}

/** The URL without query, fragment or credentials (they may carry secrets), kept short. */
function describe(url: string): string {
  if (url.startsWith("data:")) return "(data URI)";
  let shown = url;
  try {
    const u = new URL(url);
    shown = (u.origin === "null" ? u.protocol : u.origin) + u.pathname;
  } catch {}
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}

function imageError(url: string, reason: string): GatewayError {
  return lmrelayError("invalid_request", `could not fetch image ${describe(url)}: ${reason}`);
}
