import { type FSWatcher, watch } from "node:fs";
import path from "node:path";
import { loadConfig } from "../config/load";
import { ConfigError, type ResolvedConfig } from "../config/resolve";
import type { Logger } from "../log/logger";

// Hot reload for `lmrelay serve`: on SIGHUP and on (debounced) edits of the config or the helper
// files it imports, load the file again, validate it, and hand it to the runtime. A config that
// fails to load, validate or finish evaluating never replaces the one in force.

export interface ReloadTarget {
  readonly config: ResolvedConfig;
  reload(next: ResolvedConfig): Promise<void>;
}

export interface ConfigReloaderOptions {
  file: string;
  runtime: ReloadTarget;
  log: Logger;
  /** Watch the files (default true); SIGHUP always reloads. */
  watch?: boolean;
  debounceMs?: number;
  /** A config whose top level awaits forever must not block every later reload. */
  loadTimeoutMs?: number;
  /** Listen settings given on the command line, which the config's cannot override. */
  listenFromFlags?: { host?: boolean; port?: boolean };
}

const WATCHED = /\.(ts|mts|cts|js|mjs|cjs|json)$/;

export class ConfigReloader {
  private watchers = new Map<string, FSWatcher>();
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<boolean> | undefined;
  private pending: string | undefined;
  private stopped = false;
  private readonly onHup = () => void this.reload("SIGHUP");
  /** Completed reload attempts, for tests and the status endpoint. */
  attempts = 0;

  constructor(private readonly opts: ConfigReloaderOptions) {}

  start(): void {
    process.on("SIGHUP", this.onHup);
    if (this.opts.watch !== false) this.watchLoadedFiles();
  }

  stop(): void {
    this.stopped = true;
    process.off("SIGHUP", this.onHup);
    clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Reloads now (after any reload in progress). Resolves true when the new config took over. */
  reload(why: string): Promise<boolean> {
    if (this.running) {
      // Coalesce: edits arriving during a reload need one more reload, not one each.
      this.pending = why;
      return this.running;
    }
    this.running = this.reloadOnce(why).finally(() => {
      this.running = undefined;
      const again = this.pending;
      this.pending = undefined;
      if (again && !this.stopped) void this.reload(again);
    });
    return this.running;
  }

  private async reloadOnce(why: string): Promise<boolean> {
    const { file, log, runtime } = this.opts;
    const started = performance.now();
    let next: ResolvedConfig;
    try {
      next = await loadConfig(file, { timeoutMs: this.opts.loadTimeoutMs ?? 15_000 });
    } catch (e) {
      this.attempts++;
      const problems = e instanceof ConfigError ? e.problems : [{ path: "", message: (e as Error).message }];
      const first = problems[0];
      log.error("config reload rejected; the previous config stays in force", {
        why,
        file,
        field: first?.path || "(file)",
        reason: first?.message,
        problems: problems.map((p) => ({ field: p.path || "(file)", reason: p.message })),
      });
      return false;
    }
    if (this.stopped) return false;
    const previous = runtime.config;
    try {
      await runtime.reload(next);
    } catch (e) {
      this.attempts++;
      log.error("config reload failed while applying it", { why, file, error: (e as Error).message });
      return false;
    }
    this.attempts++;
    const diff = describeChanges(previous, next);
    log.info("config reloaded", { why, file, ms: Math.round(performance.now() - started), ...diff });
    const restart = restartOnlyChanges(previous, next, this.opts.listenFromFlags);
    if (restart.length)
      log.warn("these settings take effect only after a restart", { changed: restart.join(", ") });
    if (this.opts.watch !== false) this.watchLoadedFiles();
    return true;
  }

  /** Watches the config's folder and the folders of every helper it imported (not node_modules).
   *  Folders, not files: editors save by writing a new file and renaming it over the old one. */
  private watchLoadedFiles(): void {
    const dir = path.dirname(this.opts.file);
    const dirs = new Set([dir]);
    for (const key of Object.keys(require.cache))
      if (key.startsWith(dir + path.sep) && !key.includes(`${path.sep}node_modules${path.sep}`)) dirs.add(path.dirname(key.replace(/\?.*$/, "")));
    for (const d of dirs) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, (_event, name) => {
          if (name && WATCHED.test(String(name)) && !String(name).endsWith(".d.ts")) this.schedule(`file changed: ${path.relative(dir, path.join(d, String(name)))}`);
        });
        w.on("error", (err) => {
          this.opts.log.warn("stopped watching a config folder; SIGHUP still reloads", { dir: d, error: err.message });
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch (e) {
        this.opts.log.warn("cannot watch a config folder; SIGHUP still reloads", { dir: d, error: (e as Error).message });
      }
    }
  }

  private schedule(why: string): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(why), this.opts.debounceMs ?? 250);
  }
}

function keysDiff<T>(a: Map<string, T>, b: Map<string, T>): { added: string[]; removed: string[] } {
  return { added: [...b.keys()].filter((k) => !a.has(k)), removed: [...a.keys()].filter((k) => !b.has(k)) };
}

/** What a reload changed, in names only (never keys). */
export function describeChanges(prev: ResolvedConfig, next: ResolvedConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { providers: next.providers.size, aliases: next.aliases.size, clients: next.clients.size };
  const p = keysDiff(prev.providers, next.providers);
  if (p.added.length) out.providersAdded = p.added;
  if (p.removed.length) out.providersRemoved = p.removed;
  const a = keysDiff(prev.aliases, next.aliases);
  if (a.added.length) out.aliasesAdded = a.added;
  if (a.removed.length) out.aliasesRemoved = a.removed;
  const c = keysDiff(prev.clients, next.clients);
  if (c.added.length) out.clientsAdded = c.added;
  if (c.removed.length) out.clientsRemoved = c.removed;
  return out;
}

/** Settings bound at start-up: the listening socket and the database file. */
export function restartOnlyChanges(prev: ResolvedConfig, next: ResolvedConfig, fromFlags: { host?: boolean; port?: boolean } = {}): string[] {
  const out: string[] = [];
  if (!fromFlags.host && prev.server.host !== next.server.host) out.push(`server.host (${prev.server.host} → ${next.server.host})`);
  if (!fromFlags.port && prev.server.port !== next.server.port) out.push(`server.port (${prev.server.port} → ${next.server.port})`);
  if (prev.storagePath !== next.storagePath) out.push(`storage.path (${prev.storagePath} → ${next.storagePath})`);
  // Engine URLs may hold a password: named, never shown.
  if (prev.postgres !== next.postgres) out.push("storage.postgres");
  if (prev.cluster?.redis !== next.cluster?.redis) out.push("cluster.redis");
  if (prev.node !== next.node) out.push(`cluster.node (${prev.node ?? "none"} → ${next.node ?? "none"})`);
  return out;
}
