import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseUnit, renderUnit } from "../../src/cli/service-unit";
import { listeningUrl } from "../helpers/binary";
import { tempDirs } from "../helpers/tempdirs";

// The systemd unit's sandbox: `systemd-analyze security --offline=true` scores it (≤ 3.0), and a
// gateway traced through start-up, requests and shutdown uses only system calls its
// SystemCallFilter= lets through, so the sandbox does not stop it serving. Each part runs where
// its tool exists (systemd-analyze, strace) and is skipped, saying so, elsewhere.

const root = path.resolve(import.meta.dir, "../..");
const analyze = Bun.which("systemd-analyze");
const strace = Bun.which("strace");
const tempDir = tempDirs("lmrelay-unit-");

const UNIT = renderUnit({
  name: "lmrelay",
  user: false,
  command: ["/usr/local/bin/lmrelay"],
  configFile: "/etc/lmrelay/lmrelay.config.ts",
  envFile: "/etc/lmrelay/.env",
  envFileRequired: false,
});

test("the unit drops every capability, filters system calls and keeps MemoryDenyWriteExecute off (Bun's JIT)", () => {
  const service = parseUnit(UNIT).get("Service")!;
  expect(service.get("CapabilityBoundingSet")).toEqual([""]);
  expect(service.get("RestrictAddressFamilies")).toEqual(["AF_INET AF_INET6 AF_UNIX AF_NETLINK"]);
  expect(service.get("SystemCallFilter")![0]).toBe("@system-service");
  for (const key of ["RestrictNamespaces", "ProtectClock", "ProtectHostname", "ProtectKernelLogs", "LockPersonality", "RestrictRealtime"]) expect(service.get(key)).toEqual(["yes"]);
  expect(service.get("UMask")).toEqual(["0077"]);
  expect(service.has("MemoryDenyWriteExecute")).toBe(false);
});

test.skipIf(!analyze)("systemd-analyze security scores the system unit at 3.0 or less", () => {
  const dir = tempDir();
  const file = path.join(dir, "lmrelay.service");
  writeFileSync(file, UNIT);
  const p = Bun.spawnSync([analyze!, "security", "--offline=true", "--no-pager", file], { stdout: "pipe", stderr: "pipe" });
  const out = p.stdout.toString() + p.stderr.toString();
  const score = /Overall exposure level for lmrelay\.service: ([\d.]+)/.exec(out)?.[1];
  expect(score, out).toBeDefined();
  console.log(`systemd-analyze security: lmrelay.service exposure ${score}`);
  expect(Number(score)).toBeLessThanOrEqual(3.0);
});

/** Expands a systemd syscall group (`@system-service`) into system call names. */
function syscallGroup(name: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(name)) return out;
  seen.add(name);
  const p = Bun.spawnSync([analyze!, "syscall-filter", "--no-pager", name], { stdout: "pipe" });
  for (const raw of p.stdout.toString().split("\n").slice(1)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("@")) for (const s of syscallGroup(line, seen)) out.add(s);
    else out.add(line);
  }
  return out;
}

test.skipIf(!analyze || !strace)("a gateway serving requests uses only system calls the unit's filter allows", async () => {
  const service = parseUnit(UNIT).get("Service")!;
  const [allow, deny] = service.get("SystemCallFilter")!;
  const allowed = new Set([...allow!.split(" ")].flatMap((g) => [...syscallGroup(g)]));
  for (const g of deny!.slice(1).split(" ")) for (const s of syscallGroup(g)) allowed.delete(s);
  expect(allowed.has("read")).toBe(true);
  expect(allowed.has("mount")).toBe(false);

  const dir = tempDir();
  const config = path.join(dir, "lmrelay.config.ts");
  writeFileSync(config, `import { defineConfig } from "lmrelay";
export default defineConfig({ storage: { path: "t.db" }, providers: { echo: { type: "echo", models: ["echo-1"] } }, models: { smart: ["echo/echo-1"] } });
`);
  const trace = path.join(dir, "strace.out");
  const proc = Bun.spawn([strace!, "-f", "-qq", "-o", trace, process.execPath, path.join(root, "src/main.ts"), "serve", "--config", config, "--port", "0"], {
    cwd: dir,
    // As the unit sets it: `serve` then does not re-execute itself.
    env: { PATH: process.env.PATH!, LMRELAY_LOG_FORMAT: "json", BUN_CONFIG_MAX_HTTP_REQUESTS: "65336" },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const { url, out } = await listeningUrl(proc.stdout);
    expect(url, out).toBeDefined();
    for (const stream of [false, true]) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "smart", stream, messages: [{ role: "user", content: "hello there" }] }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("there");
    }
  } finally {
    // The gateway, not strace, gets SIGTERM (a drained shutdown is part of what is traced); its
    // pid is the first one in the trace. strace exits with it.
    const gateway = Number(/^(\d+) /.exec(readFileSync(trace, "utf8"))?.[1]);
    if (gateway > 1) process.kill(gateway, "SIGTERM");
    else proc.kill("SIGTERM");
    await proc.exited;
  }
  const used = new Set([...readFileSync(trace, "utf8").matchAll(/^\d+ +([a-z_0-9]+)\(/gm)].map((m) => m[1]!));
  // SQLite fchown()s a new journal only when running as root, which a DynamicUser= service never
  // is, and ignores the result; the filter answers EPERM (SystemCallErrorNumber=), not a kill.
  const tolerated = new Set(["fchown"]);
  const outside = [...used].filter((s) => !allowed.has(s) && !tolerated.has(s)).sort();
  expect(outside).toEqual([]);
  expect(used.size).toBeGreaterThan(20);
}, 60_000);
