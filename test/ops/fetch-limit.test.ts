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

test("serve runs with the fetch concurrency limit raised, keeping its PID and arguments", async () => {
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, `import { defineConfig } from "lmrelay";\nexport default defineConfig({ storage: { path: ":memory:" }, providers: { echo: { type: "echo", models: ["echo-1"] } } });\n`);
  const serve = await startServe(file);
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
  const file = path.join(dir, "lmrelay.config.ts");
  const serve = await startServe(file, [], { BUN_CONFIG_MAX_HTTP_REQUESTS: "1024" });
  try {
    expect(environOf(serve.proc.pid).BUN_CONFIG_MAX_HTTP_REQUESTS).toBe("1024");
  } finally {
    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
  }
});
