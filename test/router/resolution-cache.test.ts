import { afterAll, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { Catalog } from "../../src/router/catalog";
import { resolveCandidates } from "../../src/router/candidates";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";

// Resolutions are built once per model name and reused; a config reload or a refreshed model
// list must never serve a stale one.

const models = ["alpha"];
let fake: OpenAIFake | undefined;
afterAll(() => fake?.stop());

const chain = (config: ReturnType<typeof resolveConfig>, catalog: Catalog, name: string) =>
  resolveCandidates(config, catalog, name).candidates.map((c) => `${c.provider.id}/${c.model}`);

test("a resolution is reused for the same name, and rebuilt after a discovery refresh or a new config", async () => {
  fake = await startOpenAIFake({ models });
  const config = resolveConfig({ providers: { up: { type: "openai-compatible", baseUrl: `${fake.url}/v1`, keys: ["sk-test"] } }, models: { all: ["up/*"] } });
  const catalog = new Catalog();
  await catalog.load(config, { wait: true });
  catalog.stop();
  const first = resolveCandidates(config, catalog, "all");
  expect(resolveCandidates(config, catalog, "all")).toBe(first);
  expect(chain(config, catalog, "all")).toEqual(["up/alpha"]);
  expect(() => resolveCandidates(config, catalog, "beta")).toThrow(/not known/);

  // The upstream now lists a second model; the refresh makes it routable at once.
  models.push("beta");
  await catalog.refresh();
  expect(chain(config, catalog, "all")).toEqual(["up/alpha", "up/beta"]);
  expect(chain(config, catalog, "beta")).toEqual(["up/beta"]);

  // A reloaded config with an alias of the same name but other targets.
  const next = resolveConfig({ providers: { up: { type: "openai-compatible", baseUrl: `${fake.url}/v1`, keys: ["sk-test"], models: ["gamma"] } }, models: { all: ["up/gamma"] } });
  await catalog.load(next, { wait: true });
  catalog.stop();
  expect(chain(next, catalog, "all")).toEqual(["up/gamma"]);
  expect(() => resolveCandidates(next, catalog, "beta")).toThrow(/not known/);
});
