import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { readSse, type ServeProcess, startServe, streamText } from "./serve-process";

// Hot reload, through the real CLI: a stream that started on the old config finishes on it, the
// next request uses the new config, and an invalid edit is rejected (logged with file, field and
// reason) while the previous config keeps serving.

let a: OpenAIFake;
let b: OpenAIFake;
let dir: string;
const LONG = Array.from({ length: 24 }, (_, i) => `word${i}`).join(" ");

beforeAll(async () => {
  a = await startOpenAIFake({ models: ["m"] });
  b = await startOpenAIFake({ models: ["m"] });
  a.reply({ text: LONG, chunkDelayMs: 60 });
  b.reply({ text: "answer from b" });
  dir = mkdtempSync(path.join(tmpdir(), "lmrelay-reload-"));
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function config(target: "a" | "b", extra = ""): string {
  return `import { defineConfig } from "lmrelay";
import { aliasTarget } from "./helpers/target.ts";
export default defineConfig({
  storage: { path: "relay.db" },
  admin: { key: "admin-key-reload-test" },
  providers: {
    a: { type: "openai-compatible", baseUrl: "${a.url}/v1", keys: ["sk-test"], models: ["m"] },
    b: { type: "openai-compatible", baseUrl: "${b.url}/v1", keys: ["sk-test"], models: ["m"] },${extra}
  },
  models: { chat: [aliasTarget("${target}")] },
});
`;
}

function writeHelper(file: string, suffix: string) {
  writeFileSync(file, `export function aliasTarget(p: string): string {\n  return p + "${suffix}";\n}\n`);
}

async function ask(url: string): Promise<{ provider: string | null; text: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  return { provider: res.headers.get("x-lmrelay-provider"), text: body.choices[0].message.content };
}

test("a config edit during a long stream: the stream completes on the old config, the next request uses the new one; bad edits are rejected", async () => {
  const file = path.join(dir, "lmrelay.config.ts");
  Bun.spawnSync(["mkdir", "-p", path.join(dir, "helpers")]);
  const helper = path.join(dir, "helpers", "target.ts");
  writeHelper(helper, "/m");
  writeFileSync(file, config("a"));
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(file);
    const res = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", stream: true, messages: [{ role: "user", content: "tell me" }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-lmrelay-provider")).toBe("a");
    let reloadedAt = -1;
    let chunksBeforeReload = 0;
    const streamed = readSse(res, (_d, i) => {
      if (reloadedAt === -1) chunksBeforeReload = i + 1;
    });

    // Edit while the stream is running: route the alias to b.
    await Bun.sleep(200);
    const mark = serve.logs.length;
    writeFileSync(file, config("b"));
    const reloaded = await serve.waitForLog((l) => l.msg === "config reloaded", { from: mark });
    reloadedAt = Date.now();
    expect(reloaded.why).toContain("lmrelay.config.ts");

    // The next request goes to b while the first stream is still running.
    const next = await ask(serve.url);
    expect(next).toEqual({ provider: "b", text: "answer from b" });

    const events = await streamed;
    expect(chunksBeforeReload).toBeLessThan(events.length - 5); // the reload landed mid-stream
    expect(events.at(-1)).toBe("[DONE]");
    expect(streamText(events)).toBe(LONG);

    // An invalid edit: rejected with file, field and reason; b keeps serving.
    const mark2 = serve.logs.length;
    writeFileSync(file, config("a", `\n    c: { type: "no-such-type" as any, baseUrl: "http://127.0.0.1:1/v1" },`));
    const rejected = await serve.waitForLog((l) => l.msg.startsWith("config reload rejected"), { from: mark2 });
    expect(rejected.level).toBe("error");
    expect(rejected.file).toBe(file);
    expect(rejected.field).toBe("providers.c.type");
    expect(String(rejected.reason).length).toBeGreaterThan(0);
    expect(await ask(serve.url)).toEqual({ provider: "b", text: "answer from b" });

    // A syntax error: rejected with its line; b keeps serving.
    const mark3 = serve.logs.length;
    writeFileSync(file, config("a").replace("export default", "export default {"));
    const syntax = await serve.waitForLog((l) => l.msg.startsWith("config reload rejected"), { from: mark3 });
    expect(String(syntax.reason)).toMatch(/line \d+:\d+/);
    expect(await ask(serve.url)).toEqual({ provider: "b", text: "answer from b" });

    // Editing only the imported helper reloads too (the helper's folder is watched).
    writeFileSync(file, config("b"));
    await serve.waitForLog((l) => l.msg === "config reloaded", { from: serve.logs.length });
    const mark4 = serve.logs.length;
    writeHelper(helper, "/missing-model");
    await serve.waitForLog((l) => l.msg === "config reloaded" && String(l.why).includes("target.ts"), { from: mark4 });
    const res404 = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res404.status).not.toBe(200);
    await res404.text();

    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
  } finally {
    if (serve && serve.proc.exitCode === null) serve.proc.kill("SIGKILL");
  }
}, 60_000);

test("with --no-watch only SIGHUP reloads; cooldowns carry over; restart-only changes are called out", async () => {
  const sub = path.join(dir, "hup");
  Bun.spawnSync(["mkdir", "-p", path.join(sub, "helpers")]);
  writeHelper(path.join(sub, "helpers", "target.ts"), "/m");
  const file = path.join(sub, "lmrelay.config.ts");
  writeFileSync(file, config("a"));
  a.reply({ text: "short answer from a" });
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(file, ["--no-watch"]);
    expect((await ask(serve.url)).provider).toBe("a");
    writeFileSync(file, config("b"));
    await Bun.sleep(800); // longer than the watcher's debounce: nothing may happen
    expect(serve.logs.some((l) => l.msg === "config reloaded")).toBe(false);
    expect((await ask(serve.url)).provider).toBe("a");

    const mark = serve.logs.length;
    serve.kill("SIGHUP");
    const reloaded = await serve.waitForLog((l) => l.msg === "config reloaded", { from: mark });
    expect(reloaded.why).toBe("SIGHUP");
    expect(reloaded.providers).toBe(2);
    expect((await ask(serve.url)).provider).toBe("b");

    // A 429 with Retry-After cools a's key down.
    a.fail({ kind: "status", status: 429, headers: { "retry-after": "600" }, body: { error: { message: "slow down", type: "rate_limit_error" } } });
    await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "a/m", messages: [{ role: "user", content: "hi" }] }),
    }).then((r) => r.text());
    const cooldownOfA = async () => {
      const res = await fetch(`${serve!.url}/admin/api/keys`, { headers: { authorization: "Bearer admin-key-reload-test" } });
      const keys = ((await res.json()) as any).data as any[];
      const key = keys.find((k) => k.provider === "a")!;
      return key.health?.cooldown ?? (Object.values(key.byModel ?? {}) as any[]).find((v) => v?.cooldown)?.cooldown;
    };
    const before = await cooldownOfA();
    expect(before).toBeDefined();

    // Restart-only settings are called out rather than silently ignored.
    const mark2 = serve.logs.length;
    writeFileSync(file, config("b").replace('storage: { path: "relay.db" }', 'storage: { path: "other.db" }'));
    serve.kill("SIGHUP");
    const warn = await serve.waitForLog((l) => l.msg.startsWith("these settings take effect only after a restart"), { from: mark2 });
    expect(String(warn.changed)).toContain("storage.path");
    // Health and cooldowns carry over a reload for providers and keys that still exist.
    expect(await cooldownOfA()).toEqual(before);

    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
  } finally {
    if (serve && serve.proc.exitCode === null) serve.proc.kill("SIGKILL");
    a.reply({ text: LONG, chunkDelayMs: 60 });
  }
}, 60_000);
