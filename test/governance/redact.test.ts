import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve";
import { fingerprint } from "../../src/core/secrets";
import { redactProblems } from "../../src/core/redact-rules";
import { REDACTED, Redactor, redactorFor } from "../../src/governance/redact";

describe("Redactor", () => {
  test("field names are redacted at any depth, case-insensitively", () => {
    const r = new Redactor(["content", "User"], []);
    const body = JSON.stringify({ model: "m", user: "alice", messages: [{ role: "user", content: "secret plans" }] });
    expect(JSON.parse(r.body(body))).toEqual({ model: "m", user: REDACTED, messages: [{ role: "user", content: REDACTED }] });
  });

  test("/regex/ entries mask matches in every string", () => {
    const r = new Redactor(["/[\\w.]+@[\\w.]+/"], []);
    expect(r.body('{"q":"mail bob@example.com or eve@x.org"}')).toBe(`{"q":"mail ${REDACTED} or ${REDACTED}"}`);
    expect(r.text("plain bob@example.com")).toBe(`plain ${REDACTED}`);
  });

  test("stream bodies are redacted line by line (SSE data lines and NDJSON)", () => {
    const r = new Redactor(["content"], []);
    const sse = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n';
    expect(r.body(sse)).toBe(`data: {"choices":[{"delta":{"content":"${REDACTED}"}}]}\n\ndata: [DONE]\n\n`);
    const nd = '{"message":{"content":"a"}}\n{"message":{"content":"b"},"done":true}\n';
    expect(r.body(nd)).toBe(`{"message":{"content":"${REDACTED}"}}\n{"message":{"content":"${REDACTED}"},"done":true}\n`);
  });

  test("secrets are replaced by their fingerprints whatever else is configured", () => {
    const r = new Redactor([], ["sk-live-abcdef123456"]);
    expect(r.body('{"note":"my key is sk-live-abcdef123456"}')).toBe(`{"note":"my key is ${fingerprint("sk-live-abcdef123456")}"}`);
  });

  test("a config's redactor knows every upstream, client and admin key", () => {
    const cfg = resolveConfig({
      admin: { key: "admin-key-999" },
      providers: { oa: { type: "openai", keys: ["sk-up-111111"] } },
      clients: { app: { key: "client-key-222" } },
    });
    const text = redactorFor(cfg).text("sk-up-111111 client-key-222 admin-key-999");
    expect(text).not.toContain("sk-up-111111");
    expect(text).not.toContain("client-key-222");
    expect(text).not.toContain("admin-key-999");
  });

  test("invalid regular expressions are config problems", () => {
    expect(redactProblems(["content", "/ok/i", "/(unclosed/"])).toEqual([{ path: "audit.redact[2]", message: expect.stringContaining("not a valid regular expression") }]);
  });
});
