// Profile-guided bytecode layout for the release binary (`bun build --bytecode-order`): run a
// freshly built binary once with BUN_BYTECODE_ORDER_OUT set, through start-up, the benchmark's
// non-stream request and one stream per protocol pair, then SIGTERM. Bun writes which functions ran;
// the next build lays their bytecode out together at the front, so start-up touches fewer pages of
// the binary (measured: ≈ 1.5 MB less idle RSS, a few ms less start-up). The fake upstream and the
// config are the benchmark's (scripts/bench/), so the profile follows what the bench measures.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, startChild, stopChild } from "./bench/procs";
import { CHAT_BODY, CLIENT_KEY, streamCases, writeGatewayConfig } from "./bench/setup";

const TIMEOUT_MS = 20_000;

/** Records the order file for `binary` into `outFile`; returns why it could not, or undefined. */
export async function recordBytecodeOrder(binary: string, outFile: string): Promise<string | undefined> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lmrelay-order-"));
  const upstream = startChild("upstream", [process.execPath, path.join(import.meta.dir, "bench", "upstream.ts")], { lines: true });
  let gateway: ReturnType<typeof startChild> | undefined;
  try {
    rmSync(outFile, { force: true });
    const { port: upstreamPort } = await upstream.lines!.expect<{ port: number }>("", 10_000);
    const gatewayPort = freePort();
    const config = writeGatewayConfig(dir, gatewayPort, upstreamPort, 2);
    // The variable set: no re-exec, so the profiled process is the one that serves.
    gateway = startChild("lmrelay", [binary, "serve", "--config", config], {
      cwd: dir,
      env: { BUN_BYTECODE_ORDER_OUT: outFile, BUN_CONFIG_MAX_HTTP_REQUESTS: "65535", LMRELAY_LOG_FORMAT: "json" },
    });
    const url = `http://127.0.0.1:${gatewayPort}/v1/chat/completions`;
    const headers = { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` };
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      if (gateway.proc.exitCode !== null) return `lmrelay exited with ${gateway.proc.exitCode} before answering`;
      if (Date.now() > deadline) return "lmrelay did not answer in time";
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(CHAT_BODY) }).catch(() => undefined);
      if (res?.status === 200) {
        await res.text();
        break;
      }
      await Bun.sleep(5);
    }
    const streams = streamCases({ upstream: upstreamPort, bare: upstreamPort, gateway: gatewayPort }, 2).flatMap((c) => c.targets.filter((t) => t.target === "lmrelay"));
    await Promise.all(
      streams.map(async (t) => {
        const res = await fetch(`http://127.0.0.1:${t.port}${t.path}`, { method: "POST", headers: t.headers, body: t.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
        await res.text();
      }),
    );
    // Bun writes the order file as the process exits.
    gateway.proc.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([gateway.proc.exited, new Promise((resolve) => (timer = setTimeout(resolve, TIMEOUT_MS)))]);
    clearTimeout(timer);
    return existsSync(outFile) ? undefined : "the binary wrote no order file";
  } catch (e) {
    return (e as Error).message;
  } finally {
    await stopChild(gateway);
    await stopChild(upstream);
    rmSync(dir, { recursive: true, force: true });
  }
}
