import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { type Logger, silentLogger } from "../../src/log/logger";
import { Runtime } from "../../src/server/runtime";

export interface TestGateway {
  url: string;
  port: number;
  runtime: Runtime;
  stop(): Promise<void>;
}

/** Starts the real server in-process on 127.0.0.1, a free port and (by default) an in-memory database. */
export async function startGateway(config: LmrelayConfig, opts: { log?: Logger; file?: string } = {}): Promise<TestGateway> {
  const resolved = resolveConfig(
    {
      ...config,
      server: { host: "127.0.0.1", ...config.server, port: 0 },
      storage: { path: ":memory:", ...config.storage },
    },
    opts.file ?? "",
  );
  const runtime = new Runtime(resolved, opts.log ?? silentLogger);
  const { url, port } = await runtime.start();
  return { url, port, runtime, stop: () => runtime.stop({ drainMs: 2_000 }) };
}
