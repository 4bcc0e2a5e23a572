import { hostname } from "node:os";
import type { ResolvedConfig } from "../config/resolve";
import { createLogger, flushStdoutLines, LEVELS, type Logger, parseLevel, prettyLogs } from "../log/logger";
import { configSecrets } from "../config/secrets";
import { Runtime } from "../server/runtime";
import { loadConfigArg, type ParsedArgs, stringFlag, unknownFlags } from "./args";
import { ConfigReloader } from "./serve-reload";
import { startupStatus } from "./serve-status";

// `lmrelay serve [--config PATH] [--host H] [--port N] [--no-watch] [--drain-timeout S] [--log-level L]`:
// load, serve, reload on change or SIGHUP, drain on SIGTERM/SIGINT (a second signal stops at once).

const FLAGS = ["config", "host", "port", "no-watch", "drain-timeout", "log-level", "env-file"];
const DEFAULT_DRAIN_S = 30;

export async function serveCommand(args: ParsedArgs): Promise<number> {
  const bad = unknownFlags(args, FLAGS);
  if (bad) return usageError(bad);
  const levelFlag = stringFlag(args, "log-level");
  const level = parseLevel(levelFlag);
  if (levelFlag !== undefined && !level) return usageError(`--log-level must be one of ${LEVELS.join(", ")}`);
  const portFlag = stringFlag(args, "port");
  const port = portFlag === undefined ? undefined : Number(portFlag);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) return usageError(`--port must be a port number, got "${portFlag}"`);
  const drainFlag = stringFlag(args, "drain-timeout");
  const drainS = drainFlag === undefined ? DEFAULT_DRAIN_S : Number(drainFlag);
  if (!(Number.isFinite(drainS) && drainS >= 0)) return usageError(`--drain-timeout must be a number of seconds, got "${drainFlag}"`);

  const loaded = await loadConfigArg(args);
  if (!loaded) return 1;
  const { file, config } = loaded;
  let runtime: Runtime | undefined;
  const node = nodeName(config, port);
  const log = createLogger({ level, node, secrets: () => (runtime ? configSecrets(runtime.config) : configSecrets(config)) });
  try {
    runtime = new Runtime(config, log, { node });
  } catch (e) {
    process.stderr.write(`lmrelay: cannot open the database ${config.storagePath}: ${(e as Error).message}\n`);
    return 1;
  }
  // Listen for signals before listening on the port: a SIGTERM that lands in between must drain,
  // not kill the process with the default action.
  const signals = new SignalLatch();
  const host = stringFlag(args, "host");
  let url: string;
  try {
    ({ url } = await runtime.start({ host, port }));
  } catch (e) {
    process.stderr.write(`lmrelay: cannot listen on ${host ?? config.server.host}:${port ?? config.server.port}: ${(e as Error).message}\n`);
    await runtime.stop({ drainMs: 0 });
    return 1;
  }
  // The release binary starts with raised JIT thresholds (scripts/build.ts): start-up's run-once code
  // stayed in the interpreter; requests get the normal policy.
  Bun.unsafe.setJITPolicy(1);
  const status = startupStatus(runtime.config, runtime.catalog, url, runtime.health);
  // Readable logs get the start-up block as lines (a terminal, or LMRELAY_LOG_FORMAT=pretty into a
  // pipe or journald); JSON logs get it as one object.
  if (prettyLogs()) {
    flushStdoutLines(); // log lines are batched: keep the ones logged so far above the status
    process.stdout.write(status.lines.join("\n") + "\n");
  }
  else log.info(status.message, status.fields);

  // A bug in one request's promise chain must not take every other stream down with it.
  const onRejection = (reason: unknown) => log.error("unhandled promise rejection", { error: reason instanceof Error ? reason.message : String(reason), stack: (reason as Error)?.stack });
  process.on("unhandledRejection", onRejection);

  const reloader = new ConfigReloader({
    file,
    runtime,
    log,
    watch: !args.flags.has("no-watch"),
    listenFromFlags: { host: host !== undefined, port: port !== undefined },
  });
  reloader.start();
  return await waitForShutdown(signals, runtime, reloader, log, drainS * 1000);
}

function waitForShutdown(signals: SignalLatch, runtime: Runtime, reloader: ConfigReloader, log: Logger, drainMs: number): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // Second Ctrl-C: the operator wants out now. Keep what the audit queue holds.
        log.warn("second signal: exiting without waiting for in-flight requests", { signal, inFlight: runtime.inFlight + runtime.gateway.openAnswers });
        runtime.audit.flush();
        flushStdoutLines();
        process.exit(signal === "SIGINT" ? 130 : 143);
      }
      stopping = true;
      reloader.stop();
      log.info("shutting down: no new connections, draining in-flight requests", {
        signal,
        inFlight: runtime.inFlight + runtime.gateway.openAnswers,
        drainTimeoutS: drainMs / 1000,
      });
      const started = performance.now();
      runtime.stop({ drainMs }).then(
        () => {
          log.info("stopped", { ms: Math.round(performance.now() - started), auditRows: runtime.audit.written, auditDropped: runtime.audit.dropped });
          flushStdoutLines(); // the exit hook would too; shutdown should not depend on it
          resolve(0);
        },
        (e) => {
          log.error("shutdown failed", { error: (e as Error).message });
          flushStdoutLines();
          resolve(1);
        },
      );
    };
    signals.subscribe(onSignal);
  });
}

/** Catches SIGTERM/SIGINT from the start; replays any that came before someone subscribed. */
class SignalLatch {
  private pending: NodeJS.Signals[] = [];
  private listener: ((signal: NodeJS.Signals) => void) | undefined;

  constructor() {
    const on = (signal: NodeJS.Signals) => (this.listener ? this.listener(signal) : this.pending.push(signal));
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  }

  subscribe(listener: (signal: NodeJS.Signals) => void): void {
    this.listener = listener;
    for (const signal of this.pending.splice(0)) listener(signal);
  }
}

function usageError(message: string): number {
  process.stderr.write(`lmrelay serve: ${message}\n`);
  return 2;
}

/** The node's name: `cluster.node`, or hostname:port with the port actually listened on. */
function nodeName(config: ResolvedConfig, portFlag: number | undefined): string | undefined {
  if (config.node === undefined || portFlag === undefined) return config.node;
  return config.node === `${hostname()}:${config.server.port}` ? `${hostname()}:${portFlag}` : config.node;
}
