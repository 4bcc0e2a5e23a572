import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { loadConfig } from "../../src/config/load";
import { silentLogger } from "../../src/log/logger";
import { Runtime } from "../../src/server/runtime";
import { startServe } from "../ops/serve-process";

// Each test starts lmrelay processes: on a loaded machine that takes more than the default 5 s.
setDefaultTimeout(30_000);

// What a new user meets in the first hour, on the server side: a GET on a POST route is a 405 with
// Allow (in each protocol's shape), /admin while off names the variable to set, and readable logs
// into a pipe print the start-up block as lines, disabled providers included.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CONFIG = `import { defineConfig, env } from "lmrelay";
export default defineConfig({
  server: { host: "127.0.0.1", port: 0 },
  storage: { path: ":memory:" },
  admin: { key: env.optional("LMRELAY_T_ADMIN_KEY") },
  providers: {
    echo: { type: "echo", models: ["echo-1"], free: true },
    openai: { type: "openai", keys: [env.optional("LMRELAY_T_OPENAI_KEY")], enabled: env.has("LMRELAY_T_OPENAI_KEY") },
  },
  models: { smart: ["openai/gpt-4o", "echo/echo-1"] },
});
`;

function configFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-firsthour-"));
  dirs.push(dir);
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, CONFIG);
  return file;
}

async function withRuntime(fn: (url: string, file: string) => Promise<void>): Promise<void> {
  const file = configFile();
  const runtime = new Runtime(await loadConfig(file), silentLogger);
  const { url } = await runtime.start();
  try {
    await fn(url, file);
  } finally {
    await runtime.stop({ drainMs: 1_000 });
  }
}

test("a GET on a POST route is a 405 with Allow, in the caller's protocol; an unknown path stays a 404", async () => {
  await withRuntime(async (url) => {
    const chat = await fetch(`${url}/v1/chat/completions`);
    expect(chat.status).toBe(405);
    expect(chat.headers.get("allow")).toBe("POST");
    expect(await chat.json()).toMatchObject({ error: { message: "lmrelay: GET is not allowed on /v1/chat/completions; use POST", code: "method_not_allowed" } });
    const messages = await fetch(`${url}/v1/messages`);
    expect(messages.status).toBe(405);
    expect(((await messages.json()) as { type: string }).type).toBe("error");
    const ollama = await fetch(`${url}/api/chat`);
    expect([ollama.status, ollama.headers.get("allow")]).toEqual([405, "POST"]);
    expect(await ollama.json()).toEqual({ error: "lmrelay: GET is not allowed on /api/chat; use POST" });
    // A GET route asked with POST, and a path with a parameter.
    const models = await fetch(`${url}/v1/models/echo`, { method: "DELETE" });
    expect([models.status, models.headers.get("allow")]).toEqual([405, "GET"]);
    expect((await fetch(`${url}/v1/nothing-here`)).status).toBe(404);
    // The SDKs see a plain API error with that status.
    const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
    const e = (await sdk.get("/chat/completions").catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.status).toBe(405);
    const anthropic = new Anthropic({ baseURL: url, apiKey: "x", maxRetries: 0 });
    const a = (await anthropic.get("/v1/messages").catch((err: unknown) => err)) as { status: number };
    expect(a.status).toBe(405);
  });
});

test("/admin while off names the unset variable admin.key reads", async () => {
  delete process.env.LMRELAY_T_ADMIN_KEY;
  await withRuntime(async (url, file) => {
    const page = await fetch(`${url}/admin`);
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(html).toContain("<code>LMRELAY_T_ADMIN_KEY</code> is not set (<code>admin.key</code> in");
    expect(html).toContain(file);
    const api = await fetch(`${url}/admin/api/providers`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { message: string } }).error.message).toBe(
      `lmrelay: the admin API is disabled: LMRELAY_T_ADMIN_KEY is not set (admin.key in ${file} reads it)`,
    );
    const series = await fetch(`${url}/admin/api/timeseries`);
    expect(((await series.json()) as { error: { message: string } }).error.message).toContain("LMRELAY_T_ADMIN_KEY is not set");
  });
});

test("pretty logs into a pipe print the start-up block as readable lines, disabled providers included", async () => {
  const file = configFile();
  const serve = await startServe(file, [], { LMRELAY_LOG_FORMAT: "pretty" }).catch((e) => e as Error);
  // startServe waits for a line containing "listening on"; the pretty block's first line has it.
  expect(serve).not.toBeInstanceOf(Error);
  const s = serve as Awaited<ReturnType<typeof startServe>>;
  try {
    const text = s.output();
    expect(text).toMatch(/^lmrelay \S+ listening on http:\/\/127\.0\.0\.1:\d+$/m);
    expect(text).toContain(`\n  config     ${file}\n`);
    expect(text).toMatch(/\n {4}echo +echo +1 model +0 keys +health - +ok\n/);
    expect(text).toMatch(/\n {4}openai +openai +disabled: LMRELAY_T_OPENAI_KEY not set\n/);
    expect(text).toContain("\n  dashboard  disabled (LMRELAY_T_ADMIN_KEY not set)\n");
    expect(text).not.toContain("providers=[");
  } finally {
    s.kill();
    await s.exited();
  }
}, 30_000);
