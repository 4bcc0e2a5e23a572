import { connect } from "node:net";
import fc from "fast-check";
import type { Protocol } from "../../../src/core/types";
import type { Logger } from "../../../src/log/logger";
import { protocolForPath } from "../../../src/server/app";
import { FAKE_ANTHROPIC_KEY, startAnthropicFake } from "../../fakes/anthropic";
import { startOpenAIFake } from "../../fakes/openai";
import { startGateway, type TestGateway } from "../../helpers/gateway";
import * as bodies from "./bodies";
import { type ByteMutation, byteMutation, mutate, type Transport, transport, type ValueMutation, valueMutation } from "./mutations";
import { type Answer, checkAnswer } from "./oracle";

// The fuzz target and driver shared by the CI test (test/reliability/fuzz.test.ts) and the long
// run (scripts/fuzz.ts): a real gateway on 127.0.0.1 with the echo provider and two fake upstreams,
// one fast-check property per endpoint, and a liveness check (`/healthz`) between cases.

export interface Endpoint {
  name: string;
  method: "GET" | "POST" | "HEAD";
  path: string;
  protocol: Protocol;
  body?: fc.Arbitrary<unknown>;
  headers?: Record<string, string>;
  /** Admin API: any JSON (or the dashboard's HTML) is a valid answer; errors are OpenAI-shaped. */
  admin?: boolean;
}

export const FUZZ_ADMIN_KEY = "adm-fuzz-key-0123456789";
const ADMIN = { authorization: `Bearer ${FUZZ_ADMIN_KEY}` };

const ANTHROPIC = { "anthropic-version": "2023-06-01" };

export const POST_ENDPOINTS: Endpoint[] = [
  { name: "openai chat", method: "POST", path: "/v1/chat/completions", protocol: "openai", body: bodies.openaiChat },
  { name: "openai completions", method: "POST", path: "/v1/completions", protocol: "openai", body: bodies.openaiCompletion },
  { name: "openai embeddings", method: "POST", path: "/v1/embeddings", protocol: "openai", body: bodies.openaiEmbeddings },
  { name: "anthropic messages", method: "POST", path: "/v1/messages", protocol: "anthropic", body: bodies.anthropicMessages, headers: ANTHROPIC },
  { name: "anthropic messages (prefix, beta)", method: "POST", path: "/anthropic/v1/messages?beta=true", protocol: "anthropic", body: bodies.anthropicMessages, headers: { ...ANTHROPIC, "anthropic-beta": "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14" } },
  { name: "anthropic count_tokens", method: "POST", path: "/v1/messages/count_tokens", protocol: "anthropic", body: bodies.anthropicCountTokens, headers: ANTHROPIC },
  { name: "ollama chat", method: "POST", path: "/api/chat", protocol: "ollama", body: bodies.ollamaChat },
  { name: "ollama generate", method: "POST", path: "/api/generate", protocol: "ollama", body: bodies.ollamaGenerate },
  { name: "ollama embed", method: "POST", path: "/api/embed", protocol: "ollama", body: bodies.ollamaEmbed },
  { name: "ollama embeddings", method: "POST", path: "/api/embeddings", protocol: "ollama", body: bodies.ollamaEmbeddings },
  { name: "ollama show", method: "POST", path: "/api/show", protocol: "ollama", body: bodies.ollamaShow },
  { name: "gemini generateContent", method: "POST", path: "/v1beta/models/up/gpt-4o-mini:generateContent", protocol: "gemini", body: bodies.geminiGenerate },
  { name: "gemini streamGenerateContent (SSE)", method: "POST", path: "/v1beta/models/fast:streamGenerateContent?alt=sse", protocol: "gemini", body: bodies.geminiGenerate },
  { name: "gemini streamGenerateContent (array)", method: "POST", path: "/gemini/v1/models/echo/echo-1:streamGenerateContent", protocol: "gemini", body: bodies.geminiGenerate },
  { name: "gemini countTokens", method: "POST", path: "/v1/models/ant/claude-haiku-4-5:countTokens", protocol: "gemini", body: bodies.geminiCountTokens },
  { name: "gemini embedContent", method: "POST", path: "/v1beta/models/up/text-embedding-3-small:embedContent", protocol: "gemini", body: bodies.geminiEmbed },
  { name: "gemini batchEmbedContents", method: "POST", path: "/gemini/v1beta/models/up/text-embedding-3-small:batchEmbedContents", protocol: "gemini", body: bodies.geminiBatchEmbed },
  { name: "gemini unknown method", method: "POST", path: "/v1beta/models/%zz:predict", protocol: "gemini", body: bodies.geminiGenerate },
  { name: "responses create", method: "POST", path: "/v1/responses", protocol: "responses", body: bodies.responsesCreate },
];

/** GET routes: fuzzed through their path tail and query string. */
export const GET_ENDPOINTS: Endpoint[] = [
  { name: "openai models", method: "GET", path: "/v1/models", protocol: "openai" },
  { name: "openai model", method: "GET", path: "/v1/models/", protocol: "openai" },
  { name: "anthropic models", method: "GET", path: "/v1/models", protocol: "anthropic", headers: ANTHROPIC },
  { name: "anthropic models (prefix)", method: "GET", path: "/anthropic/v1/models", protocol: "anthropic", headers: ANTHROPIC },
  { name: "anthropic model (prefix)", method: "GET", path: "/anthropic/v1/models/", protocol: "anthropic", headers: ANTHROPIC },
  { name: "gemini models", method: "GET", path: "/v1beta/models", protocol: "gemini" },
  { name: "gemini model", method: "GET", path: "/v1beta/models/", protocol: "gemini" },
  { name: "gemini model (prefix, v1)", method: "GET", path: "/gemini/v1/models/", protocol: "gemini" },
  { name: "gemini models at /v1 (Google client)", method: "GET", path: "/v1/models", protocol: "gemini", headers: { "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v20" } },
  { name: "responses retrieve", method: "GET", path: "/v1/responses/", protocol: "responses" },
  { name: "ollama tags", method: "GET", path: "/api/tags", protocol: "ollama" },
  { name: "ollama ps", method: "GET", path: "/api/ps", protocol: "ollama" },
  { name: "ollama version", method: "GET", path: "/api/version", protocol: "ollama" },
  { name: "ollama root", method: "HEAD", path: "/", protocol: "ollama" },
  { name: "admin providers", method: "GET", path: "/admin/api/providers", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin keys", method: "GET", path: "/admin/api/keys", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin clients", method: "GET", path: "/admin/api/clients", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin requests", method: "GET", path: "/admin/api/requests", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin request", method: "GET", path: "/admin/api/requests/", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin spend", method: "GET", path: "/admin/api/spend", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin timeseries", method: "GET", path: "/admin/api/timeseries", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin unknown", method: "GET", path: "/admin/api/", protocol: "openai", headers: ADMIN, admin: true },
  { name: "admin without key", method: "GET", path: "/admin/api/", protocol: "openai", admin: true },
  { name: "dashboard", method: "GET", path: "/admin/", protocol: "openai", admin: true },
];

export interface FuzzTarget {
  gateway: TestGateway;
  /** Forgets what the fake upstreams recorded (a long run would otherwise keep every body). */
  forget(): void;
  stop(): Promise<void>;
}

export async function startFuzzTarget(log?: Logger): Promise<FuzzTarget> {
  const up = await startOpenAIFake({ models: ["gpt-4o-mini", "text-embedding-3-small"] });
  const ant = await startAnthropicFake({ keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] });
  const gateway = await startGateway(
    {
      server: { maxBodyBytes: 1_000_000 },
      admin: { key: FUZZ_ADMIN_KEY },
      providers: {
        echo: { type: "echo" },
        up: { type: "openai", baseUrl: `${up.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini", "text-embedding-3-small"] },
        ant: { type: "anthropic", baseUrl: ant.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] },
      },
      models: { fast: ["ant/claude-haiku-4-5", "up/gpt-4o-mini", "echo/echo-1"] },
      routing: { timeoutMs: 10_000 },
    },
    { log },
  );
  return {
    gateway,
    forget() {
      up.requests.length = 0;
      ant.requests.length = 0;
    },
    async stop() {
      await gateway.stop();
      await up.stop();
      await ant.stop();
    },
  };
}

const headerValue = fc.oneof(fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e\t]/g, "")), fc.constantFrom("", " ", "x".repeat(8000), "Bearer ", "gzip", "br", "100-continue"));
const extraHeaders = fc.dictionary(
  fc.constantFrom("authorization", "x-api-key", "api-key", "anthropic-version", "anthropic-beta", "x-request-id", "accept", "accept-encoding", "content-encoding", "user-agent", "x-stainless-retry-count", "openai-organization", "x-forwarded-for", "host"),
  headerValue,
  { maxKeys: 3 },
);

export interface PostCase {
  body: unknown;
  values: ValueMutation[];
  bytes: ByteMutation[];
  transport: Transport;
  headers: Record<string, string>;
}

export function postCase(ep: Endpoint): fc.Arbitrary<PostCase> {
  return fc.record({
    body: ep.body!,
    // Most cases stay well-formed enough to reach the router; the rest are mutated.
    values: fc.oneof({ weight: 2, arbitrary: fc.constant<ValueMutation[]>([]) }, { weight: 3, arbitrary: fc.array(valueMutation, { minLength: 1, maxLength: 3 }) }),
    bytes: fc.oneof({ weight: 4, arbitrary: fc.constant<ByteMutation[]>([]) }, { weight: 1, arbitrary: fc.array(byteMutation, { minLength: 1, maxLength: 2 }) }),
    transport,
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraHeaders }),
  });
}

const pathTail = fc.oneof(
  fc.constantFrom("echo/echo-1", "up%2Fgpt-4o-mini", "fast", "models/up/gpt-4o-mini", "up/gpt-4o-mini", "%", "%zz", "..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%00", "a".repeat(4000), "x/y/z", "%E2%82", "%C0%AE%C0%AE/"),
  fc.webSegment(),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const query = fc.oneof(
  fc.constant(""),
  fc.constantFrom("?limit=0", "?limit=-1", "?limit=1e9", "?limit=abc", "?after_id=zzz", "?before_id=echo%2Fecho-1&limit=1", "?limit=1&limit=2", "?%zz=1", "?beta=true"),
  // Gemini list paging.
  fc.constantFrom("?pageSize=1", "?pageSize=-1", "?pageSize=abc", "?pageToken=zzz", "?pageToken=MQ&pageSize=1", "?pageToken=OTk5"),
  // Admin API filters.
  fc.constantFrom("?since=abc", "?since=-1", "?since=99999999999999999999", "?status=abc", "?status=200", "?client=%00", "?model=echo%2Fecho-1", "?window=month", "?window=x", "?by=client", "?minutes=0", "?minutes=1e9", "?bucket=5", "?bucket=86400&minutes=10080", "?limit=100000"),
  fc.webQueryParameters().map((q) => `?${q}`),
);

export interface GetCase {
  tail: string;
  query: string;
  headers: Record<string, string>;
}

export function getCase(ep: Endpoint): fc.Arbitrary<GetCase> {
  return fc.record({ tail: ep.path.endsWith("/") ? pathTail : fc.constant(""), query, headers: fc.oneof(fc.constant({}), extraHeaders) });
}

const CASE_TIMEOUT_MS = 15_000;

/** Sends one request and reads the whole answer (streams included) within the case deadline. */
async function fetchAnswer(url: string, init: RequestInit): Promise<Answer | string> {
  const signal = AbortSignal.timeout(CASE_TIMEOUT_MS);
  try {
    const res = await fetch(url, { ...init, signal, redirect: "manual" });
    const text = init.method === "HEAD" ? "" : await res.text();
    return { method: init.method, status: res.status, headers: res.headers, text };
  } catch (err) {
    if (signal.aborted) return `no complete answer within ${CASE_TIMEOUT_MS} ms (hang)`;
    return `request failed: ${(err as Error).message}`;
  }
}

/** A request whose body the client abandons: chunked then closed mid-body, or shorter than its Content-Length. */
function sendAbandoned(port: number, path: string, headers: Record<string, string>, body: Uint8Array, framing: "cut" | "short"): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.on("error", done);
    socket.on("close", done);
    socket.on("connect", () => {
      const half = body.subarray(0, Math.floor(body.length / 2));
      const lines = [`POST ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`];
      for (const [k, v] of Object.entries(headers)) if (k !== "host") lines.push(`${k}: ${v}`);
      lines.push(framing === "cut" ? "transfer-encoding: chunked" : `content-length: ${body.length + 100}`);
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      if (framing === "cut" && half.length > 0) socket.write(Buffer.concat([Buffer.from(`${half.length.toString(16)}\r\n`), half, Buffer.from("\r\n")]));
      else if (framing === "short") socket.write(half);
      setTimeout(done, 20);
    });
  });
}

function requestHeaders(ep: Endpoint, extra: Record<string, string>, contentType?: string | null): Record<string, string> {
  const headers: Record<string, string> = { ...ep.headers };
  if (contentType) headers["content-type"] = contentType;
  for (const [k, v] of Object.entries(extra)) if (k !== "host") headers[k] = v;
  return headers;
}

/** Runs one POST case; returns a problem, or undefined when the answer is acceptable. */
export async function runPostCase(gw: TestGateway, ep: Endpoint, c: PostCase): Promise<string | undefined> {
  const body = mutate(c.body, c.values, c.bytes);
  const headers = requestHeaders(ep, c.headers, c.transport.contentType);
  if (c.transport.framing === "cut" || c.transport.framing === "short") {
    await sendAbandoned(gw.port, ep.path, headers, body, c.transport.framing);
    return undefined;
  }
  const payload: RequestInit["body"] =
    c.transport.framing === "chunked"
      ? new ReadableStream({
          start(controller) {
            for (let i = 0; i < body.length; i += 4096) controller.enqueue(body.subarray(i, i + 4096));
            controller.close();
          },
        })
      : body;
  const ans = await fetchAnswer(gw.url + ep.path, { method: "POST", headers, body: payload });
  if (typeof ans === "string") return ans;
  return checkAnswer(ep.protocol, ans);
}

export async function runGetCase(gw: TestGateway, ep: Endpoint, c: GetCase): Promise<string | undefined> {
  const url = new URL(gw.url + ep.path + c.tail + c.query);
  const headers = requestHeaders(ep, c.headers);
  const ans = await fetchAnswer(url.href, { method: ep.method, headers });
  if (typeof ans === "string") return ans;
  // `..` segments are resolved before sending: the protocol follows the path that arrived.
  // The admin API answers in one (OpenAI-like) shape whatever the headers say.
  const admin = ep.admin === true && url.pathname.startsWith("/admin");
  const protocol = url.pathname === "/" ? "ollama" : admin ? "openai" : protocolForPath(url.pathname, new Headers(headers));
  return checkAnswer(protocol, ans, { loose: admin });
}

/** `/healthz` must keep answering quickly whatever came before. */
export async function checkAlive(gw: TestGateway): Promise<string | undefined> {
  try {
    const res = await fetch(`${gw.url}/healthz`, { signal: AbortSignal.timeout(3_000) });
    if (res.status !== 200) return `/healthz answered ${res.status}`;
    await res.text();
    return undefined;
  } catch (err) {
    return `/healthz did not answer: ${(err as Error).message}`;
  }
}

/** Keeps failure reports readable: the case minus its (possibly huge) generated body. */
export function describeCase(ep: Endpoint, c: PostCase | GetCase): string {
  const summary = "body" in c ? { values: c.values, bytes: c.bytes, transport: c.transport, headers: c.headers, body: JSON.stringify(c.body).slice(0, 400) } : c;
  return `${ep.name} ${ep.method} ${ep.path}: ${JSON.stringify(summary).slice(0, 1200)}`;
}

export interface FuzzRunOptions {
  seed: number;
  /** Cases per POST endpoint; GET endpoints get a third of it. */
  runs: number;
  /** Stop (don't shrink) at the first failure: shrinking a slow case can take long. */
  shrink?: boolean;
}

/** Fuzzes one endpoint; throws (with seed, path and the case) on the first unacceptable answer. */
export async function fuzzEndpoint(gw: TestGateway, ep: Endpoint, opts: FuzzRunOptions): Promise<void> {
  let n = 0;
  const params = { seed: opts.seed, numRuns: ep.body ? opts.runs : Math.max(5, Math.ceil(opts.runs / 3)), endOnFailure: opts.shrink === false };
  const check = async (problem: string | undefined, describe: () => string) => {
    if (problem) throw new Error(`${problem}\n  case: ${describe()}`);
    if (++n % 10 === 0) {
      const dead = await checkAlive(gw);
      if (dead) throw new Error(`${dead}\n  after: ${describe()}`);
    }
  };
  // LMRELAY_FUZZ_TRACE=1 prints each case before it is sent: the way to find a case that hangs.
  const trace = process.env.LMRELAY_FUZZ_TRACE ? (c: PostCase | GetCase) => process.stderr.write(`case ${describeCase(ep, c)}\n`) : () => {};
  if (ep.body)
    await fc.assert(
      fc.asyncProperty(postCase(ep), async (c) => {
        trace(c);
        await check(await runPostCase(gw, ep, c), () => describeCase(ep, c));
      }),
      params,
    );
  else
    await fc.assert(
      fc.asyncProperty(getCase(ep), async (c) => {
        trace(c);
        await check(await runGetCase(gw, ep, c), () => describeCase(ep, c));
      }),
      params,
    );
  const dead = await checkAlive(gw);
  if (dead) throw new Error(`${dead} after fuzzing ${ep.name}`);
}
