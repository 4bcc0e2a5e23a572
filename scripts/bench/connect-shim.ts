// Test preload for the Bun.connect experiment: lmrelay's upstream calls (sendUpstream's
// `redirect: "manual"` fetch with a string body) go through connect-client.ts, everything else
// (the official SDK clients the tests drive, the fakes) through the real fetch. This is how the
// client was run against the hostile-upstream, reliability and upstream e2e tests unchanged:
//
//   bun test --preload ./scripts/bench/connect-shim.ts test/reliability/hostile-adapters.test.ts
//
// LMRELAY_CONNECT_SHIM_LOG=<file> appends one byte per routed call, to prove the shim was used.

import { appendFileSync } from "node:fs";
import { ConnectClient } from "./connect-client";

const client = new ConnectClient();
const realFetch = globalThis.fetch;
const logFile = process.env.LMRELAY_CONNECT_SHIM_LOG;

globalThis.fetch = ((input: unknown, init?: RequestInit & { headers?: Record<string, string> }) => {
  if (init?.redirect === "manual" && typeof input === "string" && (init.body === undefined || typeof init.body === "string")) {
    if (logFile) appendFileSync(logFile, ".");
    return client.request(input, { method: init.method, headers: init.headers, body: init.body ?? undefined, signal: init.signal ?? undefined });
  }
  return realFetch(input as Request, init);
}) as typeof fetch;
