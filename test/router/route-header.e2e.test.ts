import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { CLIENTS, sdkClient, sdkFailure } from "../helpers/sdk-clients";
import { auditRows, withGateway } from "./support";

// `x-lmrelay-route` names provider ids, key names and other providers' failures: a client sees it
// only when the config says so (`routing.explainHeader`) or its request carries the admin key
// (`x-lmrelay-admin-key`, or as its own key on an open gateway). `x-lmrelay-provider`, `-model` and
// `-attempts` are always sent, and the audit row always keeps the whole explanation. Checked in
// every original client protocol through its official SDK.

let a: OpenAIFake;
let b: OpenAIFake;

beforeAll(async () => {
  [a, b] = await Promise.all([startOpenAIFake(), startOpenAIFake()]);
});

afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

const M = "gpt-4o-mini";
const ADMIN = "admin-key-for-route-tests";
const CLIENT = "client-key-for-route-tests";
const oa = (url: string) => ({ type: "openai" as const, baseUrl: `${url}/v1`, keys: [{ key: "sk-test", name: "team" }], models: [M] });

function config(extra: Partial<LmrelayConfig> = {}): LmrelayConfig {
  return {
    providers: { a: oa(a.url), b: oa(b.url) },
    models: { chain: [`a/${M}`, `b/${M}`] },
    admin: { key: ADMIN },
    health: { probeIntervalMs: 0, failureThreshold: 50, cooldownMs: 60_000 },
    ...extra,
  };
}

const boom = { kind: "status" as const, status: 500, body: { error: { message: "boom", type: "server_error" } } };

describe("x-lmrelay-route", () => {
  for (const name of CLIENTS)
    test(`${name} client: hidden by default, shown with the admin key, never for a wrong one`, async () => {
      await withGateway(config(), async (gw) => {
        const client = sdkClient(name, gw.url);
        a.fail(boom);
        const plain = await client.chat({ model: "chain", stream: false });
        expect(plain.headers.get("x-lmrelay-route")).toBeNull();
        expect(plain.headers.get("x-lmrelay-provider")).toBe("b");
        expect(plain.headers.get("x-lmrelay-model")).toBe(M);
        expect(plain.headers.get("x-lmrelay-attempts")).toBe("2");
        // The audit row keeps what the header would have said.
        expect(auditRows(gw).at(-1)!.attempts.map((x: any) => [x.outcome, x.provider, x.key])).toEqual([
          ["failed", "a", "team"],
          ["served", "b", "team"],
        ]);
        a.fail(boom);
        const wrong = await client.chat({ model: "chain", stream: true, headers: { "x-lmrelay-admin-key": `${ADMIN}x` } });
        expect(wrong.headers.get("x-lmrelay-route")).toBeNull();
        a.fail(boom);
        const admin = await client.chat({ model: "chain", stream: true, headers: { "x-lmrelay-admin-key": ADMIN } });
        expect(admin.headers.get("x-lmrelay-route")).toMatch(/^served=b\/gpt-4o-mini\[team\]; failed=a\/gpt-4o-mini\[team\] 500 server_error$/);
      });
    });

  for (const name of CLIENTS)
    test(`${name} client: with client keys, the admin key rides in x-lmrelay-admin-key; routing.explainHeader shows it to everyone`, async () => {
      await withGateway(config({ clients: { app: { key: CLIENT } } }), async (gw) => {
        const client = sdkClient(name, gw.url, CLIENT);
        expect((await client.chat({ model: "chain", stream: false })).headers.get("x-lmrelay-route")).toBeNull();
        const admin = await client.chat({ model: "chain", stream: false, headers: { "x-lmrelay-admin-key": ADMIN } });
        expect(admin.headers.get("x-lmrelay-route")).toBe("served=a/gpt-4o-mini[team]");
      });
      await withGateway(config({ routing: { explainHeader: true } }), async (gw) => {
        const answer = await sdkClient(name, gw.url).chat({ model: "chain", stream: true });
        expect(answer.headers.get("x-lmrelay-route")).toBe("served=a/gpt-4o-mini[team]");
      });
    });

  test("a routing error: the same rule for its headers", async () => {
    await withGateway(config({ models: { solo: [`a/${M}`] } }), async (gw) => {
      for (const [headers, shown] of [
        [{}, false],
        [{ "x-lmrelay-admin-key": ADMIN }, true],
      ] as const) {
        a.fail(boom);
        try {
          await sdkClient("openai", gw.url).chat({ model: "solo", stream: false, headers });
          throw new Error("expected a failure");
        } catch (e) {
          expect(sdkFailure(e).status).toBe(500);
          const got = (e as { headers?: Headers }).headers!;
          expect(got.get("x-lmrelay-attempts")).toBe("1");
          expect(got.get("x-lmrelay-route")).toBe(shown ? "failed=a/gpt-4o-mini[team] 500 server_error" : null);
        }
      }
    });
  });
});
