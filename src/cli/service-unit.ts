import { homedir } from "node:os";
import path from "node:path";
import { VERSION } from "../version";
import { FETCH_LIMIT } from "./fetch-limit";

// The systemd unit `lmrelay service install` writes. Pure: the command gathers paths and this
// renders them, so tests can read every key.

export interface UnitOptions {
  /** Unit (and state directory) name. */
  name: string;
  /** Per-user service (`systemctl --user`) instead of a system one. */
  user: boolean;
  /** The command that runs lmrelay: the binary, or bun + src/main.ts from a checkout. */
  command: string[];
  configFile: string;
  envFile: string;
  /** The env file was named explicitly: then it must exist (no `-` prefix). */
  envFileRequired: boolean;
}

/** Where systemd looks for the unit. */
export function unitPath(name: string, user: boolean, env: Record<string, string | undefined> = process.env): string {
  if (!user) return `/etc/systemd/system/${name}.service`;
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), ".config");
  return path.join(configHome, "systemd", "user", `${name}.service`);
}

/** Quotes one ExecStart word for systemd: `%` and `$` are expanded there, so double them. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /[\s"'\\;]/.test(escaped) ? `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : escaped;
}

const HOME_DIRS = ["/home/", "/root/", "/run/user/"];
export function underHome(p: string): boolean {
  return HOME_DIRS.some((h) => p.startsWith(h));
}

/** Sandboxing a system service gets (a user manager cannot drop capabilities or hide the kernel).
 *  `systemd-analyze security` scores the unit below 3.0 with these; test/cli/service-security. */
const SYSTEM_HARDENING = [
  "PrivateDevices=yes",
  "PrivateUsers=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectClock=yes",
  "ProtectHostname=yes",
  "ProtectProc=invisible",
  "PrivateMounts=yes",
  "RestrictSUIDSGID=yes",
  "RemoveIPC=yes",
  "# No capabilities at all: lmrelay needs none (a port below 1024 would need CAP_NET_BIND_SERVICE here).",
  "CapabilityBoundingSet=",
  "AmbientCapabilities=",
];

/** Seccomp and friends, for system and user services alike (they need NoNewPrivileges=yes).
 *  Not MemoryDenyWriteExecute=yes: Bun's JavaScriptCore maps its JIT code writable and
 *  executable, and under that rule it silently runs without its JIT (several times slower). */
const SECCOMP_HARDENING = [
  "LockPersonality=yes",
  "RestrictRealtime=yes",
  "RestrictNamespaces=yes",
  "# Sockets: TCP/IP for clients and upstreams, Unix sockets for local tools, netlink for resolving names.",
  "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
  "SystemCallArchitectures=native",
  "SystemCallFilter=@system-service",
  "SystemCallFilter=~@privileged @resources @mount @swap @reboot @raw-io @module @obsolete @cpu-emulation @debug @clock",
  "# A filtered call fails with EPERM instead of killing the process.",
  "SystemCallErrorNumber=EPERM",
  "UMask=0077",
];

export function renderUnit(o: UnitOptions): string {
  const exec = [...o.command, "serve", "--config", o.configFile].map(systemdQuote).join(" ");
  const stateDir = "%S/" + o.name;
  const where = o.user ? "~/.local/state" : "/var/lib";
  // A system service cannot see home folders (ProtectHome=yes) unless its files live there.
  const homeFiles = [o.configFile, o.command[0]!, o.command[1] ?? ""].some(underHome);
  const lines = [
    `# ${o.name}.service — written by \`lmrelay service install\` (lmrelay ${VERSION}).`,
    `# Config reload: systemctl${o.user ? " --user" : ""} reload ${o.name}    Logs: journalctl${o.user ? " --user" : ""} -u ${o.name} -f`,
    "[Unit]",
    "Description=lmrelay LLM gateway (OpenAI, Anthropic and Ollama APIs on one port)",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${exec}`,
    "# SIGHUP reloads the config; an invalid one is logged and the running config stays.",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "Restart=on-failure",
    "RestartSec=2s",
    "# Upstream, client and admin keys as KEY=value lines (read by systemd; keep it chmod 600).",
    `EnvironmentFile=${o.envFileRequired ? "" : "-"}${o.envFile}`,
    `# The database lives in the state directory (${where}/${o.name}); the config reads LMRELAY_DB:`,
    '#   storage: { path: env("LMRELAY_DB", "lmrelay.db") }',
    `StateDirectory=${o.name}`,
    "StateDirectoryMode=0700",
    `Environment=LMRELAY_DB=${stateDir}/lmrelay.db`,
    "# Set here, `serve` need not re-execute itself at start to raise Bun's concurrent-fetch limit.",
    `Environment=BUN_CONFIG_MAX_HTTP_REQUESTS=${FETCH_LIMIT}`,
    `WorkingDirectory=${stateDir}`,
    "# SIGTERM stops accepting, drains in-flight requests and streams (up to 30 s), flushes the audit log.",
    "KillSignal=SIGTERM",
    "TimeoutStopSec=45s",
    "LimitNOFILE=65536",
    "# Hardening: no privilege gain, a read-only system, private /tmp; only the state directory is writable.",
    ...(o.user ? [] : ["DynamicUser=yes"]),
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ProtectHome=${o.user || homeFiles ? "read-only" : "yes"}`,
    "PrivateTmp=yes",
    ...(o.user ? [] : SYSTEM_HARDENING),
    ...SECCOMP_HARDENING,
    `ReadWritePaths=${stateDir}`,
    "",
    "[Install]",
    `WantedBy=${o.user ? "default.target" : "multi-user.target"}`,
    "",
  ];
  return lines.join("\n");
}

/** The commands to run after writing the unit. */
export function systemctlCommands(name: string, user: boolean): string[] {
  const ctl = user ? "systemctl --user" : "sudo systemctl";
  return [
    `${ctl} daemon-reload`,
    `${ctl} enable --now ${name}`,
    `${ctl} status ${name}`,
    `${ctl} reload ${name}      # after editing the config (it also reloads on save)`,
    `journalctl${user ? " --user" : ""} -u ${name} -f`,
    ...(user ? [`loginctl enable-linger ${process.env.USER || "$USER"}      # keep it running while you are logged out`] : []),
  ];
}

/** Parses a unit file into section → key → values (keys may repeat). For tests and `--force` checks. */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = new Map();
      out.set(s[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq <= 0) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}
