import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createLogger } from "../../src/log/logger";
import { FAKE_ANTHROPIC_KEY, startAnthropicFake } from "../fakes/anthropic";
import type { FakeUpstream, RecordedRequest } from "../fakes/common";
import { FAKE_GEMINI_KEY, startGeminiFake } from "../fakes/gemini";
import { startOllamaFake } from "../fakes/ollama";
import { startAzureFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// The security review items, each with a test: request smuggling, header injection into upstream
// requests, SSRF (no client input reaches another host; image URLs only to public addresses),
// path traversal, the admin key, and no secret in any log line at any level.

const ADMIN_KEY = "adm-secret-7f3a9c2e51";
const CLIENT_KEY = "cli-secret-4b8d0e6f2a";
const OPENAI_KEY = "sk-test";
const AZURE_KEY = "azure-test-key";

let openai: FakeUpstream;
let anthropic: FakeUpstream;
let gemini: FakeUpstream;
let ollama: FakeUpstream;
let azure: FakeUpstream;
let gw: TestGateway;
const logLines: string[] = [];

/** A server nothing may ever reach: any hit is a request lmrelay was tricked into sending. */
let canary: ReturnType<typeof Bun.serve>;
let canaryHits: string[] = [];

beforeAll(async () => {
  canary = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      canaryHits.push(`${req.method} ${req.url}`);
      return new Response("canary");
    },
  });
  openai = await startOpenAIFake({ models: ["gpt-4o-mini"] });
  anthropic = await startAnthropicFake({ keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] });
  gemini = await startGeminiFake();
  ollama = await startOllamaFake();
  azure = await startAzureFake();
  gw = await startGateway(
    {
      admin: { key: ADMIN_KEY },
      clients: { app: { key: CLIENT_KEY } },
      providers: {
        up: { type: "openai", baseUrl: `${openai.url}/v1`, keys: [OPENAI_KEY] },
        ant: { type: "anthropic", baseUrl: anthropic.url, keys: [FAKE_ANTHROPIC_KEY] },
        gem: { type: "gemini", baseUrl: gemini.url, keys: [FAKE_GEMINI_KEY] },
        local: { type: "ollama", baseUrl: ollama.url },
        az: { type: "azure", baseUrl: azure.url, keys: [AZURE_KEY], deployments: { "gpt-4o": "prod-4o" } },
        echo: { type: "echo" },
      },
    },
    { log: createLogger({ level: "debug", pretty: false, write: (line) => logLines.push(line) }) },
  );
});

afterAll(async () => {
  await gw?.stop();
  for (const f of [openai, anthropic, gemini, ollama, azure]) await f?.stop();
  canary?.stop(true);
});

const auth = { authorization: `Bearer ${CLIENT_KEY}` };

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...auth, ...headers }, body: JSON.stringify(body) });
}

const allUpstreamRequests = (): RecordedRequest[] => [openai, anthropic, gemini, ollama, azure].flatMap((f) => f.requests);

/** Sends raw bytes and returns everything the server wrote back before closing (or 800 ms). */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const s = connect(gw.port, "127.0.0.1", () => s.write(bytes));
    const done = () => {
      s.destroy();
      resolve(data);
    };
    s.on("data", (d) => (data += d.toString("latin1")));
    s.on("error", done);
    s.on("close", done);
    setTimeout(done, 800);
  });
}

describe("request smuggling", () => {
  const body = JSON.stringify({ model: "echo/echo-1", messages: [{ role: "user", content: "hi" }] });
  // The request a smuggler hides in a body: answered, it would show Ollama's version object.
  const hidden = `GET /api/version HTTP/1.1\r\nhost: x\r\n\r\n`;
  const start = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${CLIENT_KEY}\r\ncontent-type: application/json\r\n`;
  const cases: Record<string, string> = {
    "Content-Length and Transfer-Encoding (CL.TE)": `${start}content-length: ${body.length}\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`,
    "Transfer-Encoding then a short Content-Length (TE.CL)": `${start}transfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n${hidden}`,
    "two different Content-Lengths": `${start}content-length: ${body.length}\r\ncontent-length: 5\r\n\r\n${body}${hidden}`,
    "Transfer-Encoding with a space before the colon": `${start}content-length: ${body.length}\r\ntransfer-encoding : chunked\r\n\r\n${body}`,
    "Transfer-Encoding: chunked, identity": `${start}content-length: 4\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n${hidden}`,
    "Transfer-Encoding: xchunked": `${start}content-length: 5\r\ntransfer-encoding: xchunked\r\n\r\n0\r\n\r\n${hidden}`,
    "two Transfer-Encoding headers": `${start}transfer-encoding: chunked\r\ntransfer-encoding: identity\r\n\r\n0\r\n\r\n${hidden}`,
    "obsolete line folding": `${start}transfer-encoding: identity\r\n chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n${hidden}`,
    "negative Content-Length": `${start}content-length: -1\r\n\r\n${hidden}`,
    "signed Content-Length": `${start}content-length: +5\r\n\r\nhello${hidden}`,
    "bare LF line endings": `POST /v1/chat/completions HTTP/1.1\nhost: x\ncontent-length: 0\n\n${hidden}`,
    "NUL in a header value": `${start}x-a: a\u0000b\r\ncontent-length: 0\r\n\r\n${hidden}`,
    "CR in a header value": `${start}x-a: a\rb\r\ncontent-length: 0\r\n\r\n${hidden}`,
  };
  for (const [name, bytes] of Object.entries(cases))
    test(`${name}: refused, and the hidden request is never answered`, async () => {
      const out = await raw(bytes);
      const statuses = [...out.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
      expect(statuses).toHaveLength(1);
      expect(statuses[0]).toBeGreaterThanOrEqual(400);
      expect(out).not.toContain('"version"');
    });

  test("the server still answers afterwards", async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe("header injection", () => {
  test("a model name with CR/LF/NUL reaches the upstream only as JSON text, and comes back header-safe", async () => {
    const model = "up/gpt-4o-mini\r\nx-injected: yes\u0000";
    const before = openai.requests.length;
    const res = await post("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] });
    await res.text();
    for (const r of openai.requests.slice(before)) {
      expect(Object.keys(r.headers)).not.toContain("x-injected");
      expect(r.body.model).toBe("gpt-4o-mini\r\nx-injected: yes\u0000");
    }
    const echoed = res.headers.get("x-lmrelay-model");
    if (echoed !== null) expect(echoed).not.toMatch(/[\r\n\u0000]/);
    expect(res.headers.get("x-injected")).toBeNull();
  });

  test("client headers never reach an upstream: only lmrelay's own key and headers go out", async () => {
    const marker = "mk-7d1c0b9e";
    const clientHeaders: Record<string, string> = {
      "x-api-key": `${marker}-xapikey`,
      "api-key": `${marker}-apikey`,
      cookie: `session=${marker}-cookie`,
      "x-forwarded-for": `${marker}-xff`,
      "x-forwarded-host": `${marker}-xfh`,
      forwarded: `host=${marker}-fwd`,
      "openai-organization": `${marker}-org`,
      "x-goog-api-key": `${marker}-goog`,
      "x-stainless-os": `${marker}-stainless`,
      "user-agent": `${marker}-ua`,
      "x-request-id": `${marker}-reqid`,
    };
    const before = allUpstreamRequests().length;
    const messages = [{ role: "user", content: "hi" }];
    for (const model of ["up/gpt-4o-mini", "ant/claude-haiku-4-5", "gem/gemini-2.5-flash", "local/llama3.2", "az/gpt-4o"]) {
      const res = await post("/v1/chat/completions", { model, messages }, clientHeaders);
      expect(res.status).toBe(200);
      await res.text();
      const a = await post("/v1/messages", { model, messages, max_tokens: 20 }, { ...clientHeaders, "anthropic-version": "2023-06-01" });
      await a.text();
    }
    const sent = allUpstreamRequests().slice(before);
    expect(sent.length).toBeGreaterThanOrEqual(10);
    for (const r of sent) {
      const values = Object.values(r.headers).join("\n");
      expect(values).not.toContain(marker);
      expect(values).not.toContain(CLIENT_KEY);
    }
    // Each upstream got exactly its configured credential.
    expect(openai.requests.at(-1)!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(anthropic.requests.at(-1)!.headers["x-api-key"]).toBe(FAKE_ANTHROPIC_KEY);
    expect(gemini.requests.at(-1)!.headers["x-goog-api-key"]).toBe(FAKE_GEMINI_KEY);
    expect(azure.requests.at(-1)!.headers["api-key"]).toBe(AZURE_KEY);
    expect(ollama.requests.at(-1)!.headers.authorization).toBeUndefined();
  });
});

describe("SSRF: no client input changes where a request goes", () => {
  test("model names, Host and forwarding headers, body and query fields cannot redirect an upstream", async () => {
    canaryHits = [];
    const c = `127.0.0.1:${canary.port}`;
    const tricks = [
      `up/http://${c}/v1/chat/completions`,
      `up/@${c}`,
      `gem/../../../${c}/x`,
      "gem/../../v1/files",
      "gem/..",
      "gem/x?key=y#frag",
      `gem/%2e%2e/%2e%2e/v1/files`,
      "az/../../../x",
      "az/..",
      `local/../../${c}`,
      `//${c}/x`,
      `http://${c}/x`,
    ];
    const before = allUpstreamRequests().length;
    for (const model of tricks) {
      const res = await fetch(`${gw.url}/v1/chat/completions?base_url=http://${c}&api_base=http://${c}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth, host: c, "x-forwarded-host": c, forwarded: `host=${c}` },
        body: JSON.stringify({
          model,
          messages: [{ role: "user", content: "hi" }],
          base_url: `http://${c}`,
          api_base: `http://${c}`,
          baseURL: `http://${c}`,
          extra_headers: { host: c },
          extra_body: { url: `http://${c}` },
        }),
      });
      expect(res.status).toBeLessThan(500);
      await res.text();
    }
    expect(canaryHits).toEqual([]);
    // What did reach the upstreams stayed on their own API paths.
    for (const r of allUpstreamRequests().slice(before)) expect(r.path).toMatch(/^\/(v1\/chat\/completions|v1\/messages|v1beta\/models\/[^/]+:(stream)?[gG]enerateContent|api\/chat|openai\/deployments\/[^/]+\/chat\/completions)$/);
  });

  test("image URLs for upstreams that need inline images: only public http(s) addresses are fetched", async () => {
    canaryHits = [];
    const c = canary.port;
    const urls = [
      `http://127.0.0.1:${c}/cat.png`,
      `http://localhost:${c}/cat.png`,
      `http://2130706433:${c}/cat.png`,
      `http://0x7f.0.0.1:${c}/cat.png`,
      `http://127.1:${c}/cat.png`,
      `http://[::1]:${c}/cat.png`,
      `http://[::ffff:127.0.0.1]:${c}/cat.png`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://10.0.0.1/x.png`,
      `http://user:pass@127.0.0.1:${c}/cat.png`,
      "file:///etc/passwd",
      `ftp://127.0.0.1:${c}/cat.png`,
      `gopher://127.0.0.1:${c}/_x`,
    ];
    for (const model of ["local/llama3.2", "gem/gemini-2.5-flash"])
      for (const url of urls) {
        const res = await post("/v1/chat/completions", { model, messages: [{ role: "user", content: [{ type: "text", text: "what is it" }, { type: "image_url", image_url: { url } }] }] });
        const body = (await res.json()) as any;
        expect(res.status).toBe(400);
        // Refused by the fetcher, or (other schemes) already by the request decoder.
        expect(body.error.message).toMatch(/^lmrelay: (could not fetch image|'messages\[0\]\.content\[1\]\.image_url\.url' must be an http\(s\) URL)/);
      }
    expect(canaryHits).toEqual([]);
  });
});

describe("path traversal", () => {
  const paths = [
    "/admin/../../../../etc/passwd",
    "/admin/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/admin/..%2f..%2f..%2fetc%2fpasswd",
    "/admin/dashboard.x.js/../../package.json",
    "/admin/%2e%2e%2fpackage.json",
    "/..%2f..%2fetc/passwd",
    "/admin/....//....//etc/passwd",
    "/admin/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/admin/api/../../../etc/passwd",
    "/api/../../etc/passwd",
    "/v1/models/..%2f..%2f..%2fetc%2fpasswd",
    "/anthropic/v1/models/..%2f..%2fpackage.json",
    "/admin/lmrelay.db",
    "/lmrelay.db",
    "/lmrelay.config.ts",
    "/.env",
  ];
  for (const path of paths)
    test(`GET ${path} serves no file`, async () => {
      // A raw request: a client library would resolve the dot segments before sending.
      const out = await raw(`GET ${path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\nconnection: close\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1]);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(out).not.toContain("root:x:0:0");
      expect(out).not.toContain('"devDependencies"');
      expect(out).not.toContain("SQLite format");
      expect(out).not.toContain("defineConfig");
    });
});

describe("the admin API and the dashboard data need the admin key", () => {
  const routes = ["/admin/api/providers", "/admin/api/keys", "/admin/api/clients", "/admin/api/requests", "/admin/api/requests/x", "/admin/api/spend", "/admin/api/timeseries", "/admin/api/anything"];
  const refused: [string, Record<string, string>][] = [
    ["no key", {}],
    ["a wrong key", { authorization: "Bearer adm-secret-7f3a9c2e50" }],
    ["the key as a prefix", { authorization: `Bearer ${ADMIN_KEY}x` }],
    ["a client key", { authorization: `Bearer ${CLIENT_KEY}` }],
    ["the key in a cookie", { cookie: `key=${ADMIN_KEY}` }],
    ["the key in another header", { "x-admin-key": ADMIN_KEY }],
    ["an empty bearer", { authorization: "Bearer " }],
    ["Basic auth", { authorization: `Basic ${btoa(`admin:${ADMIN_KEY}`)}` }],
  ];
  for (const route of routes) {
    test(`${route}: 401 without the admin key, whatever else is sent`, async () => {
      for (const [, headers] of refused) {
        const res = await fetch(`${gw.url}${route}?key=${ADMIN_KEY}&api_key=${ADMIN_KEY}`, { headers });
        expect(res.status).toBe(401);
        expect(await res.text()).not.toContain(ADMIN_KEY);
      }
    });
    test(`${route}: served with the admin key (Bearer or x-api-key)`, async () => {
      for (const headers of [{ authorization: `Bearer ${ADMIN_KEY}` }, { "x-api-key": ADMIN_KEY }] as Record<string, string>[]) {
        const res = await fetch(`${gw.url}${route}`, { headers });
        expect(res.status).not.toBe(401);
        expect(res.status).toBeLessThan(500);
      }
    });
  }
  for (const method of ["POST", "PUT", "DELETE", "PATCH"])
    test(`${method} on the admin API without the key: refused`, async () => {
      const res = await fetch(`${gw.url}/admin/api/providers`, { method, headers: { "content-type": "application/json" }, body: "{}" });
      expect([401, 404, 405]).toContain(res.status);
    });
});

describe("no secret in any log line, at any level", () => {
  test("after traffic with failures, refusals and upstream errors that quote the key", async () => {
    // Upstreams that quote the key back, as real ones do ("Incorrect API key provided: sk-…").
    openai.fail({ kind: "status", status: 401, body: { error: { message: `Incorrect API key provided: ${OPENAI_KEY}`, type: "invalid_request_error", code: "invalid_api_key" } } });
    openai.fail({ kind: "status", status: 500, body: { error: { message: `upstream exploded near ${OPENAI_KEY}`, type: "server_error" } } });
    anthropic.fail({ kind: "status", status: 529, body: { type: "error", error: { type: "overloaded_error", message: `overloaded for key ${FAKE_ANTHROPIC_KEY}` } } });
    const messages = [{ role: "user", content: "hi" }];
    const bodies: string[] = [];
    for (const [model, headers] of [
      ["up/gpt-4o-mini", auth],
      ["up/gpt-4o-mini", auth],
      ["ant/claude-haiku-4-5", auth],
      ["echo/echo-1", { authorization: `Bearer ${CLIENT_KEY.slice(0, -1)}x` }],
      ["echo/echo-1", { "x-api-key": ADMIN_KEY }],
      ["echo/echo-1", {}],
      ["nope/none", auth],
    ] as const) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ model, messages }) });
      bodies.push(await res.text(), JSON.stringify([...res.headers]));
    }
    for (const path of ["/admin/api/providers", "/admin/api/keys", "/admin/api/requests", "/metrics"]) {
      const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      bodies.push(await res.text());
    }
    gw.runtime.audit.flush();
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.some((l) => l.includes('"level":"debug"') || l.includes('"level":"info"'))).toBe(true);
    for (const secret of [OPENAI_KEY, FAKE_ANTHROPIC_KEY, FAKE_GEMINI_KEY, AZURE_KEY, CLIENT_KEY, ADMIN_KEY]) {
      for (const line of logLines) expect(line).not.toContain(secret);
      for (const b of bodies) expect(b).not.toContain(secret);
    }
  });
});
