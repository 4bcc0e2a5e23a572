import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { fingerprint } from "../../src/core/secrets";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";

// The secret-leak test: a real `lmrelay serve` process with known upstream, client and admin keys
// (body capture on, metrics behind the admin key) takes traffic with failures of every kind; then
// the SQLite files' bytes, /metrics, every admin API answer, every error body and the whole
// process log are searched for the keys. None may appear; fingerprints may.

const SECRETS = {
  upstreamGood: "sk-upstream-GOOD-7f3a9c1e5b42",
  upstreamBad: "sk-upstream-BAD-2d8e4f6a0c17",
  client: "lmr-client-SECRET-5e6f7a8b9c30",
  admin: "lmr-admin-SECRET-0a1b2c3d4e55",
};

let upstream: OpenAIFake;
let dir: string;
let proc: ReturnType<typeof Bun.spawn>;
let url: string;
let output = "";
const captured: { what: string; text: string }[] = [];

async function startServe(): Promise<void> {
  proc = Bun.spawn([process.execPath, path.join(import.meta.dir, "../../src/main.ts"), "serve", "--config", path.join(dir, "lmrelay.config.ts"), "--port", "0"], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, LMRELAY_LOG_FORMAT: "json", LMRELAY_LOG_LEVEL: "debug" },
  });
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  void drain(proc.stdout as ReadableStream<Uint8Array>);
  void drain(proc.stderr as ReadableStream<Uint8Array>);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
    if (m) {
      url = m[1]!;
      return;
    }
    if (proc.exitCode !== null) break;
    await Bun.sleep(20);
  }
  throw new Error(`lmrelay serve did not start:\n${output}`);
}

beforeAll(async () => {
  upstream = await startOpenAIFake({ keys: [SECRETS.upstreamGood] });
  upstream.reply({ text: "all good", usage: { input: 12, output: 3 } });
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-leak-"));
  writeFileSync(
    path.join(dir, "lmrelay.config.ts"),
    `import { defineConfig } from "lmrelay";
export default defineConfig({
  storage: { path: "leak.db" },
  admin: { key: ${JSON.stringify(SECRETS.admin)} },
  metrics: { auth: true },
  audit: { bodies: true },
  providers: {
    oa: { type: "openai", baseUrl: ${JSON.stringify(`${upstream.url}/v1`)}, keys: [${JSON.stringify(SECRETS.upstreamBad)}, ${JSON.stringify(SECRETS.upstreamGood)}], models: ["gpt-4o-mini"] },
    echo: { type: "echo", models: ["echo-1"] },
  },
  clients: { app: { key: ${JSON.stringify(SECRETS.client)}, models: ["oa/*", "echo/*"] } },
  routing: { maxAttempts: 3 },
});
`,
  );
  await startServe();
});

afterAll(async () => {
  if (proc && proc.exitCode === null) proc.kill("SIGKILL");
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Keeps every answer that is not a success, with its headers. */
async function keep(what: string, res: Response): Promise<Response> {
  const text = await res.clone().text();
  if (!res.ok) captured.push({ what: `error body: ${what}`, text: JSON.stringify(Object.fromEntries(res.headers)) + "\n" + text });
  return res;
}

async function sdkError(what: string, p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    const err = e as { status?: number; error?: unknown; headers?: Headers; message: string };
    captured.push({ what: `SDK error: ${what}`, text: `${err.status} ${err.message} ${JSON.stringify(err.error)} ${JSON.stringify(Object.fromEntries(err.headers ?? []))}` });
    return;
  }
  throw new Error(`${what}: expected a failure`);
}

test("no key appears in the database, /metrics, admin answers, error bodies or the process log", async () => {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: SECRETS.client, maxRetries: 0 });
  const anthropic = new Anthropic({ baseURL: url, apiKey: SECRETS.client, maxRetries: 0 });
  const chat = (model = "oa/gpt-4o-mini", content = "hello") => openai.chat.completions.create({ model, messages: [{ role: "user", content }] });

  // Successes; the first key is refused upstream (401) and gets disabled on the way.
  for (let i = 0; i < 3; i++) expect((await chat()).choices[0]!.message.content).toBe("all good");
  const stream = await openai.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "s" }], stream: true });
  for await (const _ of stream);
  // A client pasting every key into its prompt: echoed back to it, but captured bodies are scrubbed.
  const echoed = await chat("echo/echo-1", `keys: ${Object.values(SECRETS).join(" ")}`);
  expect(echoed.choices[0]!.message.content).toContain(SECRETS.admin);
  await anthropic.messages.create({ model: "oa/gpt-4o-mini", max_tokens: 8, messages: [{ role: "user", content: "hi" }] });

  // Google clients: the key as x-goog-api-key (the SDK) and as `?key=` on the URL, right and wrong.
  const genai = new GoogleGenAI({ apiKey: SECRETS.client, httpOptions: { baseUrl: url } });
  expect((await genai.models.generateContent({ model: "oa/gpt-4o-mini", contents: "hi" })).text).toBe("all good");
  const ask = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
  const viaQuery = await keep("gemini ?key=", await fetch(`${url}/v1beta/models/oa/gpt-4o-mini:streamGenerateContent?alt=sse&key=${SECRETS.client}`, { method: "POST", body: ask }));
  expect(viaQuery.status).toBe(200);
  captured.push({ what: "gemini stream via ?key=", text: await viaQuery.text() });
  await keep("gemini wrong ?key=", await fetch(`${url}/v1beta/models/oa/gpt-4o-mini:generateContent?key=${SECRETS.upstreamGood}`, { method: "POST", body: ask }));
  await keep("gemini admin key as ?key=", await fetch(`${url}/gemini/v1/models/nope:countTokens?key=${SECRETS.admin}`, { method: "POST", body: "{bad" }));
  await keep("gemini bad body with ?key=", await fetch(`${url}/v1/models/oa/gpt-4o-mini:generateContent?key=${SECRETS.client}`, { method: "POST", body: "{bad" }));
  await keep("gemini model list with wrong ?key=", await fetch(`${url}/v1/models?key=${SECRETS.upstreamBad}`));

  // Failures of every kind.
  upstream.fail({ kind: "status", status: 400, body: { error: { message: `Incorrect API key provided: ${SECRETS.upstreamGood}.`, type: "invalid_request_error" } } });
  await sdkError("upstream echoes its key", chat());
  upstream.fail({ kind: "status", status: 500 }, { kind: "status", status: 500 }, { kind: "status", status: 500 });
  await sdkError("upstream 500s", chat());
  upstream.fail({ kind: "status", status: 429, headers: { "retry-after": "1" } });
  await sdkError("upstream 429", chat());
  upstream.fail({ kind: "cut", afterChunks: 2 });
  try {
    for await (const _ of await openai.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "cut" }], stream: true }));
  } catch (e) {
    captured.push({ what: "stream cut", text: String(e) });
  }
  await sdkError("wrong client key", new OpenAI({ baseURL: `${url}/v1`, apiKey: `${SECRETS.client}x`, maxRetries: 0 }).models.list());
  await sdkError("admin key as client key", new OpenAI({ baseURL: `${url}/v1`, apiKey: SECRETS.admin, maxRetries: 0 }).models.list());
  await sdkError("unknown model", chat("oa-gpt-nope"));
  await sdkError("anthropic wrong key", new Anthropic({ baseURL: url, apiKey: SECRETS.upstreamGood, maxRetries: 0 }).messages.create({ model: "x", max_tokens: 1, messages: [{ role: "user", content: "x" }] }));
  await keep("ollama without key", await fetch(`${url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "oa/gpt-4o-mini", messages: [] }) }));
  await keep("bad json", await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${SECRETS.client}` }, body: "{nope" }));
  await keep("admin with client key", await fetch(`${url}/admin/api/keys`, { headers: { authorization: `Bearer ${SECRETS.client}` } }));
  await keep("admin without key", await fetch(`${url}/admin/api/providers`));
  await keep("metrics without key", await fetch(`${url}/metrics`));

  // What an operator reads.
  const admin = { authorization: `Bearer ${SECRETS.admin}` };
  const metrics = await keep("metrics", await fetch(`${url}/metrics`, { headers: { "x-api-key": SECRETS.admin } }));
  expect(metrics.status).toBe(200);
  captured.push({ what: "/metrics", text: await metrics.text() });
  for (const p of ["providers", "keys", "clients", "requests?limit=1000", "spend", "spend?window=total"]) {
    const res = await keep(`admin ${p}`, await fetch(`${url}/admin/api/${p}`, { headers: admin }));
    expect(res.status).toBe(200);
    captured.push({ what: `admin ${p}`, text: await res.text() });
  }
  const keysView = captured.find((c) => c.what === "admin keys")!.text;
  expect(keysView).toContain(fingerprint(SECRETS.upstreamGood));
  const requests = JSON.parse(captured.find((c) => c.what === "admin requests?limit=1000")!.text).data as { requestId: string }[];
  expect(requests.length).toBeGreaterThan(10);
  for (const r of requests.slice(0, 20)) {
    const res = await fetch(`${url}/admin/api/requests/${encodeURIComponent(r.requestId)}`, { headers: admin });
    captured.push({ what: `admin request ${r.requestId}`, text: await res.text() });
  }

  // Stop the server (it drains and flushes the audit log), then read everything it wrote.
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  captured.push({ what: "process log", text: output });
  expect(output).toContain('"msg":"request"');

  const files = ["leak.db", "leak.db-wal", "leak.db-shm"].map((f) => path.join(dir, f)).filter(existsSync);
  expect(files.length).toBeGreaterThan(0);
  const bytes = files.map((f) => ({ f, b: readFileSync(f) }));
  expect(bytes.some(({ b }) => b.includes(fingerprint(SECRETS.admin)))).toBe(true); // the echoed prompt, scrubbed to a fingerprint

  const leaks: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const c of captured) if (c.text.includes(secret)) leaks.push(`${name} in ${c.what}`);
    for (const { f, b } of bytes) if (b.includes(secret)) leaks.push(`${name} in ${path.basename(f)}`);
  }
  // The echo answer itself legitimately carries what the client sent; it is a 200, not captured above.
  expect(leaks).toEqual([]);
}, 60_000);
