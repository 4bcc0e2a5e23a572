import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { readSse, type ServeProcess, startServe, streamText } from "./serve-process";

// SIGTERM through the real CLI: stop accepting, let in-flight streams finish, write every audit
// row, close the database, exit 0. Past the drain timeout streams are cut, and still audited.

let fake: OpenAIFake;
let root: string;
const TEXT = Array.from({ length: 20 }, (_, i) => `part${i}`).join(" ");

beforeAll(async () => {
  fake = await startOpenAIFake({ models: ["m"] });
  root = mkdtempSync(path.join(tmpdir(), "lmrelay-shutdown-"));
});

afterAll(async () => {
  await fake?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function setup(name: string): { file: string; db: string } {
  const dir = path.join(root, name);
  Bun.spawnSync(["mkdir", "-p", dir]);
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(
    file,
    `import { defineConfig } from "lmrelay";
export default defineConfig({
  storage: { path: "audit.db" },
  providers: { up: { type: "openai-compatible", baseUrl: "${fake.url}/v1", keys: ["sk-test"], models: ["m"] } },
});
`,
  );
  return { file, db: path.join(dir, "audit.db") };
}

function startStream(url: string, content: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "up/m", stream: true, messages: [{ role: "user", content }] }),
  });
}

function auditRows(dbFile: string): { request_id: string; status: number; stream: number; error: string | null }[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.query("select request_id, status, stream, error from requests order by id").all() as any;
  } finally {
    db.close();
  }
}

test("SIGTERM during in-flight streams and requests: they complete, new connections are refused, every audit row is written, exit 0", async () => {
  const { file, db } = setup("drain");
  fake.reply({ text: TEXT, chunkDelayMs: 80 });
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(file);
    const url = serve.url;
    // Requests that finished before the signal are in the audit too.
    const warm = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "warm-1" },
      body: JSON.stringify({ model: "up/m", messages: [{ role: "user", content: "warm" }] }),
    });
    expect(warm.status).toBe(200);
    await warm.text();

    // A non-stream request whose upstream takes 1.5 s to answer is in flight too.
    fake.fail({ kind: "delay", ms: 1_500 });
    const slowPlain = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "up/m", messages: [{ role: "user", content: "slow plain" }] }),
    });
    await Bun.sleep(200);

    const firstChunk: Promise<void>[] = [];
    const streams = Array.from({ length: 4 }, async (_, i) => {
      const res = await startStream(url, `stream ${i}`);
      expect(res.status).toBe(200);
      let started!: () => void;
      firstChunk[i] = new Promise<void>((r) => (started = r));
      return readSse(res, () => started());
    });
    while (firstChunk.filter(Boolean).length < 4) await Bun.sleep(10);
    await Promise.all(firstChunk);

    serve.kill("SIGTERM");
    await serve.waitForLog((l) => l.msg.startsWith("shutting down"));
    // No new connections while draining.
    let refused = false;
    try {
      await fetch(`${url}/healthz`);
    } catch {
      refused = true;
    }
    expect(refused).toBe(true);

    const plain = await slowPlain;
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as any).choices[0].message.content).toBe(TEXT);
    for (const events of await Promise.all(streams)) {
      expect(events.at(-1)).toBe("[DONE]");
      expect(streamText(events)).toBe(TEXT);
    }
    expect(await serve.exited()).toBe(0);
    const stopped = serve.logs.find((l) => l.msg === "stopped");
    expect(stopped?.auditRows).toBe(6);

    const rows = auditRows(db);
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(rows.filter((r) => r.stream === 1)).toHaveLength(4);
    expect(rows[0]!.request_id).toBe("warm-1");
  } finally {
    if (serve && serve.proc.exitCode === null) serve.proc.kill("SIGKILL");
  }
}, 60_000);

test("past --drain-timeout the remaining streams are cut, still audited, and the process exits 0", async () => {
  const { file, db } = setup("timeout");
  fake.reply({ text: TEXT, chunkDelayMs: 500 }); // 10 s: far beyond the drain timeout
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(file, ["--drain-timeout", "0.5"]);
    const res = await startStream(serve.url, "slow");
    expect(res.status).toBe(200);
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => (first = r));
    const reading = readSse(res, () => first()).catch((e: Error) => e);
    await gotFirst;
    const t0 = Date.now();
    serve.kill("SIGTERM");
    expect(await serve.exited()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const outcome = await reading;
    // The client sees the stream end early (cut or closed without [DONE]).
    if (Array.isArray(outcome)) expect(outcome.at(-1)).not.toBe("[DONE]");
    const rows = auditRows(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).not.toBe(200);
  } finally {
    if (serve && serve.proc.exitCode === null) serve.proc.kill("SIGKILL");
  }
}, 60_000);

test("a second SIGINT exits at once without waiting for the drain", async () => {
  const { file } = setup("second");
  fake.reply({ text: TEXT, chunkDelayMs: 500 });
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(file);
    const res = await startStream(serve.url, "slow");
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => (first = r));
    void readSse(res, () => first()).catch(() => {});
    await gotFirst;
    const t0 = Date.now();
    serve.kill("SIGINT");
    await serve.waitForLog((l) => l.msg.startsWith("shutting down"));
    serve.kill("SIGINT");
    expect(await serve.exited()).toBe(130);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(serve.logs.some((l) => l.msg.startsWith("second signal"))).toBe(true);
  } finally {
    if (serve && serve.proc.exitCode === null) serve.proc.kill("SIGKILL");
  }
}, 60_000);
