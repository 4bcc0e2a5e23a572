import { expect, test } from "bun:test";
import { ConfigError, resolveConfig } from "../../src/config/resolve";

// `responses.retentionDays`: how long stored Responses API answers are kept (SPEC §2, default 30).

const base = { providers: { echo: { type: "echo" as const } } };

test("defaults to 30 days; a set value is taken", () => {
  expect(resolveConfig(base).responses).toEqual({ retentionDays: 30 });
  expect(resolveConfig({ ...base, responses: { retentionDays: 7 } }).responses).toEqual({ retentionDays: 7 });
});

test("zero, negative, a string or an unknown field is a config error naming the field", () => {
  for (const responses of [{ retentionDays: 0 }, { retentionDays: -1 }, { retentionDays: "30" }, { retainDays: 30 }]) {
    let err: unknown;
    try {
      resolveConfig({ ...base, responses });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]!.path).toStartWith("responses.");
  }
});
