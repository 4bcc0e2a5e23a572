import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scriptReplies } from "./rig";
import { answerRequests, CODEX_MODEL, PROVIDER_OF, RESPONSES_KEY, type ResponsesRig, startResponsesRig, TEST_UPSTREAM_HEADER, UPSTREAMS, type UpstreamName } from "./responses-rig";

// Codex CLI (`@openai/codex`), headless (`codex exec`), with an isolated CODEX_HOME whose config.toml
// points a model provider at lmrelay (`wire_api = "responses"`). Its requests are Codex's defaults:
// `store: false`, a long `instructions`, developer messages, function tools, a `namespace` tool,
// `web_search`, the freeform `apply_patch` custom tool, reasoning with encrypted content. Scripted
// through each fake upstream, it runs a shell command, applies a patch and finishes the task.

const ROOT = join(import.meta.dir, "../..");
const CODEX = join(ROOT, "node_modules/.bin/codex");
const HAVE_CODEX = existsSync(CODEX);
if (!HAVE_CODEX) console.warn("\n!!! test/clients/codex.test.ts: @openai/codex is not installed here; Codex tests SKIPPED !!!\n");

const RUN_TIMEOUT_MS = 60_000;
const MARKER = "marker-input-4242";
const PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello from lmrelay\n*** End Patch\n";
const DONE = "All done: hello.txt is written.";

let rig: ResponsesRig;
let root: string;

beforeAll(async () => {
  rig = await startResponsesRig();
  root = mkdtempSync(join(tmpdir(), "lmrelay-codex-"));
});

/** An isolated CODEX_HOME whose config.toml points Codex at lmrelay; the test header picks the upstream. */
function codexHome(name: UpstreamName): string {
  const home = join(root, `home-${name}`);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, "config.toml"),
    [
      `model = "${CODEX_MODEL}"`,
      'model_provider = "lmrelay"',
      'approval_policy = "never"',
      'sandbox_mode = "danger-full-access"',
      "[model_providers.lmrelay]",
      'name = "lmrelay"',
      `base_url = "${rig.url}/v1"`,
      'env_key = "LMRELAY_API_KEY"',
      'wire_api = "responses"',
      "request_max_retries = 0",
      "stream_max_retries = 0",
      `http_headers = { "${TEST_UPSTREAM_HEADER}" = "${PROVIDER_OF[name]}" }`,
      "",
    ].join("\n"),
  );
  return home;
}
afterAll(async () => {
  await rig?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});
beforeEach(() => rig.reset());

/** Script: run a shell command; once its output is back, apply a patch; once that succeeded, finish. */
function codexTask(fake: { requests: any[]; reply(r: object): void }): void {
  scriptReplies(fake, (req) => {
    const wire = JSON.stringify(req.body ?? {});
    if (wire.includes("Success. Updated the following files")) return { text: DONE };
    if (wire.includes(MARKER)) return { toolCalls: [{ id: "call_patch1", name: "apply_patch", arguments: { input: PATCH } }] };
    return { toolCalls: [{ id: "call_exec1", name: "exec_command", arguments: { cmd: "cat input.txt && echo ran > ran.txt" } }] };
  });
}

async function codexExec(name: UpstreamName, cwd: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const home = codexHome(name);
  const proc = Bun.spawn([CODEX, "exec", "--skip-git-repo-check", "Read input.txt, then create hello.txt."], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, CODEX_HOME: home, LMRELAY_API_KEY: RESPONSES_KEY, RUST_LOG: "error" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill(), RUN_TIMEOUT_MS);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(killer);
  return { exitCode: await proc.exited, stdout, stderr };
}

const upstreams = Object.keys(UPSTREAMS) as UpstreamName[];

describe.skipIf(!HAVE_CODEX).each(upstreams)("codex exec → %s upstream", (name) => {
  test(
    "runs a shell command, applies a patch with the freeform apply_patch tool, finishes",
    async () => {
      const fake = rig.fake(name);
      codexTask(fake);
      const work = join(root, `work-${name}`);
      mkdirSync(work, { recursive: true });
      writeFileSync(join(work, "input.txt"), `${MARKER}\n`);
      const run = await codexExec(name, work);
      if (run.exitCode !== 0) console.error(run.stderr.slice(-3000));
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain(DONE);
      expect(readFileSync(join(work, "ran.txt"), "utf8")).toBe("ran\n");
      expect(readFileSync(join(work, "hello.txt"), "utf8")).toBe("hello from lmrelay\n");
      const sent = answerRequests(fake);
      // The shell output and the patch result went back to the upstream as tool results.
      expect(sent.some((r) => JSON.stringify(r.body).includes(MARKER))).toBe(true);
      expect(JSON.stringify(sent.at(-1)!.body)).toContain("Success. Updated the following files");
    },
    RUN_TIMEOUT_MS + 10_000,
  );
});

test.skipIf(!HAVE_CODEX)("Codex's requests reach a translated upstream intact: the freeform tool as a function, thinking signatures back", async () => {
  codexTask(rig.anthropic);
  const work = join(root, "work-defaults");
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "input.txt"), `${MARKER}\n`);
  const run = await codexExec("anthropic", work);
  expect(run.exitCode).toBe(0);
  const [first, second] = answerRequests(rig.anthropic);
  const tools = first!.body.tools.map((t: { name: string }) => t.name);
  expect(tools).toContain("exec_command");
  expect(tools).toContain("apply_patch");
  // The freeform tool became a function with one string argument, its grammar in the description.
  const patchTool = first!.body.tools.find((t: { name: string }) => t.name === "apply_patch");
  expect(patchTool.input_schema.required).toEqual(["input"]);
  expect(patchTool.description).toContain("*** Begin Patch");
  // Codex sends reasoning back (store: false, encrypted_content): Anthropic gets its own signed thinking.
  const assistant = second!.body.messages.find((m: { role: string }) => m.role === "assistant");
  expect(assistant.content[0]).toMatchObject({ type: "thinking", signature: expect.stringMatching(/^sig_/) });
  rig.gw.runtime.audit.flush();
  const rows = rig.gw.runtime.db.$client.query("SELECT protocol, provider, status FROM requests ORDER BY id DESC LIMIT 1").all();
  expect(rows).toEqual([{ protocol: "responses", provider: "claude", status: 200 }]);
}, RUN_TIMEOUT_MS + 10_000);
