import { watch } from "node:fs";
import path from "node:path";
import { defaultConfigPath, loadConfig } from "../config/load";
import { ConfigError } from "../config/resolve";
import { createLogger } from "../log/logger";
import { Runtime } from "../server/runtime";
import { VERSION } from "../version";
import { type ParsedArgs, stringFlag } from "./args";

// `lmrelay serve [--config PATH] [--host H] [--port N]`: load, serve, reload on change or SIGHUP,
// drain on SIGTERM/SIGINT.

export async function serveCommand(args: ParsedArgs): Promise<number> {
  const log = createLogger();
  const file = path.resolve(stringFlag(args, "config") ?? defaultConfigPath());
  let config;
  try {
    config = await loadConfig(file);
  } catch (e) {
    process.stderr.write(`lmrelay: ${(e as Error).message}\n`);
    return 1;
  }
  const portFlag = stringFlag(args, "port");
  const port = portFlag === undefined ? undefined : Number(portFlag);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
    process.stderr.write(`lmrelay: --port must be a port number, got "${portFlag}"\n`);
    return 1;
  }
  const runtime = new Runtime(config, log);
  let url: string;
  try {
    ({ url } = await runtime.start({ host: stringFlag(args, "host"), port }));
  } catch (e) {
    process.stderr.write(`lmrelay: cannot listen: ${(e as Error).message}\n`);
    await runtime.stop({ drainMs: 0 });
    return 1;
  }
  const providers = [...config.providers.values()].map((p) => {
    const count = runtime.catalog.models(p.id).length;
    const err = runtime.catalog.discoveryError(p.id);
    return `${p.id} (${p.type}, ${count} model${count === 1 ? "" : "s"}${err ? ", unreachable" : ""})`;
  });
  log.info(`lmrelay ${VERSION} listening on ${url}`, {
    config: file,
    providers: providers.join(", "),
    aliases: config.aliases.size,
    clients: config.clients.size,
  });

  let reloading = Promise.resolve();
  const reload = (why: string) => {
    reloading = reloading.then(async () => {
      try {
        const next = await loadConfig(file);
        await runtime.reload(next);
        log.info("config reloaded", { why, providers: next.providers.size });
      } catch (e) {
        const problems = e instanceof ConfigError ? e.problems : [{ path: "", message: (e as Error).message }];
        log.error("config reload rejected; keeping the previous config", { why, file, problems });
      }
    });
  };
  process.on("SIGHUP", () => reload("SIGHUP"));
  let debounce: ReturnType<typeof setTimeout> | undefined;
  // Watch the folder, not the file: editors replace files atomically (notes Q4).
  const watcher = watch(path.dirname(file), (_event, name) => {
    if (!name || !/\.(ts|js|mts|json)$/.test(String(name))) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => reload(`file changed: ${name}`), 250);
  });

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      watcher.close();
      log.info("shutting down: draining in-flight requests", { signal, inFlight: runtime.inFlight + runtime.gateway.openAnswers });
      await runtime.stop({ drainMs: 30_000 });
      log.info("stopped");
      resolve(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  });
}
