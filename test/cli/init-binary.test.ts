import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { parseUnit } from "../../src/cli/service-unit";
import { binaryInEmptyDir, listeningUrl } from "../helpers/binary";

// The operations commands from the compiled binary alone (copied into an empty folder, no
// node_modules): `init` writes its embedded templates, `service install` names the binary itself,
// and `serve` serves the embedded dashboard.

const root = path.resolve(import.meta.dir, "../..");
let dir: string;
let binary: string;
const env = { PATH: "/usr/bin:/bin" };

beforeAll(() => {
  ({ dir, binary } = binaryInEmptyDir("lmrelay-init-bin-"));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("init, tsc and check work from the binary alone", () => {
  const init = Bun.spawnSync([binary, "init", "site"], { cwd: dir, env });
  expect(init.stderr.toString()).toBe("");
  expect(init.exitCode).toBe(0);
  for (const f of ["lmrelay.config.ts", "lmrelay-env.d.ts", "tsconfig.json", ".env.example"]) expect(existsSync(path.join(dir, "site", f))).toBe(true);
  const tsc = Bun.spawnSync([process.execPath, path.join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", path.join(dir, "site")], { cwd: dir });
  expect(tsc.stdout.toString()).toBe("");
  expect(tsc.exitCode).toBe(0);
  const check = Bun.spawnSync([binary, "check", "--config", "site/lmrelay.config.ts"], { cwd: dir, env });
  expect(check.stderr.toString()).toBe("");
  expect(check.exitCode).toBe(0);
}, 30_000);

test("service install --dry-run runs the binary itself", () => {
  const r = Bun.spawnSync([binary, "service", "install", "--dry-run", "--config", "site/lmrelay.config.ts"], { cwd: dir, env });
  expect(r.exitCode).toBe(0);
  const unit = parseUnit(r.stdout.toString());
  expect(unit.get("Service")!.get("ExecStart")).toEqual([`${binary} serve --config ${path.join(dir, "site/lmrelay.config.ts")}`]);
}, 30_000);

test("serve --env-file serves the embedded dashboard", async () => {
  Bun.spawnSync(["sh", "-c", `printf 'LMRELAY_ADMIN_KEY=admin-key-from-env-file\\n' > site/.env`], { cwd: dir });
  const proc = Bun.spawn([binary, "serve", "--config", "site/lmrelay.config.ts", "--env-file", "site/.env", "--port", "0"], {
    cwd: dir,
    env: { ...env, LMRELAY_LOG_FORMAT: "json" },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const { url, out } = await listeningUrl(proc.stdout);
    expect(url).toBeDefined();
    expect(out).toContain(`"dashboard":"${url}/admin"`);
    expect(out).not.toContain("admin-key-from-env-file");
    const page = await fetch(`${url}/admin`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const js = /src="(\/admin\/dashboard\.[a-z0-9]+\.js)"/.exec(html)![1]!;
    const script = await fetch(`${url}${js}`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain("lmrelay.adminKey");
    const api = await fetch(`${url}/admin/api/timeseries?minutes=5`, { headers: { authorization: "Bearer admin-key-from-env-file" } });
    expect(api.status).toBe(200);
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
}, 30_000);
