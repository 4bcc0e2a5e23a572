import { expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { jsonPostHeaders } from "../../src/upstream/headers";
import { openaiRoutes } from "../../src/upstream/openai/adapter";

// Upstream request headers are built once per provider, key and accept, then reused by every
// attempt; a reload (new resolved objects) builds them again.

function providerOf(headers?: Record<string, string>) {
  const config = resolveConfig({
    storage: { path: ":memory:" },
    providers: { up: { type: "openai", baseUrl: "http://127.0.0.1:9/v1", keys: [{ key: "sk-test-headers-1", name: "one" }], headers } },
  });
  const provider = config.providers.get("up")!;
  return { provider, key: provider.keys[0]! };
}

test("built once per provider, key and accept; the key's auth and the provider's headers on top", () => {
  const { provider, key } = providerOf({ "x-org": "acme", accept: "application/x-custom" });
  const json = jsonPostHeaders(provider, key, "application/json", openaiRoutes.auth, "openai");
  expect(json).toEqual({ "content-type": "application/json", accept: "application/x-custom", authorization: "Bearer sk-test-headers-1", "x-org": "acme" });
  expect(jsonPostHeaders(provider, key, "application/json", openaiRoutes.auth, "openai")).toBe(json);
  expect(Object.isFrozen(json)).toBe(true);
  const keyless = jsonPostHeaders(provider, undefined, "text/event-stream", openaiRoutes.auth, "openai");
  expect(keyless).toEqual({ "content-type": "application/json", accept: "application/x-custom", "x-org": "acme" });
});

test("stream and non-stream differ; another tag (auth) and a reloaded config get their own", () => {
  const { provider, key } = providerOf();
  const json = jsonPostHeaders(provider, key, "application/json", openaiRoutes.auth, "openai");
  const sse = jsonPostHeaders(provider, key, "text/event-stream", openaiRoutes.auth, "openai");
  expect(json.accept).toBe("application/json");
  expect(sse.accept).toBe("text/event-stream");
  const other = jsonPostHeaders(provider, key, "application/json", (k) => ({ "api-key": k!.secret }), "azure");
  expect(other).toEqual({ "content-type": "application/json", accept: "application/json", "api-key": "sk-test-headers-1" });
  const reloaded = providerOf();
  const again = jsonPostHeaders(reloaded.provider, reloaded.key, "application/json", openaiRoutes.auth, "openai");
  expect(again).toEqual(json);
  expect(again).not.toBe(json);
});
