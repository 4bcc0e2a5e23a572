import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { startAnthropicFake, FAKE_ANTHROPIC_KEY, type AnthropicFake } from "../fakes/anthropic";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { CLIENTS, sdkClient, sdkFails } from "../helpers/sdk-clients";
import { auditRows, withGateway } from "./support";

// SPEC §5 failure semantics through the real server, in every original client protocol (official
// OpenAI, Anthropic and Ollama SDKs), stream and not: an upstream redirect is a failed attempt and is
// never relayed or followed; an upstream's 401/403 never reaches the client as the client's own
// authentication error.

let a: OpenAIFake;
let b: OpenAIFake;
/** Where the redirecting upstream points: it must never be asked anything. */
let canary: OpenAIFake;
let claude: AnthropicFake;

beforeAll(async () => {
  [a, b, canary, claude] = await Promise.all([startOpenAIFake(), startOpenAIFake(), startOpenAIFake(), startAnthropicFake()]);
  b.reply({ text: "from b" });
});

afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), canary.stop(), claude.stop()]);
});

const M = "gpt-4o-mini";
const oa = (url: string, keys: string[] = ["sk-test"]) => ({ type: "openai" as const, baseUrl: `${url}/v1`, keys, models: [M] });

function config(providers: LmrelayConfig["providers"] = {}): LmrelayConfig {
  return {
    providers: { a: oa(a.url), b: oa(b.url), ...providers },
    models: { chain: [`a/${M}`, `b/${M}`], solo: [`a/${M}`] },
    health: { probeIntervalMs: 0, failureThreshold: 50, cooldownMs: 60_000 },
  };
}

const redirect = () => ({ kind: "status" as const, status: 302, body: "", headers: { location: `${canary.url}/v1/chat/completions` } });

describe("an upstream 3xx is a failed attempt, never relayed, never followed", () => {
  for (const name of CLIENTS)
    for (const stream of [false, true])
      test(`${name} client, ${stream ? "stream" : "non-stream"}`, async () => {
        await withGateway(config(), async (gw) => {
          const client = sdkClient(name, gw.url);
          // With another candidate: it serves, and the audit row says where a pointed.
          a.fail(redirect());
          const answer = await client.chat({ model: "chain", stream });
          expect(answer.text).toBe("from b");
          expect(answer.headers.get("x-lmrelay-provider")).toBe("b");
          expect(answer.headers.get("x-lmrelay-attempts")).toBe("2");
          const row = auditRows(gw).at(-1)!;
          expect(row.attempts.map((x: any) => [x.outcome, x.provider, x.status])).toEqual([
            ["failed", "a", 502],
            ["served", "b", 200],
          ]);
          expect(row.attempts[0].error).toContain(`a: answered 302 redirecting to ${canary.url}/v1/chat/completions`);
          // Alone: the client gets a 502 naming the Location, not the 302.
          a.fail(redirect());
          const failure = await sdkFails(client, { model: "solo", stream });
          expect(failure.status).toBe(502);
          expect(failure.message).toContain(`302 redirecting to ${canary.url}/v1/chat/completions`);
          expect(canary.requests).toHaveLength(0);
        });
      });
});

describe("an upstream 401/403 is never the client's own authentication error", () => {
  for (const name of CLIENTS)
    test(`${name} client: the key is disabled and the request moves on; with nothing left, 502 then 503 "rejected its key"`, async () => {
      await withGateway(config({ a: oa(a.url, ["sk-revoked-0001"]) }), async (gw) => {
        const client = sdkClient(name, gw.url);
        const before = a.requests.length;
        // The fake answers a key it does not know with OpenAI's own 401.
        const moved = await client.chat({ model: "chain", stream: false });
        expect(moved.text).toBe("from b");
        expect(a.requests.length).toBe(before + 1);
        // a's only key is disabled now: the chain skips it without asking.
        expect((await client.chat({ model: "chain", stream: true })).text).toBe("from b");
        expect(a.requests.length).toBe(before + 1);
      });
      await withGateway(config({ a: oa(a.url, ["sk-revoked-0001"]) }), async (gw) => {
        const client = sdkClient(name, gw.url);
        const first = await sdkFails(client, { model: "solo", stream: name !== "anthropic" });
        expect(first.status).toBe(502);
        // Retrying cannot help until the config reloads: SDKs (and Claude Code) are told so.
        if (name !== "ollama") expect(first.headers!.get("x-should-retry")).toBe("false");
        expect(first.message).toStartWith("lmrelay: upstream a rejected its key");
        expect(first.message).toContain("401");
        if (name !== "ollama") expect(first.type).not.toMatch(/authentication|permission|invalid_api_key/);
        const again = await sdkFails(client, { model: "solo", stream: false });
        expect(again.status).toBe(503);
        expect(again.message).toStartWith("lmrelay: upstream a rejected its key");
        expect(again.message).toContain("key disabled until reload (401)");
        if (name !== "ollama") expect(again.type).not.toMatch(/authentication|permission|invalid_api_key/);
      });
    });

  test("a 403 too, and a single upstream's own auth answer never comes back as it was", async () => {
    for (const name of CLIENTS)
      await withGateway(config(), async (gw) => {
        a.fail({ kind: "status", status: 403, body: { error: { message: "Project does not have access to model", type: "invalid_request_error", code: "model_not_found" } } });
        const failure = await sdkFails(sdkClient(name, gw.url), { model: "solo", stream: false });
        expect(failure.status).toBe(502);
        expect(failure.message).toStartWith("lmrelay: upstream a rejected its key: ");
        expect(failure.message).toContain("403 a: Project does not have access to model");
        if (name === "anthropic") expect(failure.type).toBe("api_error");
        if (name === "openai") expect(failure.type).not.toBe("permission_error");
      });
  });

  test("an authentication error an upstream sends inside its stream reaches no client as its own", async () => {
    const cfg = { ...config(), providers: { ...config().providers, claude: { type: "anthropic" as const, baseUrl: claude.url, keys: [FAKE_ANTHROPIC_KEY], models: ["claude-haiku-4-5"] } } };
    claude.reply({ midStreamError: { type: "authentication_error", message: "invalid x-api-key" } });
    // A gateway each: the rejection disables the one key.
    for (const name of CLIENTS)
      await withGateway(cfg, async (gw) => {
        const failure = await sdkFails(sdkClient(name, gw.url), { model: "claude/claude-haiku-4-5", stream: true });
        expect(failure.message).toContain("upstream claude rejected its key");
        expect(failure.message).toContain("invalid x-api-key");
        expect(failure.status).not.toBe(401);
        if (name !== "ollama") expect(failure.type ?? "").not.toMatch(/authentication|permission|invalid_api_key/);
        const key = gw.runtime.config.providers.get("claude")!.keys[0]!;
        expect(gw.runtime.health.keyBlock("claude", key, "claude-haiku-4-5")?.kind).toBe("disabled");
      });
    claude.reply({});
  });
});
