import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveConfig } from "../../src/config/resolve";
import { GatewayError } from "../../src/core/errors";
import { HealthStore } from "../../src/health/store";
import { HealthTracker } from "../../src/health/tracker";
import { openDatabase } from "../../src/store/db";

// Health persisted in SQLite: what one process learned is there after a restart (a cooled key
// stays cooled), providers and keys that left the config are not restored, and a reload's removals
// are deleted from the file.

const dir = mkdtempSync(path.join(tmpdir(), "lmrelay-health-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (keys = ["key-1", "key-2"]) =>
  resolveConfig({
    providers: {
      p: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", keys, models: ["m"] },
      q: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: ["m"] },
    },
    health: { failureThreshold: 2, cooldownMs: 60_000, probeIntervalMs: 0 },
  });

describe("HealthStore", () => {
  test("cooldowns, circuit state and EWMAs survive a restart", () => {
    const file = path.join(dir, "a.db");
    const cfg = config();
    const [k1, k2] = cfg.providers.get("p")!.keys;
    const first = new HealthTracker(cfg);
    let db = openDatabase(file);
    let store = new HealthStore(db, first);
    first.recordSuccess("p", k1, "m", 120, 80);
    first.recordFailure("p", k2, "m", "rate_limited", new GatewayError("rate_limited", "p: slow down", { status: 429, retryAfterMs: 600_000 }));
    first.recordFailure("q", undefined, "m", "failure", new GatewayError("upstream_error", "q: boom", { status: 500 }));
    first.recordFailure("q", undefined, "m", "failure", new GatewayError("upstream_error", "q: boom", { status: 500 }));
    first.recordFailure("p", k1, "m", "auth", new GatewayError("authentication", "p: bad key", { status: 401 }));
    store.stop();
    db.$client.close();

    const second = new HealthTracker(config());
    db = openDatabase(file);
    store = new HealthStore(db, second);
    expect(store.load()).toBeGreaterThanOrEqual(4);
    expect(second.keyBlock("p", k2, "m")).toMatchObject({ kind: "rate_limited" });
    expect(second.providerBlock("q")).toMatchObject({ kind: "failing" });
    const e = second.get("p", k1!.fingerprint, "m")!;
    expect(e.latencyMs).toBe(120);
    expect(e.ttftMs).toBe(80);
    expect(e.samples).toBe(1);
    // A 401 disables a key until the config is loaded again — a restart is such a load.
    expect(second.keyBlock("p", k1, "m")).toBeUndefined();
    db.$client.close();
  });

  test("records of keys no longer configured are not restored; a reload deletes them from the file", () => {
    const file = path.join(dir, "b.db");
    const cfg = config();
    const [k1, k2] = cfg.providers.get("p")!.keys;
    const tracker = new HealthTracker(cfg);
    const db = openDatabase(file);
    const store = new HealthStore(db, tracker);
    tracker.recordSuccess("p", k1, "m", 10);
    tracker.recordSuccess("p", k2, "m", 10);
    store.flush();
    const rows = () => db.$client.query("SELECT key_fp FROM health WHERE provider = 'p' AND model = 'm' ORDER BY key_fp").all() as { key_fp: string }[];
    expect(rows()).toHaveLength(2);

    const fresh = new HealthTracker(config(["key-2"]));
    expect(new HealthStore(db, fresh).load()).toBe(1);
    expect(fresh.get("p", k1!.fingerprint, "m")).toBeUndefined();

    tracker.adopt(config(["key-2"]));
    store.flush();
    expect(rows().map((r) => r.key_fp)).toEqual([k2!.fingerprint]);
    // Only fingerprints are stored, never a key.
    const bytes = JSON.stringify(db.$client.query("SELECT * FROM health").all());
    expect(bytes).not.toContain("key-1");
    expect(bytes).not.toContain("key-2");
    store.stop();
    db.$client.close();
  });
});
