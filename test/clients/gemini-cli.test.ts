import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_KEY, type ClientsRig, conversationHas, inferenceRequests, MODELS, scriptReplies, startClientsRig } from "./rig";

// Gemini CLI, headless (`gemini -p … --output-format json`), pointed at lmrelay with
// GOOGLE_GEMINI_BASE_URL and the client key as GEMINI_API_KEY. Its requests: a long system
// instruction, a dozen tools declared with `parametersJsonSchema`, temperature 1 / topP 0.95 /
// topK 64 and a thinkingConfig on every call, streamed with `alt=sse`. It must finish a prompt and
// a read_file round trip and exit 0, whichever upstream answers.

const GEMINI = join(import.meta.dir, "../../node_modules/.bin/gemini");
const HAVE_GEMINI = existsSync(GEMINI);
if (!HAVE_GEMINI) console.warn("\n!!! test/clients/gemini-cli.test.ts: @google/gemini-cli is not installed here; Gemini CLI tests SKIPPED !!!\n");

const RUN_TIMEOUT_MS = 60_000;
const NOTE = "the secret word is pineapple";

let rig: ClientsRig;
let home: string;
let work: string;

/** Settings of an isolated home: no telemetry, no update checks, no IDE, API-key auth. */
const SETTINGS = {
  general: { disableAutoUpdate: true, disableUpdateNag: true, enableAutoUpdate: false, enableAutoUpdateNotification: false },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
  ide: { enabled: false },
  security: { auth: { selectedType: "gemini-api-key" } },
};

beforeAll(async () => {
  rig = await startClientsRig();
  home = mkdtempSync(join(tmpdir(), "lmrelay-gemini-cli-"));
  mkdirSync(join(home, ".gemini"));
  writeFileSync(join(home, ".gemini/settings.json"), JSON.stringify(SETTINGS));
  work = join(home, "work");
  mkdirSync(work);
  writeFileSync(join(work, "note.txt"), `${NOTE}\n`);
});
afterAll(async () => {
  await rig?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});
beforeEach(() => rig.reset());

interface GeminiResult {
  exitCode: number;
  /** The `--output-format json` result object. */
  out: { response?: string; error?: { message: string }; stats?: { tools?: { totalCalls: number; totalSuccess: number } } };
  stderr: string;
}

async function gemini(prompt: string, model: string, key = CLIENT_KEY): Promise<GeminiResult> {
  const proc = Bun.spawn([GEMINI, "-p", prompt, "-m", model, "--output-format", "json"], {
    cwd: work,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      GOOGLE_GEMINI_BASE_URL: rig.url,
      GEMINI_API_KEY: key,
      // Headless runs need the workspace trusted (it is a temp dir the test made).
      GEMINI_CLI_TRUST_WORKSPACE: "true",
      NO_COLOR: "1",
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill(), RUN_TIMEOUT_MS);
  try {
    const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    // Errors come out as a JSON object on stderr, after the stack trace.
    const text = stdout.trim() || stderr.slice(stderr.lastIndexOf("\n{") + 1);
    let out: GeminiResult["out"];
    try {
      out = JSON.parse(text);
    } catch {
      throw new Error(`gemini exited ${exitCode} without a JSON result.\nstdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr.slice(0, 2000)}`);
    }
    return { exitCode, out, stderr };
  } finally {
    clearTimeout(killer);
  }
}

/** Gemini CLI reads note.txt with its read_file tool, then answers from what it read. */
function readNoteConversation(fake: Parameters<typeof scriptReplies>[0], id: string): void {
  scriptReplies(fake, (req) =>
    conversationHas(req, NOTE) ? { text: "The note says pineapple." } : { toolCalls: [{ id, name: "read_file", arguments: { file_path: join(work, "note.txt") } }] },
  );
}

const maybe = HAVE_GEMINI ? describe : describe.skip;

maybe("Gemini CLI headless through lmrelay", () => {
  test(
    "answers a prompt from the echo provider and exits 0",
    async () => {
      const run = await gemini("hello from gemini cli", MODELS.echo);
      expect(run.exitCode).toBe(0);
      expect(run.out.response).toContain("hello from gemini cli");
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "OpenAI upstream: tools translated, a read_file round trip",
    async () => {
      readNoteConversation(rig.openai, "call_gc_read1");
      const run = await gemini("what does note.txt say?", MODELS.openai);
      expect(run.exitCode).toBe(0);
      expect(run.out.response).toBe("The note says pineapple.");
      expect(run.out.stats?.tools).toMatchObject({ totalCalls: 1, totalSuccess: 1 });
      const [first, second] = inferenceRequests(rig.openai);
      expect(first!.body.messages[0].role).toBe("system");
      expect(first!.body.stream).toBe(true);
      expect(first!.body.temperature).toBe(1);
      expect(first!.body.top_p).toBe(0.95);
      const names = first!.body.tools.map((t: { function: { name: string } }) => t.function.name);
      expect(names).toContain("read_file");
      // lmrelay's client key stays with lmrelay.
      expect(JSON.stringify(first!.headers)).not.toContain(CLIENT_KEY);
      expect(second!.body.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_gc_read1" });
      expect(conversationHas(second!, NOTE)).toBe(true);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "Anthropic upstream: thinking budget and sampling made acceptable, a read_file round trip",
    async () => {
      readNoteConversation(rig.anthropic, "toolu_gc_read1");
      const run = await gemini("what does note.txt say?", MODELS.anthropic);
      expect(run.exitCode).toBe(0);
      expect(run.out.response).toBe("The note says pineapple.");
      const [first, second] = inferenceRequests(rig.anthropic);
      expect(first!.body.tools.map((t: { name: string }) => t.name)).toContain("read_file");
      expect(first!.body.system).toBeDefined();
      const results = second!.body.messages.at(-1).content.filter((b: { type: string }) => b.type === "tool_result");
      expect(results[0]).toMatchObject({ type: "tool_result", tool_use_id: "toolu_gc_read1" });
      expect(conversationHas(second!, NOTE)).toBe(true);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "Gemini upstream: the call's thought signature goes back with the history",
    async () => {
      readNoteConversation(rig.gemini, "fc_gc_read1");
      const run = await gemini("what does note.txt say?", MODELS.gemini3);
      expect(run.exitCode).toBe(0);
      expect(run.out.response).toBe("The note says pineapple.");
      const second = inferenceRequests(rig.gemini).at(-1)!;
      const call = second.body.contents.flatMap((c: { parts: object[] }) => c.parts).find((p: { functionCall?: unknown }) => p.functionCall);
      expect(call.thoughtSignature).toBeTruthy();
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "Ollama upstream: a read_file round trip",
    async () => {
      readNoteConversation(rig.ollama, "ignored");
      const run = await gemini("what does note.txt say?", MODELS.ollama);
      expect(run.exitCode).toBe(0);
      expect(run.out.response).toBe("The note says pineapple.");
      expect(conversationHas(inferenceRequests(rig.ollama).at(-1)!, NOTE)).toBe(true);
    },
    RUN_TIMEOUT_MS * 2,
  );

  test(
    "a wrong key: a clean error and a non-zero exit, no hang",
    async () => {
      const run = await gemini("hello", MODELS.echo, "not-a-client-key");
      expect(run.exitCode).not.toBe(0);
      expect(JSON.stringify(run.out)).toContain("lmrelay: invalid API key");
    },
    RUN_TIMEOUT_MS * 2,
  );
});
