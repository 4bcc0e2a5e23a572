import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseUnit, renderUnit, systemdQuote } from "../../src/cli/service-unit";
import { tempDirs } from "../helpers/tempdirs";

// `lmrelay service install`: the unit it writes (or prints with --dry-run) is a valid systemd unit
// with the keys the issue asks for.

const root = path.resolve(import.meta.dir, "../..");
const tempDir = tempDirs("lmrelay-service-");

function lmrelay(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([process.execPath, path.join(root, "src/main.ts"), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: "/nonexistent-home", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function writeConfig(dir: string, storage = 'env("LMRELAY_DB", "lmrelay.db")'): string {
  const file = path.join(dir, "lmrelay.config.ts");
  writeFileSync(file, `import { defineConfig, env } from "lmrelay";\nexport default defineConfig({ storage: { path: ${storage} }, providers: { echo: { type: "echo", models: ["echo-1"] } } });\n`);
  return file;
}

const one = (unit: ReturnType<typeof parseUnit>, section: string, key: string) => {
  const v = unit.get(section)?.get(key);
  expect(v, `${section}.${key}`).toBeDefined();
  expect(v!.length, `${section}.${key} appears once`).toBe(1);
  return v![0]!;
};

test("--dry-run prints a complete, hardened system unit and writes nothing", () => {
  const dir = tempDir();
  const config = writeConfig(dir);
  const r = lmrelay(["service", "install", "--dry-run", "--config", config]);
  expect(r.code).toBe(0);
  const unit = parseUnit(r.stdout);
  expect([...unit.keys()]).toEqual(["Unit", "Service", "Install"]);
  expect(one(unit, "Unit", "After")).toContain("network-online.target");

  const exec = one(unit, "Service", "ExecStart");
  // From a checkout the service runs bun on src/main.ts; from the binary, the binary itself.
  expect(exec).toBe(`${process.execPath} ${path.join(root, "src/main.ts")} serve --config ${config}`);
  expect(one(unit, "Service", "ExecReload")).toBe("/bin/kill -HUP $MAINPID");
  expect(one(unit, "Service", "Restart")).toBe("on-failure");
  expect(one(unit, "Service", "EnvironmentFile")).toBe(`-${path.join(dir, ".env")}`);
  expect(one(unit, "Service", "StateDirectory")).toBe("lmrelay");
  // The fetch limit is set by the unit, so `serve` starts without re-executing itself.
  expect(unit.get("Service")?.get("Environment")).toEqual(["LMRELAY_DB=%S/lmrelay/lmrelay.db", "BUN_CONFIG_MAX_HTTP_REQUESTS=65535"]);
  expect(one(unit, "Service", "NoNewPrivileges")).toBe("yes");
  expect(one(unit, "Service", "ProtectSystem")).toBe("strict");
  expect(one(unit, "Service", "ProtectHome")).toBe("yes");
  expect(one(unit, "Service", "PrivateTmp")).toBe("yes");
  expect(one(unit, "Service", "ReadWritePaths")).toBe("%S/lmrelay");
  expect(one(unit, "Service", "DynamicUser")).toBe("yes");
  expect(one(unit, "Service", "KillSignal")).toBe("SIGTERM");
  // systemd must give the drain (30 s) time before it kills.
  expect(Number.parseInt(one(unit, "Service", "TimeoutStopSec"))).toBeGreaterThan(30);
  expect(one(unit, "Install", "WantedBy")).toBe("multi-user.target");
  // The config lives under /tmp here, which PrivateTmp hides: said on stderr, not in the unit.
  expect(r.stderr).toContain("PrivateTmp");
  expect(r.stderr).not.toContain("stores its database");

  const xdg = path.join(dir, "xdg");
  const user = lmrelay(["service", "install", "--user", "--dry-run", "--config", config], { XDG_CONFIG_HOME: xdg });
  expect(user.code).toBe(0);
  expect(parseUnit(user.stdout).get("Install")!.get("WantedBy")).toEqual(["default.target"]);
  expect(existsSync(xdg)).toBe(false);
}, 30_000);

test("--user writes a per-user unit, prints the systemctl --user commands, and never overwrites a different unit", () => {
  const dir = tempDir();
  const config = writeConfig(dir);
  const envFile = path.join(dir, "keys.env");
  writeFileSync(envFile, "OPENAI_API_KEY=x\n");
  const env = { XDG_CONFIG_HOME: path.join(dir, "xdg-config"), XDG_STATE_HOME: path.join(dir, "xdg-state") };
  const args = ["service", "install", "--user", "--config", config, "--env-file", envFile, "--name", "relay-test"];
  const r = lmrelay(args, env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const file = path.join(dir, "xdg-config/systemd/user/relay-test.service");
  expect(r.stdout).toContain(`wrote ${file}`);
  expect(r.stdout).toContain("systemctl --user daemon-reload");
  expect(r.stdout).toContain("systemctl --user enable --now relay-test");
  const unit = parseUnit(readFileSync(file, "utf8"));
  expect(one(unit, "Service", "EnvironmentFile")).toBe(envFile); // named explicitly: required
  expect(one(unit, "Service", "StateDirectory")).toBe("relay-test");
  expect(one(unit, "Service", "ReadWritePaths")).toBe("%S/relay-test");
  expect(one(unit, "Service", "ProtectHome")).toBe("read-only"); // a user's config lives in ~
  expect(unit.get("Service")!.has("DynamicUser")).toBe(false);
  expect(one(unit, "Install", "WantedBy")).toBe("default.target");

  // Same unit again: nothing to do.
  expect(lmrelay(args, env).stdout).toContain("already up to date");
  // A different one (here: another binary) needs --force.
  const changed = lmrelay([...args, "--binary", "/usr/local/bin/lmrelay"], env);
  expect(changed.code).toBe(1);
  expect(changed.stderr).toContain("--force");
  expect(readFileSync(file, "utf8")).toContain(`ExecStart=${process.execPath}`);
  const forced = lmrelay([...args, "--binary", "/usr/local/bin/lmrelay", "--force"], env);
  expect(forced.code).toBe(0);
  expect(one(parseUnit(readFileSync(file, "utf8")), "Service", "ExecStart")).toBe(`/usr/local/bin/lmrelay serve --config ${config}`);
}, 30_000);

test("a config whose database would land outside the state directory is flagged", () => {
  const dir = tempDir();
  const config = writeConfig(dir, '"lmrelay.db"');
  const r = lmrelay(["service", "install", "--dry-run", "--config", config]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`stores its database at ${path.join(dir, "lmrelay.db")}`);
  expect(r.stderr).toContain('env("LMRELAY_DB"');
}, 30_000);

test("install refuses a missing config and bad arguments", () => {
  const dir = tempDir();
  const missing = lmrelay(["service", "install", "--user", "--config", path.join(dir, "nope.ts")], { XDG_CONFIG_HOME: dir });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("not found");
  expect(lmrelay(["service"]).code).toBe(2);
  expect(lmrelay(["service", "remove"]).stderr).toContain('unknown subcommand "remove"');
  expect(lmrelay(["service", "install", "--dry-run", "--name", "../etc"]).stderr).toContain("--name");
  expect(lmrelay(["service", "install", "--dryrun"]).stderr).toContain("unknown flag --dryrun");
}, 30_000);

test("ExecStart words with spaces, % and $ are quoted for systemd", () => {
  expect(systemdQuote("/opt/lm relay/lmrelay")).toBe('"/opt/lm relay/lmrelay"');
  expect(systemdQuote("/etc/lmrelay/100%.ts")).toBe("/etc/lmrelay/100%%.ts");
  expect(systemdQuote("/etc/$HOME/x")).toBe("/etc/$$HOME/x");
  const unit = parseUnit(
    renderUnit({ name: "lmrelay", user: false, command: ["/opt/lm relay/lmrelay"], configFile: "/etc/lmrelay/my config.ts", envFile: "/etc/lmrelay/.env", envFileRequired: false }),
  );
  expect(unit.get("Service")!.get("ExecStart")).toEqual(['"/opt/lm relay/lmrelay" serve --config "/etc/lmrelay/my config.ts"']);
});

test("a config or binary in a home folder keeps ProtectHome read-only instead of hiding it", () => {
  const unit = parseUnit(renderUnit({ name: "lmrelay", user: false, command: ["/usr/local/bin/lmrelay"], configFile: "/home/ann/lmrelay/lmrelay.config.ts", envFile: "/home/ann/lmrelay/.env", envFileRequired: false }));
  expect(unit.get("Service")!.get("ProtectHome")).toEqual(["read-only"]);
});
