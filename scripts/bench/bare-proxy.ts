#!/usr/bin/env bun
// The reference for "what our stack can do at best": a bare Bun.serve + fetch pass-through proxy.
// No routing, no translation, no audit: read the body, forward it with the headers that matter,
// hand the upstream's body back untouched (streams pass through chunk by chunk).
// Env: BENCH_UPSTREAM (origin, e.g. http://127.0.0.1:4000), BENCH_PROXY_PORT (default 0).
// Prints `{"port":N}` on stdout once listening.

const upstream = process.env.BENCH_UPSTREAM;
if (!upstream) {
  process.stderr.write("bare-proxy: set BENCH_UPSTREAM\n");
  process.exit(2);
}

const FORWARD = ["content-type", "accept", "authorization", "x-api-key", "anthropic-version"];

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.BENCH_PROXY_PORT ?? 0),
  idleTimeout: 0,
  async fetch(req, srv) {
    srv.timeout(req, 0);
    const url = req.url;
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    // Answered here, like lmrelay's: the benchmark probes it for event-loop lag under load.
    if (path === "/healthz") return new Response("ok");
    const headers: Record<string, string> = {};
    for (const name of FORWARD) {
      const v = req.headers.get(name);
      if (v !== null) headers[name] = v;
    }
    try {
      const up = await fetch(upstream + path, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        signal: req.signal,
      });
      return new Response(up.body, { status: up.status, headers: { "content-type": up.headers.get("content-type") ?? "application/octet-stream" } });
    } catch (e) {
      return new Response(`bare-proxy: ${(e as Error).message}`, { status: 502 });
    }
  },
});

process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
