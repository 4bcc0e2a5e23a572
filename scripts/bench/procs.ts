// Process plumbing for the benchmark: spawning pinned children, reading their CPU time and memory
// from /proc, waiting for ports, installing wrk, raising the open-files limit.

import { existsSync, readFileSync } from "node:fs";

export const CORE_GATEWAY = "0";
export const CORE_LOAD = "1";

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux we target). */
const TICK_US = 1_000_000 / (Number(Bun.which("getconf") ? Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim() : "") || 100);

export interface Child {
  name: string;
  proc: Bun.Subprocess<"pipe" | "ignore", "pipe" | number, "pipe" | number>;
  pid: number;
  /** stdout lines (only for children spawned with `lines: true`). */
  lines?: LineReader;
}

/** Open-files limit for every child started from now on (see `raiseOpenFiles`). */
let childNoFile: number | undefined;

/** Command prefix that pins a process to `cores` (taskset and prlimit exec, so the pid stays the
 *  command's), with the raised open-files limit when one was asked for. */
export function pinned(cores: string, cmd: string[]): string[] {
  const limited = childNoFile ? ["prlimit", `--nofile=${childNoFile}:${childNoFile}`, "--", ...cmd] : cmd;
  return hasCommand("taskset") ? ["taskset", "-c", cores, ...limited] : limited;
}

export function hasCommand(name: string): boolean {
  return Bun.which(name) !== null;
}

export class LineReader {
  private buffer = "";
  private queue: string[] = [];
  private waiters: ((line: string | undefined) => void)[] = [];
  private ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.pump(stream);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      this.buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) !== -1) {
        this.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
    }
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private push(line: string): void {
    const w = this.waiters.shift();
    if (w) w(line);
    else this.queue.push(line);
  }

  /** The next line, or undefined when the stream ended or `timeoutMs` passed. */
  next(timeoutMs: number): Promise<string | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i !== -1) this.waiters.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      const done = (line: string | undefined) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(done);
    });
  }

  /** The next line starting with `prefix` (others are skipped), parsed as JSON after the prefix. */
  async expect<T>(prefix: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = await this.next(Math.max(1, deadline - Date.now()));
      if (line === undefined) throw new Error(`no "${prefix}" line within ${timeoutMs} ms`);
      if (line.startsWith(prefix)) return JSON.parse(line.slice(prefix.length)) as T;
    }
  }
}

/** Starts a long-running child. With `lines`, its stdout is readable line by line. */
export function startChild(name: string, cmd: string[], opts: { env?: Record<string, string>; stdout?: string; lines?: boolean; stdin?: boolean; cwd?: string }): Child {
  const out = opts.lines ? "pipe" : opts.stdout ? Bun.file(opts.stdout) : "ignore";
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdin: opts.stdin ? "pipe" : "ignore",
    stdout: out as "pipe",
    stderr: opts.stdout ? Bun.file(`${opts.stdout}.err`) : "inherit",
  }) as unknown as Child["proc"];
  const child: Child = { name, proc, pid: proc.pid };
  if (opts.lines) child.lines = new LineReader(proc.stdout as ReadableStream<Uint8Array>);
  return child;
}

export async function stopChild(child: Child | undefined, graceMs = 3_000): Promise<void> {
  if (!child || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill("SIGTERM");
  const exited = await Promise.race([child.proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (!exited) {
    child.proc.kill("SIGKILL");
    await child.proc.exited;
  }
}

/** User + system CPU time of a process (all its threads), µs. */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at state; utime/stime are 14/15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** Resident set size now and its peak (VmHWM), MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** A port nobody listens on right now (bind to 0, read it, let go). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** Polls `url` until it answers (any status) or `timeoutMs` passes; returns ms waited. */
export async function waitForHttp(url: string, timeoutMs: number, everyMs = 2): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(500) });
      return performance.now() - t0;
    } catch {
      await Bun.sleep(everyMs);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Makes sure `wrk` is installed: Debian's package, installed with apt-get when missing. */
export function ensureWrk(log: (s: string) => void): void {
  if (hasCommand("wrk")) return;
  if (!hasCommand("apt-get")) throw new Error("wrk is not installed and there is no apt-get to install it; install wrk and re-run");
  log("installing wrk (apt-get install -y wrk)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const asRoot = process.getuid?.() === 0 ? [] : hasCommand("sudo") ? ["sudo", "-n"] : [];
  let r = Bun.spawnSync([...asRoot, "apt-get", "install", "-y", "-qq", "wrk"], { env, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) {
    // A fresh machine has no package lists yet.
    Bun.spawnSync([...asRoot, "apt-get", "update", "-qq"], { env, stdout: "ignore", stderr: "ignore" });
    r = Bun.spawnSync([...asRoot, "apt-get", "install", "-y", "-qq", "wrk"], { env, stdout: "ignore", stderr: "pipe" });
  }
  if (r.exitCode !== 0 || !hasCommand("wrk")) throw new Error(`could not install wrk: ${r.stderr.toString().trim().slice(-500)}`);
}

/** Raises the open-files limit of the children started from now on; returns the limit they get.
 *  (Bun hands its children the limit it started with, so raising our own would not reach them:
 *  each child is started through `prlimit` instead. Raising the hard limit needs root.) */
export function raiseOpenFiles(wanted: number): number {
  const current = Number(Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim()) || 0;
  if (current >= wanted || !hasCommand("prlimit")) return current;
  const probe = Bun.spawnSync(["prlimit", `--nofile=${wanted}:${wanted}`, "--", "sh", "-c", "ulimit -n"], { stderr: "ignore" });
  if (probe.exitCode !== 0) return current;
  childNoFile = wanted;
  return Number(probe.stdout.toString().trim()) || current;
}

export function cpuModel(): string {
  if (!existsSync("/proc/cpuinfo")) return "unknown";
  return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
}

export function loadAverage(): number[] {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}
