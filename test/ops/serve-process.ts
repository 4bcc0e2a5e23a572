import path from "node:path";
import type { Subprocess } from "bun";

// Runs the real CLI (`bun src/main.ts serve ...`) as a subprocess and follows its JSON log lines,
// for the reload and shutdown tests.

const root = path.resolve(import.meta.dir, "../..");

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface ServeProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  logs: LogLine[];
  /** Raw stdout and stderr so far (for failure messages). */
  output(): string;
  /** Waits for a log line matching `match`, seen after index `from` (default: any). */
  waitForLog(match: (l: LogLine) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
  /** Resolves with the exit code (kills the process after `timeoutMs`, then throws). */
  exited(timeoutMs?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startServe(configFile: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const proc = Bun.spawn([process.execPath, path.join(root, "src/main.ts"), "serve", "--config", configFile, "--port", "0", ...extraArgs], {
    cwd: path.dirname(configFile),
    env: { PATH: process.env.PATH!, LMRELAY_LOG_FORMAT: "json", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: LogLine[] = [];
  let raw = "";
  let errText = "";
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
  };
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      raw += text;
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          logs.push(JSON.parse(line));
        } catch {
          logs.push({ level: "raw", msg: line });
        }
      }
      notify();
    }
    notify();
  })();
  void (async () => {
    for await (const chunk of proc.stderr) errText += new TextDecoder().decode(chunk);
  })();

  const output = () => `--- stdout\n${raw}\n--- stderr\n${errText}`;
  const waitForLog: ServeProcess["waitForLog"] = (match, opts = {}) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.slice(opts.from ?? 0).find(match);
        if (found) {
          cleanup();
          resolve(found);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          reject(new Error(`lmrelay exited before the expected log line\n${output()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a log line\n${output()}`));
      }, opts.timeoutMs ?? 15_000);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      void proc.exited.then(() => setTimeout(check, 50));
      check();
    });

  const started = await waitForLog((l) => typeof l.msg === "string" && l.msg.includes("listening on"), { timeoutMs: 20_000 });
  const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(started.msg)![1]!;
  return {
    proc,
    url,
    logs,
    output,
    waitForLog,
    kill: (signal = "SIGTERM") => proc.kill(signal),
    async exited(timeoutMs = 20_000) {
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      if (proc.signalCode === "SIGKILL") throw new Error(`lmrelay did not exit within ${timeoutMs} ms\n${output()}`);
      return code;
    },
  };
}

/** Reads an SSE body to the end, returning the text of every `data:` line. */
export async function readSse(res: Response, onEvent?: (data: string, index: number) => void): Promise<string[]> {
  const out: string[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) !== -1) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of frame.split("\n"))
        if (line.startsWith("data: ")) {
          out.push(line.slice(6));
          onEvent?.(line.slice(6), out.length - 1);
        }
    }
  }
  return out;
}

/** The assistant text of an OpenAI chat stream's `data:` payloads. */
export function streamText(events: string[]): string {
  let text = "";
  for (const e of events) {
    if (e === "[DONE]") continue;
    const o = JSON.parse(e);
    text += o.choices?.[0]?.delta?.content ?? "";
  }
  return text;
}
