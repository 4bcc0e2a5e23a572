import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LmrelayConfig } from "../../../src/config/define";

// lmrelay as its own process (`bun src/main.ts serve`), for what an in-process gateway cannot show:
// its memory (RSS from /proc), its open files, its behaviour at the file-descriptor limit, and
// storage faults on a real database file.

const MAIN = path.join(import.meta.dir, "../../../src/main.ts");

export interface ProcessGateway {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Everything the process logged so far (one JSON object per line). */
  logs: string[];
  /** Resident set size, in MiB. */
  rssMb(): number;
  /** Open file descriptors (sockets included). */
  openFds(): number;
  /** CPU time used so far (user + system), in ms. */
  cpuMs(): number;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function spawnGateway(
  config: LmrelayConfig,
  opts: { nofile?: number; env?: Record<string, string>; dir?: string; keepDir?: boolean } = {},
): Promise<ProcessGateway> {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "lmrelay-rel-"));
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, `export default ${JSON.stringify({ storage: { path: path.join(dir, "lmrelay.db") }, ...config }, null, 2)};\n`);
  const cmd = ["bun", MAIN, "serve", "--config", file, "--host", "127.0.0.1", "--port", "0"];
  const proc = Bun.spawn(opts.nofile ? ["prlimit", `--nofile=${opts.nofile}:${opts.nofile}`, ...cmd] : cmd, {
    cwd: dir,
    env: { ...process.env, LMRELAY_LOG_LEVEL: "info", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: string[] = [];
  const listening = Promise.withResolvers<string>();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(line);
        if (m) listening.resolve(m[1]!);
      }
    }
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  void proc.exited.then((code) => listening.reject(new Error(`lmrelay exited (${code}) before listening:\n${logs.join("\n")}`)));
  const timer = setTimeout(() => listening.reject(new Error(`lmrelay did not start within 15 s:\n${logs.join("\n")}`)), 15_000);
  let url: string;
  try {
    url = await listening.promise;
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // `prlimit` execs bun: the pid is the gateway's either way.
  const pid = proc.pid;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    dir,
    logs,
    rssMb: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) / 1024 : Number.NaN;
    },
    openFds: () => {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return Number.NaN;
      }
    },
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name; clock ticks of 10 ms.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await proc.exited;
      clearTimeout(killer);
      if (!opts.keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
