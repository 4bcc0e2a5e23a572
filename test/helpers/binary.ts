import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// The compiled binary for tests that run it alone in an empty folder (no node_modules): built once
// per test process, copied into a fresh temp folder per caller.

const root = path.resolve(import.meta.dir, "../..");
let built = false;

export function binaryInEmptyDir(prefix: string): { dir: string; binary: string } {
  if (!built) {
    const build = Bun.spawnSync(["bun", "run", "build"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
    built = true;
  }
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const binary = path.join(dir, "lmrelay");
  copyFileSync(path.join(root, "dist/lmrelay"), binary);
  Bun.spawnSync(["chmod", "+x", binary]);
  return { dir, binary };
}

/** Reads a starting `lmrelay serve`'s stdout until it says where it listens (15 s at most). */
export async function listeningUrl(stdout: ReadableStream<Uint8Array>): Promise<{ url: string | undefined; out: string }> {
  const reader = stdout.getReader();
  let out = "";
  let url: string | undefined;
  const until = Date.now() + 15_000;
  while (!url && Date.now() < until) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
    url = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
  }
  reader.releaseLock();
  return { url, out };
}
