import { expect, test } from "bun:test";
import path from "node:path";
import { resolveConfig } from "../../src/config/resolve";
import { createLogger, REDACTED } from "../../src/log/logger";
import { configSecrets } from "../../src/config/secrets";

function capture(opts: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const log = createLogger({ pretty: false, level: "info", write: (l) => lines.push(l), ...opts });
  return { log, lines };
}

test("JSON lines carry time, level, message and fields", () => {
  const { log, lines } = capture();
  log.info("request", { requestId: "req_1", status: 200 });
  expect(lines).toHaveLength(1);
  const o = JSON.parse(lines[0]!);
  expect(o).toMatchObject({ level: "info", msg: "request", requestId: "req_1", status: 200 });
  expect(new Date(o.time).getTime()).toBeGreaterThan(0);
});

test("levels below the minimum are dropped", () => {
  const { log, lines } = capture({ level: "warn" });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  expect(lines.map((l) => JSON.parse(l).level)).toEqual(["warn", "error"]);
});

test("errors in fields keep their message", () => {
  const { log, lines } = capture();
  log.error("boom", { error: new Error("disk full") });
  expect(JSON.parse(lines[0]!).error).toEqual({ name: "Error", message: "disk full" });
});

test("pretty lines are readable and quote values with spaces", () => {
  const { log, lines } = capture({ pretty: true, color: false });
  log.warn("config reload rejected", { field: "providers.x.type", reason: "not supported", n: 2 });
  expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  config reload rejected field=providers\.x\.type reason="not supported" n=2$/);
});

test("LMRELAY_LOG_FORMAT=json forces JSON even when asked for nothing", () => {
  const before = process.env.LMRELAY_LOG_FORMAT;
  process.env.LMRELAY_LOG_FORMAT = "json";
  try {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) }).info("x");
    expect(() => JSON.parse(lines[0]!)).not.toThrow();
  } finally {
    if (before === undefined) delete process.env.LMRELAY_LOG_FORMAT;
    else process.env.LMRELAY_LOG_FORMAT = before;
  }
});

test("secrets of the config in force are scrubbed from every line", () => {
  const config = resolveConfig({
    admin: { key: "admin-secret-123456" },
    providers: {
      up: { type: "openai", keys: ["sk-upstream-abcdef123456", { key: "sk-second-key-7890", name: "second" }], headers: { Authorization: "Bearer hdr-token-998877" } },
    },
    clients: { app: { key: "lmr-client-key-5555" } },
  });
  const secrets = configSecrets(config);
  expect(secrets).toContain("sk-upstream-abcdef123456");
  expect(secrets).toContain("hdr-token-998877");
  expect(configSecrets(config)).toBe(secrets); // computed once per config
  const { log, lines } = capture({ secrets: () => secrets });
  log.error("upstream said: Incorrect API key provided: sk-upstream-abcdef123456", {
    detail: "client lmr-client-key-5555 / admin admin-secret-123456 / sk-second-key-7890 / hdr-token-998877",
  });
  for (const s of secrets) expect(lines[0]).not.toContain(s);
  expect(lines[0]!.split(REDACTED).length - 1).toBe(5);
  expect(JSON.parse(lines[0]!).msg).toBe(`upstream said: Incorrect API key provided: ${REDACTED}`);
});

test("short strings are not treated as secrets", () => {
  const config = resolveConfig({ providers: { up: { type: "openai", keys: ["abc"] } } });
  expect(configSecrets(config)).toEqual([]);
});

// stdout lines are batched (one write per ~20 ms); exiting must still write every one, in order,
// whether the process exits, throws, or just ends — with a reader slower than the writer.
for (const how of ["exit", "throw", "end"] as const)
  test(`batched stdout lines are all written, in order, when the process ${how === "end" ? "ends" : how + "s"}`, async () => {
    const script = `
      import { createLogger } from ${JSON.stringify(path.resolve(import.meta.dir, "../../src/log/logger.ts"))};
      const log = createLogger({ pretty: false, level: "info" });
      for (let i = 0; i < 3000; i++) log.info("line", { i, pad: "x".repeat(64) });
      ${how === "exit" ? "process.exit(3);" : how === "throw" ? 'throw new Error("boom");' : ""}`;
    const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env, LMRELAY_LOG_FORMAT: "json" } });
    await Bun.sleep(200); // let the pipe fill: the exit flush must wait for the reader
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(how === "exit" ? 3 : how === "throw" ? 1 : 0);
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(3000);
    expect(lines.map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });
