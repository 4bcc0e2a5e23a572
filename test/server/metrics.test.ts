import { describe, expect, test } from "bun:test";
import { Metrics } from "../../src/server/metrics";
import type { RequestRow } from "../../src/store/schema";

const base: RequestRow = {
  ts: 0,
  requestId: "r",
  protocol: "openai",
  endpoint: "/v1/chat/completions",
  client: "app",
  provider: "oa",
  model: "gpt-4o",
  status: 200,
  latencyMs: 300,
  ttftMs: 120,
  inputTokens: 10,
  outputTokens: 5,
  cachedTokens: 4,
  costUsd: 0.25,
};

/** Parses the exposition into `name{labels}` → value, checking every line's shape. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    expect(m).not.toBeNull();
    out.set(m![1]!, m![2] === "+Inf" ? Infinity : Number(m![2]));
  }
  return out;
}

describe("Metrics", () => {
  test("counters and histograms from audit rows, labelled by provider, model, client and status", () => {
    const m = new Metrics();
    m.observe(base, [
      { outcome: "failed", provider: "cl", model: "claude", status: 529 },
      { outcome: "skipped", provider: "x", model: "y", status: 0 },
      { outcome: "served", provider: "oa", model: "gpt-4o", status: 200 },
    ]);
    m.observe({ ...base, status: 429, provider: null, model: null, latencyMs: 1, ttftMs: null, inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 }, []);
    const v = parse(m.render());
    expect(v.get('lmrelay_requests_total{protocol="openai",client="app",provider="oa",model="gpt-4o",status="200"}')).toBe(1);
    expect(v.get('lmrelay_requests_total{protocol="openai",client="app",provider="",model="",status="429"}')).toBe(1);
    expect(v.get('lmrelay_request_duration_seconds_bucket{provider="oa",model="gpt-4o",client="app",le="0.25"}')).toBe(0);
    expect(v.get('lmrelay_request_duration_seconds_bucket{provider="oa",model="gpt-4o",client="app",le="0.5"}')).toBe(1);
    expect(v.get('lmrelay_request_duration_seconds_bucket{provider="oa",model="gpt-4o",client="app",le="+Inf"}')).toBe(1);
    expect(v.get('lmrelay_request_duration_seconds_sum{provider="oa",model="gpt-4o",client="app"}')).toBe(0.3);
    expect(v.get('lmrelay_time_to_first_token_seconds_count{provider="oa",model="gpt-4o",client="app"}')).toBe(1);
    expect(v.get('lmrelay_tokens_total{provider="oa",model="gpt-4o",client="app",type="input"}')).toBe(10);
    expect(v.get('lmrelay_tokens_total{provider="oa",model="gpt-4o",client="app",type="output"}')).toBe(5);
    expect(v.get('lmrelay_tokens_total{provider="oa",model="gpt-4o",client="app",type="cached"}')).toBe(4);
    expect(v.get('lmrelay_cost_usd_total{provider="oa",model="gpt-4o",client="app"}')).toBe(0.25);
    expect(v.get('lmrelay_upstream_attempts_total{provider="cl",model="claude",status="529"}')).toBe(1);
    expect(v.get('lmrelay_upstream_attempts_total{provider="oa",model="gpt-4o",status="200"}')).toBe(1);
    expect(v.has('lmrelay_upstream_attempts_total{provider="x",model="y",status="0"}')).toBe(false);
    expect(v.get('lmrelay_failovers_total{provider="cl",model="claude",status="529"}')).toBe(1);
    expect(v.has('lmrelay_failovers_total{provider="oa",model="gpt-4o",status="200"}')).toBe(false);
  });

  test("gauges are read at scrape time; label values are escaped; a failing source is skipped", () => {
    const m = new Metrics();
    let n = 1;
    m.gauge("lmrelay_in_flight", "now", () => n);
    m.gauge("lmrelay_weird", "escapes", () => [{ labels: { client: 'a"b\\c\nd' }, value: 2 }]);
    m.gauge("lmrelay_broken", "throws", () => {
      throw new Error("boom");
    });
    n = 7;
    const text = m.render();
    expect(text).toContain("# TYPE lmrelay_in_flight gauge\nlmrelay_in_flight 7\n");
    expect(text).toContain('lmrelay_weird{client="a\\"b\\\\c\\nd"} 2');
    expect(text).not.toContain("lmrelay_broken");
  });
});
