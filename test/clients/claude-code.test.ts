import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_KEY, type ClientsRig, conversationHas, inferenceRequests, MODELS, scriptReplies, startClientsRig } from "./rig";

// Claude Code, headless (`claude -p … --output-format json`), pointed at lmrelay with
// ANTHROPIC_BASE_URL. Its requests are the hardest an Anthropic client sends: `?beta=true`, a long
// `anthropic-beta` list, a dozen tools, `cache_control` markers, adaptive thinking, effort and
// context-management fields. It must get a clean answer and exit 0, whichever upstream answers.

const ROOT = join(import.meta.dir, "../..");

/** The native binary. Bun skips the package's postinstall (untrusted lifecycle script), which would
 *  copy it over `bin/claude.exe`, so look in the per-platform package it comes from as well. */
function claudeBinary(): string | undefined {
  const scope = join(ROOT, "node_modules/@anthropic-ai");
  const exe = process.platform === "win32" ? "claude.exe" : "claude";
  const candidates = [
    join(scope, "claude-code/bin/claude.exe"),
    join(scope, `claude-code-${process.platform}-${process.arch}`, exe),
    join(scope, `claude-code-${process.platform}-${process.arch}-musl`, exe),
  ];
  // The wrapper's placeholder is a small shell script that only prints install instructions.
  return candidates.find((p) => existsSync(p) && statSync(p).size > 1_000_000);
}

const CLAUDE = claudeBinary();
if (!CLAUDE) console.warn("\n!!! test/clients/claude-code.test.ts: @anthropic-ai/claude-code is not installed here; Claude Code tests SKIPPED !!!\n");

const RUN_TIMEOUT_MS = 60_000;
const NOTE = "the secret word is pineapple";

let rig: ClientsRig;
let home: string;

beforeAll(async () => {
  rig = await startClientsRig();
  home = mkdtempSync(join(tmpdir(), "lmrelay-claude-code-"));
  writeFileSync(join(home, "note.txt"), `${NOTE}\n`);
});
afterAll(async () => {
  await rig?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});
beforeEach(() => rig.reset());

interface ClaudeResult {
  exitCode: number;
  /** The `--output-format json` result object. */
  out: {
    is_error: boolean;
    result?: string;
    subtype?: string;
    num_turns?: number;
    api_error_status?: number | null;
    usage?: { input_tokens: number; output_tokens: number };
  };
  stderr: string;
}

/** Runs `claude -p` with a clean environment: a temp HOME, no telemetry, updates or other traffic. */
async function claude(prompt: string, model: string, auth: Record<string, string> = { ANTHROPIC_API_KEY: CLIENT_KEY }): Promise<ClaudeResult> {
  const proc = Bun.spawn([CLAUDE!, "-p", prompt, "--output-format", "json", "--model", model], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      ANTHROPIC_BASE_URL: rig.url,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
      ...auth,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill(), RUN_TIMEOUT_MS);
  try {
    const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    let out: ClaudeResult["out"];
    try {
      out = JSON.parse(stdout);
    } catch {
      throw new Error(`claude exited ${exitCode} without a JSON result.\nstdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr.slice(0, 2000)}`);
    }
    return { exitCode, out, stderr };
  } finally {
    clearTimeout(killer);
  }
}

/** Claude Code reads note.txt with its Read tool, then answers from what it read. */
function readNoteConversation(fake: Parameters<typeof scriptReplies>[0]): void {
  scriptReplies(fake, (req) =>
    conversationHas(req, NOTE)
      ? { text: "The note says pineapple." }
      : { toolCalls: [{ id: "toolu_cc_read1", name: "Read", arguments: { file_path: join(home, "note.txt") } }] },
  );
}

const maybe = CLAUDE ? describe : describe.skip;

maybe("Claude Code headless through lmrelay", () => {
  test(
    "answers a prompt from the echo provider and exits 0",
    async () => {
      const run = await claude("hello from claude code", MODELS.echo);
      expect(run.exitCode).toBe(0);
      expect(run.out.is_error).toBe(false);
      expect(run.out.subtype).toBe("success");
      // Echo answers with the last user message: Claude Code's reminders, then the prompt.
      expect(run.out.result).toEndWith("hello from claude code");
      expect(run.out.usage?.input_tokens).toBeGreaterThan(0);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "Anthropic upstream: beta headers, cache_control and tools arrive intact; a Read tool round trip",
    async () => {
      readNoteConversation(rig.anthropic);
      // ANTHROPIC_AUTH_TOKEN: the key travels as a Bearer token instead of x-api-key.
      const run = await claude("what does note.txt say?", MODELS.anthropic, { ANTHROPIC_AUTH_TOKEN: CLIENT_KEY });
      expect(run.exitCode).toBe(0);
      expect(run.out).toMatchObject({ is_error: false, result: "The note says pineapple.", num_turns: 2 });
      const [first, second] = inferenceRequests(rig.anthropic);
      expect(first!.headers["anthropic-beta"]).toContain("claude-code-");
      // lmrelay's client key stays with lmrelay; the upstream sees its own key.
      expect(JSON.stringify(first!.headers)).not.toContain(CLIENT_KEY);
      expect(first!.headers["x-api-key"]).toBeTruthy();
      expect(first!.body.model).toBe("claude-test-1");
      expect(first!.body.tools.length).toBeGreaterThanOrEqual(5);
      expect(first!.body.tools.map((t: { name: string }) => t.name)).toContain("Read");
      expect(JSON.stringify(first!.body.system)).toContain("cache_control");
      expect(first!.body.stream).toBe(true);
      const last = second!.body.messages.at(-1);
      expect(last.content[0]).toMatchObject({ type: "tool_result", tool_use_id: "toolu_cc_read1" });
      expect(conversationHas(second!, NOTE)).toBe(true);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "OpenAI upstream: the whole request translated, the tool round trip too",
    async () => {
      readNoteConversation(rig.openai);
      const run = await claude("what does note.txt say?", MODELS.openai);
      expect(run.exitCode).toBe(0);
      expect(run.out).toMatchObject({ is_error: false, result: "The note says pineapple." });
      const [first, second] = inferenceRequests(rig.openai);
      expect(first!.body.messages[0].role).toBe("system");
      expect(first!.body.tools.length).toBeGreaterThanOrEqual(5);
      expect(first!.body.tools.every((t: { type: string }) => t.type === "function")).toBe(true);
      // Claude Code asks for more output than gpt-4o has (the fake refuses above 16,384) and for
      // thinking gpt-4o cannot do: both fitted, and named in the audit row.
      expect(first!.body.max_completion_tokens).toBeLessThanOrEqual(16_384);
      expect(first!.body.reasoning_effort).toBeUndefined();
      rig.gw.runtime.audit.flush();
      const adjusted = rig.gw.runtime.db.$client.query("SELECT adjusted FROM requests WHERE model = 'gpt-4o' ORDER BY id").all() as { adjusted: string | null }[];
      expect(adjusted.at(-1)?.adjusted).toMatch(/max_completion_tokens \d+->16384/);
      expect(second!.body.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "toolu_cc_read1" });
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "a reasoning OpenAI model (o4-mini): Claude Code's max_tokens, thinking and sampling fitted to it, the tool round trip works",
    async () => {
      readNoteConversation(rig.openai);
      const run = await claude("what does note.txt say?", MODELS.openaiReasoning);
      expect(run.exitCode).toBe(0);
      expect(run.out).toMatchObject({ is_error: false, result: "The note says pineapple." });
      const requests = inferenceRequests(rig.openai);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      // The fake refuses what o4-mini refuses (max_tokens, temperature, stop, efforts it lacks):
      // every request it answered fits the model.
      for (const r of requests) {
        expect(r.body.model).toBe("o4-mini");
        expect(r.body.max_tokens).toBeUndefined();
        expect(r.body.temperature === undefined || r.body.temperature === 1).toBe(true);
        if (r.body.reasoning_effort !== undefined) expect(["low", "medium", "high"]).toContain(r.body.reasoning_effort);
      }
      expect(requests.at(-1)!.body.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "toolu_cc_read1" });
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "Gemini upstream (gemini-2.5-flash): the request translated to generateContent, the tool round trip works",
    async () => {
      readNoteConversation(rig.gemini);
      const run = await claude("what does note.txt say?", MODELS.gemini);
      expect(run.exitCode).toBe(0);
      expect(run.out).toMatchObject({ is_error: false, result: "The note says pineapple." });
      const requests = inferenceRequests(rig.gemini);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      const first = requests[0]!;
      expect(first.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
      expect(first.body.tools[0].functionDeclarations.map((f: { name: string }) => f.name)).toContain("Read");
      // Within gemini-2.5-flash's limits (the fake refuses more).
      expect(first.body.generationConfig.maxOutputTokens).toBeLessThanOrEqual(65_536);
      const last = requests.at(-1)!.body.contents.at(-1);
      expect(JSON.stringify(last)).toContain("functionResponse");
      expect(conversationHas(requests.at(-1)!, NOTE)).toBe(true);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "Ollama upstream: thinking without signatures and id-less tool calls still make a clean session",
    async () => {
      readNoteConversation(rig.ollama);
      const run = await claude("what does note.txt say?", MODELS.ollama);
      expect(run.exitCode).toBe(0);
      expect(run.out).toMatchObject({ is_error: false, result: "The note says pineapple." });
      expect(conversationHas(inferenceRequests(rig.ollama).at(-1)!, NOTE)).toBe(true);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "a wrong key: a clean error and a non-zero exit, no hang",
    async () => {
      // Without `x-should-retry: false` Claude Code retries a 401 ten times with backoff and this
      // run would outlast RUN_TIMEOUT_MS.
      const run = await claude("hello", MODELS.echo, { ANTHROPIC_API_KEY: "not-a-client-key" });
      expect(run.exitCode).not.toBe(0);
      expect(run.out).toMatchObject({ is_error: true, api_error_status: 401 });
      expect(run.out.result).toContain("lmrelay: invalid API key");
    },
    RUN_TIMEOUT_MS * 2,
  );
});
