import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LmrelayConfig, RouteCandidate, RouteRequest } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway } from "../helpers/gateway";
import { auditRows, chat, memoryLogger, servedBy, withGateway } from "./support";

// Health and strategies through the real server: a half-open probe brings a provider back, health
// survives a restart, the cost and latency strategies choose as specified, route() filters and
// reorders, and a route() that throws is reported and bypassed.

let a: OpenAIFake;
let b: OpenAIFake;
const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-router-"));

beforeAll(async () => {
  [a, b] = await Promise.all([startOpenAIFake(), startOpenAIFake()]);
});

afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const M = "gpt-4o-mini";
const oa = (url: string, extra: Record<string, unknown> = {}) => ({ type: "openai" as const, baseUrl: `${url}/v1`, keys: ["sk-test"], models: [M], ...extra });
const chatsTo = (f: OpenAIFake) => f.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
const modelsTo = (f: OpenAIFake) => f.requests.filter((r) => r.path.endsWith("/models")).length;

describe("circuit breaker and probes", () => {
  test("a provider whose circuit opened is probed (cheap model list) and brought back by a successful probe", async () => {
    const config: LmrelayConfig = {
      providers: { a: oa(a.url, { priority: 1 }), b: oa(b.url) },
      routing: { strategy: "priority" },
      health: { probeIntervalMs: 100, failureThreshold: 2, cooldownMs: 60_000 },
    };
    await withGateway(config, async (gw) => {
      // The first probe rounds fail too (a is down, model list included), then a recovers.
      a.fail({ kind: "status", status: 500 }, { kind: "status", status: 500 }, { kind: "status", status: 500 });
      expect(servedBy(await chat(gw, M))).toBe("b");
      expect(servedBy(await chat(gw, M))).toBe("b");
      expect(gw.runtime.health.providerBlock("a")).toMatchObject({ kind: "failing" });
      const listsBefore = modelsTo(a);
      // Cooldown is a minute, so only a probe can close the circuit this soon.
      for (let i = 0; i < 50 && gw.runtime.health.providerBlock("a"); i++) await Bun.sleep(20);
      expect(gw.runtime.health.providerBlock("a")).toBeUndefined();
      expect(modelsTo(a)).toBeGreaterThan(listsBefore);
      // Traffic comes back gradually (ramp-up): a gets some requests again, not necessarily all.
      const before = chatsTo(a);
      for (let i = 0; i < 200 && chatsTo(a) === before; i++) await (await chat(gw, M)).arrayBuffer();
      expect(chatsTo(a)).toBeGreaterThan(before);
    });
  });

  test("healthy providers are not probed", async () => {
    await withGateway({ providers: { a: oa(a.url), b: oa(b.url) }, health: { probeIntervalMs: 50 } }, async (gw) => {
      const before = modelsTo(a) + modelsTo(b);
      await (await chat(gw, `a/${M}`)).arrayBuffer();
      await Bun.sleep(250);
      expect(modelsTo(a) + modelsTo(b)).toBe(before);
    });
  });
});

describe("health survives a restart", () => {
  test("a cooled key stays cooled and a failing provider stays demoted after a restart (file database)", async () => {
    const storage = { path: path.join(dir, "restart.db") };
    const config: LmrelayConfig = {
      storage,
      providers: { a: oa(a.url), b: oa(b.url) },
      routing: { strategy: "health", explainHeader: true },
      health: { probeIntervalMs: 0, failureThreshold: 5, cooldownMs: 60_000 },
      models: { pair: [`a/${M}`, `b/${M}`] },
    };
    const first = await startGateway(config);
    a.fail({ kind: "status", status: 429, body: { error: { message: "slow down", type: "requests" } }, headers: { "retry-after": "600" } });
    expect(servedBy(await chat(first, "pair"))).toBe("b");
    await first.stop();

    const second = await startGateway(config);
    try {
      const before = chatsTo(a);
      const res = await chat(second, "pair");
      expect(servedBy(res)).toBe("b");
      expect(res.headers.get("x-lmrelay-route")).toMatch(/skipped=a\/gpt-4o-mini rate-limited \(429\) until /);
      expect(chatsTo(a)).toBe(before);
      const row = second.runtime.health.get("a", resolveConfig(config).providers.get("a")!.keys[0]!.fingerprint, M);
      expect(row?.lastStatus).toBe(429);
    } finally {
      await second.stop();
    }
  });
});

describe("config reload", () => {
  test("health of what still exists carries over; a key disabled by a 401 gets another chance", async () => {
    const config: LmrelayConfig = {
      providers: { a: oa(a.url, { keys: [{ key: "sk-bad-0001", name: "bad" }, { key: "sk-test", name: "good" }] }), b: oa(b.url) },
      health: { probeIntervalMs: 0 },
    };
    await withGateway(config, async (gw) => {
      const usedBad = () => a.requests.filter((r) => r.headers.authorization === "Bearer sk-bad-0001").length;
      const bad0 = usedBad();
      expect(servedBy(await chat(gw, `a/${M}`))).toBe("a");
      expect(servedBy(await chat(gw, `a/${M}`))).toBe("a");
      expect(usedBad() - bad0).toBe(1);
      b.fail({ kind: "status", status: 429, headers: { "retry-after": "600" } });
      expect((await chat(gw, `b/${M}`)).status).toBe(429);
      expect(gw.runtime.health.keyBlock("b", resolveConfig(config).providers.get("b")!.keys[0], M)).toBeDefined();

      await gw.runtime.reload(resolveConfig({ ...config, storage: { path: ":memory:" } }));
      const bNow = gw.runtime.config.providers.get("b")!;
      expect(gw.runtime.health.keyBlock("b", bNow.keys[0], M)).toMatchObject({ kind: "rate_limited" });
      const res = await chat(gw, `b/${M}`);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).not.toBeNull();
      // The bad key is tried again after the reload (and disabled again).
      await (await chat(gw, `a/${M}`)).arrayBuffer();
      await (await chat(gw, `a/${M}`)).arrayBuffer();
      expect(usedBad() - bad0).toBe(2);
    });
  });
});

describe("strategies choose as specified", () => {
  test("cost: the cheapest estimate serves; free beats priced", async () => {
    const config: LmrelayConfig = {
      providers: {
        dear: oa(a.url, { pricing: { [M]: { input: 5, output: 15 } } }),
        cheap: oa(b.url, { pricing: { [M]: { input: 0.1, output: 0.4 } } }),
      },
      routing: { strategy: "cost" },
      health: { probeIntervalMs: 0 },
    };
    await withGateway(config, async (gw) => {
      for (let i = 0; i < 5; i++) expect(servedBy(await chat(gw, M))).toBe("cheap");
    });
    const withFree = { ...config, providers: { ...config.providers, gratis: oa(a.url, { free: true }) } };
    await withGateway(withFree, async (gw) => expect(servedBy(await chat(gw, M))).toBe("gratis"));
  });

  test("latency: after measuring both, the provider with the faster first token gets nearly all requests", async () => {
    const config: LmrelayConfig = { providers: { slow: oa(a.url), fast: oa(b.url) }, routing: { strategy: "latency" }, health: { probeIntervalMs: 0 } };
    a.fail(...Array.from({ length: 60 }, () => ({ kind: "delay" as const, ms: 60 })));
    await withGateway(config, async (gw) => {
      const served: string[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await chat(gw, M, { stream: true });
        await res.text();
        served.push(servedBy(res)!);
      }
      // The first two requests measure both (unmeasured candidates go first).
      expect(new Set(served.slice(0, 2))).toEqual(new Set(["slow", "fast"]));
      expect(served.slice(2).filter((s) => s === "fast").length).toBeGreaterThanOrEqual(33);
    });
  });

  test("an alias without a strategy keeps its written order; with one, its own strategy", async () => {
    const config: LmrelayConfig = {
      providers: { a: oa(a.url, { pricing: { [M]: { input: 9, output: 9 } } }), b: oa(b.url, { pricing: { [M]: { input: 1, output: 1 } } }) },
      models: { written: [`a/${M}`, `b/${M}`], thrifty: { targets: [`a/${M}`, `b/${M}`], strategy: "cost" } },
      routing: { strategy: "cost" },
      health: { probeIntervalMs: 0 },
    };
    await withGateway(config, async (gw) => {
      expect(servedBy(await chat(gw, "written"))).toBe("a");
      expect(servedBy(await chat(gw, "thrifty"))).toBe("b");
    });
  });
});

describe("routing.route()", () => {
  test("filters and reorders with what it is given (request summary, health, cost, free)", async () => {
    const seen: { req?: RouteRequest; candidates?: RouteCandidate[] } = {};
    const config: LmrelayConfig = {
      providers: { a: oa(a.url), b: oa(b.url, { free: true }) },
      routing: {
        explainHeader: true,
        route(req, candidates) {
          seen.req = req;
          seen.candidates = candidates;
          if (req.headers["x-team"] === "batch") return candidates.filter((c) => c.free);
          return [...candidates].reverse();
        },
      },
      health: { probeIntervalMs: 0 },
    };
    await withGateway(config, async (gw) => {
      const res = await chat(gw, M, { maxTokens: 64 });
      expect(servedBy(res)).toBe("b");
      expect(seen.req).toMatchObject({ model: M, protocol: "openai", stream: false, tools: false, images: false, maxTokens: 64 });
      expect(seen.req!.promptTokens).toBeGreaterThan(0);
      expect(seen.candidates!.map((c) => [c.provider, c.free])).toEqual([
        ["a", false],
        ["b", true],
      ]);
      expect(seen.candidates![0]!.health).toEqual({ score: 1, latencyMs: 0, ttftMs: 0, errorRate: 0, coolingDown: false });
      expect(seen.candidates![0]!.cost.input).toBe(0.15);
      const batch = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-team": "batch" },
        body: JSON.stringify({ model: M, messages: [{ role: "user", content: "hi" }] }),
      });
      expect(servedBy(batch)).toBe("b");
      expect(batch.headers.get("x-lmrelay-route")).toContain("skipped=a/gpt-4o-mini route()");
    });
  });

  test("route() returning nothing: 503 naming route() as the reason", async () => {
    const config: LmrelayConfig = { providers: { a: oa(a.url) }, routing: { route: () => [] }, health: { probeIntervalMs: 0 } };
    await withGateway(config, async (gw) => {
      const res = await chat(gw, M);
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.message).toContain("a/gpt-4o-mini: skipped, route()");
    });
  });

  test("route() that throws: the error is logged clearly and the default order serves the request", async () => {
    const log = memoryLogger();
    const config: LmrelayConfig = {
      providers: { a: oa(a.url), b: oa(b.url) },
      routing: {
        explainHeader: true,
        route() {
          throw new Error("oops in my routing rule");
        },
      },
      health: { probeIntervalMs: 0 },
    };
    await withGateway(
      config,
      async (gw) => {
        const res = await chat(gw, M);
        expect(res.status).toBe(200);
        expect(servedBy(res)).toBe("a");
        expect(res.headers.get("x-lmrelay-route")).toContain("note=routing.route() threw: oops in my routing rule  default order used");
        const line = log.lines.find((l) => l.level === "error" && l.msg.includes("routing.route() threw"));
        expect(line?.msg).toBe("routing.route() threw: oops in my routing rule; using the default order (logged once for this config; later failures are counted)");
        expect(line?.fields?.requestId).toBeString();
        expect(auditRows(gw).at(-1)!.status).toBe(200);
      },
      { log },
    );
  });
});
