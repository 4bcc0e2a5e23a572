import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServe } from "./serve-process";

// Bun caps a process at 256 concurrent fetch() calls unless BUN_CONFIG_MAX_HTTP_REQUESTS is set at
// start; `serve` re-executes itself with it (same PID) so thousands of streams can be relayed.

const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-fetchlimit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function environOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
  return Object.fromEntries(raw.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

const echoConfig = () => {
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, `import { defineConfig } from "lmrelay";\nexport default defineConfig({ storage: { path: ":memory:" }, providers: { echo: { type: "echo", models: ["echo-1"] } } });\n`);
  return file;
};

test("serve runs with the fetch concurrency limit raised, keeping its PID and arguments", async () => {
  const serve = await startServe(echoConfig());
  try {
    expect(environOf(serve.proc.pid).BUN_CONFIG_MAX_HTTP_REQUESTS).toBe("65535");
    const res = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "still me" }] }),
    });
    expect(((await res.json()) as any).choices[0].message.content).toBe("still me");
  } finally {
    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
  }
});

test("an operator's own value is kept", async () => {
  const serve = await startServe(echoConfig(), [], { BUN_CONFIG_MAX_HTTP_REQUESTS: "1024" });
  try {
    expect(environOf(serve.proc.pid).BUN_CONFIG_MAX_HTTP_REQUESTS).toBe("1024");
  } finally {
    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
  }
});

test("a value from --env-file still raises the limit: it only counts at process start, so serve re-executes with it", async () => {
  const envFile = path.join(dir, "lmrelay.env");
  writeFileSync(envFile, "BUN_CONFIG_MAX_HTTP_REQUESTS=2048\n");
  const serve = await startServe(echoConfig(), ["--env-file", envFile]);
  try {
    expect(environOf(serve.proc.pid).BUN_CONFIG_MAX_HTTP_REQUESTS).toBe("2048");
  } finally {
    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
  }
});

test("more than 256 requests reach the upstream at once", async () => {
  const WANTED = 300;
  // The upstream holds every chat request until WANTED are open at the same time (or 10 s pass).
  let open = 0;
  let peak = 0;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const giveUp = setTimeout(release, 10_000);
  const upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/v1/chat/completions") return Response.json({ object: "list", data: [] });
      open++;
      peak = Math.max(peak, open);
      if (open >= WANTED) release();
      await released;
      open--;
      return Response.json({ id: "c", object: "chat.completion", created: 1, model: "hold-1", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] });
    },
  });
  const file = path.join(dir, "hold.config.ts");
  writeFileSync(
    file,
    `import { defineConfig } from "lmrelay";\nexport default defineConfig({ storage: { path: ":memory:" }, providers: { hold: { type: "openai", baseUrl: "http://127.0.0.1:${upstream.port}/v1", keys: ["sk-hold"], models: ["hold-1"] } } });\n`,
  );
  const serve = await startServe(file);
  // This test process has Bun's default cap itself, so the client side uses raw sockets.
  const { hostname, port } = new URL(serve.url);
  const body = JSON.stringify({ model: "hold-1", messages: [{ role: "user", content: "hi" }] });
  const request = `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
  let answered = 0;
  const sockets = await Promise.all(
    Array.from({ length: WANTED }, () =>
      Bun.connect({
        hostname,
        port: Number(port),
        socket: {
          open: (s) => void s.write(request),
          data: (_s, chunk) => void (chunk.toString().startsWith("HTTP/1.1 200") && answered++),
        },
      }),
    ),
  );
  try {
    await released;
    expect(peak).toBe(WANTED);
    for (let i = 0; i < 200 && answered < WANTED; i++) await Bun.sleep(25);
    expect(answered).toBe(WANTED);
  } finally {
    clearTimeout(giveUp);
    for (const s of sockets) s.end();
    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
    upstream.stop(true);
  }
}, 30_000);
