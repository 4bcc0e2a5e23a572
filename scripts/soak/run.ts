import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FAKE_ANTHROPIC_KEY, startAnthropicFake } from "../../test/fakes/anthropic";
import type { FakeUpstream } from "../../test/fakes/common";
import { startHostileUpstream } from "../../test/fakes/hostile";
import { startOllamaFake } from "../../test/fakes/ollama";
import { startOpenAIFake } from "../../test/fakes/openai";

// The soak: lmrelay (scripts/soak/gateway.ts, its own process) under mixed traffic for a set time —
// all three client protocols, streams and not, embeddings, model lists, clients that leave
// mid-stream, failing upstreams in front of healthy ones, a config reload every `reloadMs` — with
// the gateway's RSS, heap, descriptors and event-loop lag sampled throughout. Used by
// `scripts/soak.ts` (long runs) and `test/reliability/soak.test.ts` (a short CI run).

export interface SoakOptions {
  durationMs: number;
  reloadMs: number;
  sampleMs: number;
  concurrency: number;
  /** Print each sample as it comes. */
  progress?: (line: string) => void;
}

export interface Sample {
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  fds: number;
  lagMs: number;
  inFlight: number;
  auditDepth: number;
  auditWritten: number;
  auditDropped: number;
  reloads: number;
  reloadErrors: number;
  /** Requests finished since the start (filled in by the runner). */
  done?: number;
}

export interface SoakResult {
  samples: Sample[];
  requests: number;
  /** Requests that ended other than as planned (a planned client abort is not one). */
  failures: { count: number; examples: string[] };
  byScenario: Record<string, number>;
  aborted: number;
  auditRows: number;
  /** Requests that must have an audit row (chat and embeddings, aborted ones included). */
  audited: number;
  /** MiB per minute, least squares over the samples after warm-up. */
  rssSlopeMbPerMin: number;
  heapSlopeMbPerMin: number;
  lagMaxMs: number;
  fdsAtStart: number;
  fdsAtEnd: number;
  inFlightAtEnd: number;
  exitCode: number;
}

const MESSAGES = [{ role: "user", content: "Tell me something short about the sea." }];

/** Config variants the reloads alternate between: the aliases' order changes, nothing else. */
function configText(ports: Record<string, string>, variant: number, storage: string): string {
  const smart = variant % 2 ? ["oa/gpt-4o-mini", "claude/claude-haiku-4-5"] : ["claude/claude-haiku-4-5", "oa/gpt-4o-mini"];
  return `export default ${JSON.stringify(
    {
      storage: { path: storage },
      providers: {
        oa: { type: "openai", baseUrl: `${ports.openai}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini", "text-embedding-3-small"] },
        claude: { type: "anthropic", baseUrl: ports.anthropic, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] },
        local: { type: "ollama", baseUrl: ports.ollama, models: ["llama3.2"] },
        bad: { type: "openai", baseUrl: `${ports.hostile}/v1`, keys: ["sk-bad"], models: ["reset-headers", "bad-framing", "close-at-40", "wrong-type"] },
        // Nothing listens on port 1: every attempt is a refused connection.
        down: { type: "openai", baseUrl: "http://127.0.0.1:1/v1", keys: ["sk-down"], models: ["gpt-x"] },
        echo: { type: "echo" },
      },
      models: {
        smart,
        flaky: ["bad/reset-headers", "down/gpt-x", "oa/gpt-4o-mini"],
        flaky2: ["bad/bad-framing", "bad/close-at-40", "local/llama3.2"],
        flaky3: ["bad/wrong-type", "claude/claude-haiku-4-5"],
        fast: ["local/llama3.2", "echo/echo-1"],
      },
      routing: { timeoutMs: 20_000, maxAttempts: 4 },
      // Failing upstreams come back quickly, so they keep being tried (and failing) all along.
      health: { failureThreshold: 3, cooldownMs: 1_000, probeIntervalMs: 5_000 },
      // A soak reload is a new config generation: a bump keeps the file truly changed.
      server: { maxBodyBytes: 1_000_000 + variant },
    },
    null,
    2,
  )};\n`;
}

interface Scenario {
  name: string;
  weight: number;
  audited: boolean;
  /** Sends the request; resolves "ok", "aborted" (planned) or a failure description. */
  run(url: string): Promise<string>;
}

async function readAll(res: Response, abortAfterFirst?: AbortController): Promise<string> {
  const reader = res.body!.getReader();
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const r = await reader.read();
    if (r.done) return text;
    text += decoder.decode(r.value, { stream: true });
    if (abortAfterFirst) {
      abortAfterFirst.abort();
      await reader.cancel().catch(() => {});
      return text;
    }
  }
}

function chatScenario(name: string, weight: number, path: string, body: (stream: boolean) => unknown, complete: (text: string, stream: boolean) => boolean, headers: Record<string, string> = {}): Scenario[] {
  const make = (stream: boolean, leave: boolean): Scenario => ({
    name: `${name}${stream ? " stream" : ""}${leave ? " (client leaves)" : ""}`,
    weight: leave ? weight / 10 : weight,
    audited: true,
    async run(url) {
      const ctl = new AbortController();
      const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body(stream)), signal: ctl.signal });
      if (res.status !== 200) return `${name}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
      const text = await readAll(res, leave ? ctl : undefined);
      if (leave) return "aborted";
      return complete(text, stream) ? "ok" : `${name}: incomplete answer …${JSON.stringify(text.slice(-160))}`;
    },
  });
  return [make(false, false), make(true, false), make(true, true)];
}

const openaiDone = (text: string, stream: boolean) => (stream ? text.endsWith("data: [DONE]\n\n") && !text.includes('data: {"error"') : text.includes('"chat.completion"'));
const anthropicDone = (text: string, stream: boolean) => (stream ? text.includes("event: message_stop") && !text.includes("event: error") : text.includes('"type":"message"'));
const ollamaDone = (text: string) => /"done":true/.test(text) && !text.includes('"error"');

function scenarios(): Scenario[] {
  const list: Scenario[] = [];
  for (const model of ["smart", "flaky", "fast"])
    list.push(...chatScenario(`openai ${model}`, 3, "/v1/chat/completions", (stream) => ({ model, stream, messages: MESSAGES, stream_options: stream ? { include_usage: true } : undefined }), openaiDone));
  for (const model of ["smart", "flaky3"])
    list.push(...chatScenario(`anthropic ${model}`, 2, "/v1/messages", (stream) => ({ model, stream, max_tokens: 200, messages: MESSAGES }), anthropicDone, { "anthropic-version": "2023-06-01" }));
  for (const model of ["fast", "flaky2"]) list.push(...chatScenario(`ollama ${model}`, 2, "/api/chat", (stream) => ({ model, stream, messages: MESSAGES }), ollamaDone));
  list.push({
    name: "openai embeddings",
    weight: 1,
    audited: true,
    async run(url) {
      const res = await fetch(`${url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "oa/text-embedding-3-small", input: ["a", "b"] }) });
      const text = await res.text();
      return res.status === 200 && text.includes('"embedding"') ? "ok" : `embeddings: HTTP ${res.status} ${text.slice(0, 200)}`;
    },
  });
  list.push({
    name: "model lists",
    weight: 0.5,
    audited: false,
    async run(url) {
      for (const [p, h] of [["/v1/models", {}], ["/api/tags", {}], ["/v1/models", { "anthropic-version": "2023-06-01" }]] as const) {
        const res = await fetch(`${url}${p}`, { headers: h });
        await res.text();
        if (res.status !== 200) return `models ${p}: HTTP ${res.status}`;
      }
      return "ok";
    },
  });
  return list;
}

function pick(list: Scenario[], total: number): Scenario {
  let r = Math.random() * total;
  for (const s of list) if ((r -= s.weight) <= 0) return s;
  return list[list.length - 1]!;
}

/** Least-squares slope of y over t (ms), in units per minute. */
export function slopePerMinute(points: { t: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const say = opts.progress ?? (() => {});
  const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-soak-"));
  const openai = await startOpenAIFake({ models: ["gpt-4o-mini", "text-embedding-3-small"] });
  const anthropic = await startAnthropicFake({ keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] });
  const ollama = await startOllamaFake();
  const hostile = await startHostileUpstream();
  const fakes: FakeUpstream[] = [openai, anthropic, ollama];
  for (const f of fakes) f.reply({ text: "The sea covers most of the planet and holds most of its water.", chunkDelayMs: 2 });
  const ports = { openai: openai.url, anthropic: anthropic.url, ollama: ollama.url, hostile: hostile.url };
  const file = path.join(dir, "lmrelay.config.ts");
  const storage = path.join(dir, "lmrelay.db");
  let variant = 0;
  writeFileSync(file, configText(ports, variant, storage));

  const child = Bun.spawn(["bun", path.join(import.meta.dir, "gateway.ts"), file, String(opts.sampleMs)], { stdout: "pipe", stderr: "pipe" });
  const samples: Sample[] = [];
  const stderrLines: string[] = [];
  const listening = Promise.withResolvers<string>();
  let done = 0;
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of child.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (line.listening) listening.resolve(line.listening);
        else {
          samples.push({ ...line, done });
          say(formatSample(line, samples.length > 1 ? samples[samples.length - 2]! : undefined, done));
        }
      }
    }
  })();
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) stderrLines.push(...decoder.decode(chunk).split("\n").filter(Boolean));
  })();
  void child.exited.then((code) => listening.reject(new Error(`the soak gateway exited (${code}):\n${stderrLines.join("\n")}`)));
  const url = await listening.promise;
  say(`soak: gateway ${url} (pid ${child.pid}), ${opts.concurrency} clients for ${Math.round(opts.durationMs / 1000)} s, reload every ${Math.round(opts.reloadMs / 1000)} s\n`);
  say(`${"time".padStart(6)} ${"req/s".padStart(7)} ${"rss MB".padStart(7)} ${"heap MB".padStart(8)} ${"fds".padStart(5)} ${"lag ms".padStart(7)} ${"open".padStart(5)} ${"audit q".padStart(8)}\n`);

  const list = scenarios();
  const total = list.reduce((s, x) => s + x.weight, 0);
  const byScenario: Record<string, number> = {};
  const failures: string[] = [];
  let failureCount = 0;
  let aborted = 0;
  let audited = 0;
  const started = Date.now();
  const stopAt = started + opts.durationMs;
  const reloadTimer = setInterval(() => {
    writeFileSync(file, configText(ports, ++variant, storage));
    child.kill("SIGHUP");
  }, opts.reloadMs);
  // The fakes remember every request; a long soak must not measure their memory instead.
  const trimTimer = setInterval(() => {
    for (const f of [...fakes]) f.requests.length = 0;
    hostile.requests.length = 0;
  }, 5_000);

  const worker = async () => {
    while (Date.now() < stopAt) {
      const s = pick(list, total);
      let outcome: string;
      try {
        outcome = await s.run(url);
      } catch (e) {
        outcome = `${s.name}: ${(e as Error).message}`;
      }
      done++;
      if (s.audited) audited++;
      byScenario[s.name] = (byScenario[s.name] ?? 0) + 1;
      if (outcome === "aborted") aborted++;
      else if (outcome !== "ok") {
        failureCount++;
        if (failures.length < 10) failures.push(outcome);
      }
      await Bun.sleep(Math.random() * 10);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  clearInterval(reloadTimer);
  clearInterval(trimTimer);

  // Quiet period: streams the clients left must be over, their sockets closed.
  await Bun.sleep(Math.max(2 * opts.sampleMs, 2_000));
  const last = samples.at(-1)!;
  child.kill("SIGTERM");
  const exitCode = await child.exited;
  await Promise.all([openai.stop(), anthropic.stop(), ollama.stop(), hostile.stop()]);

  let auditRows = -1;
  try {
    const db = new Database(storage, { readonly: true });
    auditRows = (db.query("SELECT count(*) AS n FROM requests").get() as { n: number }).n;
    db.close();
  } catch {}
  rmSync(dir, { recursive: true, force: true });

  // Warm-up (JIT, pools, first reload) is not growth: fit the slope on the later samples.
  const steady = samples.filter((s) => s.t >= started + opts.durationMs * (opts.durationMs >= 120_000 ? 0.25 : 0.4) && s.t <= stopAt);
  return {
    samples,
    requests: done,
    failures: { count: failureCount, examples: failures },
    byScenario,
    aborted,
    auditRows,
    audited,
    rssSlopeMbPerMin: slopePerMinute(steady.map((s) => ({ t: s.t, y: s.rssMb }))),
    heapSlopeMbPerMin: slopePerMinute(steady.map((s) => ({ t: s.t, y: s.heapUsedMb }))),
    lagMaxMs: Math.max(0, ...samples.filter((s) => s.t <= stopAt).map((s) => s.lagMs)),
    fdsAtStart: samples[0]?.fds ?? -1,
    fdsAtEnd: last.fds,
    inFlightAtEnd: last.inFlight,
    exitCode,
  };
}

function formatSample(s: Sample, prev: Sample | undefined, done: number): string {
  const seconds = prev ? (s.t - prev.t) / 1000 : 1;
  const rate = prev?.done !== undefined ? (done - prev.done) / seconds : 0;
  return `${[
    new Date(s.t).toISOString().slice(14, 19).padStart(6),
    rate.toFixed(0).padStart(7),
    s.rssMb.toFixed(1).padStart(7),
    s.heapUsedMb.toFixed(1).padStart(8),
    String(s.fds).padStart(5),
    s.lagMs.toFixed(0).padStart(7),
    String(s.inFlight).padStart(5),
    String(s.auditDepth).padStart(8),
  ].join(" ")}\n`;
}
