import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { connectPostgres, type PgDb } from "../../src/store/postgres/db";
import { PostgresResponseStore } from "../../src/store/postgres/responses";
import { freshDatabase } from "../cluster/engines";
import { portOpen, randomName, SHARED_POSTGRES } from "../cluster/nodes";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { startGateway } from "../helpers/gateway";

// The Responses store of several nodes (SPEC §2, §8) on the machine's PostgreSQL (a fresh database,
// dropped after): what one node stores, another reads; scoped per client; deleted after retention;
// and, through two real gateways sharing `storage.postgres`, a `previous_response_id` made on one
// node continued on the other.

const up = await portOpen(5432);
if (!up) console.warn("SKIPPED test/store/postgres-responses.test.ts: no PostgreSQL on 127.0.0.1:5432 (.ci/run starts one)");

let database: { url: string; drop(): Promise<void> };
let db: PgDb;
const stores: PostgresResponseStore[] = [];

beforeAll(async () => {
  if (!up) return;
  database = await freshDatabase(SHARED_POSTGRES, randomName("lmrelay_test_"));
  db = connectPostgres(database.url);
});

afterAll(async () => {
  for (const s of stores) await s.close();
  await db?.$client.close();
  await database?.drop();
});

function store(retentionDays = 30): PostgresResponseStore {
  const s = new PostgresResponseStore(db, () => retentionDays, () => {});
  stores.push(s);
  return s;
}

const stored = (id: string, client: string, createdAt = Date.now()) => ({
  id,
  client,
  createdAt,
  response: { id, object: "response", output: [{ id: `msg_${id}`, type: "message", role: "assistant", content: [{ type: "output_text", text: `answer ${id}` }] }] },
  input: [{ id: `in_${id}`, type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
});

async function settled(s: PostgresResponseStore): Promise<void> {
  for (let i = 0; i < 100 && s.waiting > 0; i++) await Bun.sleep(20);
  expect(s.waiting).toBe(0);
}

describe.skipIf(!up)("PostgreSQL responses store", () => {
  test("one node stores, another reads the response and its items; another client sees nothing", async () => {
    const a = store();
    const b = store();
    a.put(stored("resp_1", "team"));
    // Readable on the storing node at once, before PostgreSQL has it.
    expect((await a.get("team", "resp_1"))?.response.id).toBe("resp_1");
    await settled(a);
    expect((await b.get("team", "resp_1"))?.response).toMatchObject({ id: "resp_1" });
    expect(await b.item("team", "msg_resp_1")).toMatchObject({ type: "message", role: "assistant" });
    expect(await b.item("team", "in_resp_1")).toMatchObject({ role: "user" });
    expect(await b.get("other", "resp_1")).toBeUndefined();
    expect(await b.item("other", "msg_resp_1")).toBeUndefined();
    expect(await b.delete("other", "resp_1")).toBe(false);
    expect(await b.delete("team", "resp_1")).toBe(true);
    expect(await a.get("team", "resp_1")).toBeUndefined();
    expect(await a.item("team", "msg_resp_1")).toBeUndefined();
  });

  test("a response past the retention is neither served nor kept", async () => {
    const s = store(1);
    s.put(stored("resp_old", "team", Date.now() - 3 * 86_400_000));
    await settled(s);
    expect(await s.get("team", "resp_old")).toBeUndefined();
    expect(await s.purge()).toBeGreaterThanOrEqual(1);
    const rows = await db.$client`select count(*)::int as n from responses where id = 'resp_old'`;
    expect(rows[0].n).toBe(0);
  });

  test("PostgreSQL away: writes wait and a read is a 503 in time, not a hang", async () => {
    const gone = connectPostgres("postgres://postgres@127.0.0.1:1/none", { connectionTimeoutS: 1 });
    const s = new PostgresResponseStore(gone, () => 30, () => {});
    try {
      s.put(stored("resp_wait", "team"));
      expect((await s.get("team", "resp_wait"))?.id).toBe("resp_wait");
      const err = await s.get("team", "resp_unknown").then(
        () => undefined,
        (e) => e,
      );
      expect(err?.status).toBe(503);
      expect(err?.message).toStartWith("lmrelay: ");
      expect(s.waiting).toBe(1);
    } finally {
      await s.close();
      await gone.$client.close().catch(() => {});
    }
  });
});

describe.skipIf(!up)("two gateways sharing storage.postgres", () => {
  let fake: OpenAIFake;
  let dirs: string[] = [];

  beforeAll(async () => {
    if (up) fake = await startOpenAIFake({ models: ["gpt-4o-mini"] });
  });

  afterAll(async () => {
    await fake?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("previous_response_id from node one is continued on node two", async () => {
    const node = async (name: string) => {
      const dir = mkdtempSync(path.join(tmpdir(), `lmrelay-pgresp-${name}-`));
      dirs.push(dir);
      return startGateway({
        providers: { up: { type: "openai-compatible", baseUrl: `${fake.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] } },
        storage: { path: path.join(dir, "spool.db"), postgres: database.url },
        cluster: undefined,
        health: { probeIntervalMs: 0 },
      });
    };
    const [one, two] = [await node("one"), await node("two")];
    try {
      fake.reply({ text: "first answer" });
      const first = await new OpenAI({ baseURL: `${one.url}/v1`, apiKey: "none", maxRetries: 0 }).responses.create({ model: "up/gpt-4o-mini", input: "remember the word kiwi" });
      fake.reply({ text: "second answer" });
      const client2 = new OpenAI({ baseURL: `${two.url}/v1`, apiKey: "none", maxRetries: 0 });
      // SPEC §2: readable on another node within 5 s.
      let second: OpenAI.Responses.Response | undefined;
      for (let i = 0; i < 50 && !second; i++) {
        second = await client2.responses.create({ model: "up/gpt-4o-mini", input: "which word?", previous_response_id: first.id }).catch((e) => {
          if (e.status !== 404) throw e;
          return undefined;
        });
        if (!second) await Bun.sleep(100);
      }
      expect(second?.output_text).toBe("second answer");
      // The upstream got node one's turn as history.
      const sent = fake.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.body;
      expect(JSON.stringify(sent.messages)).toContain("remember the word kiwi");
      expect(JSON.stringify(sent.messages)).toContain("first answer");
      expect((await client2.responses.retrieve(first.id)).id).toBe(first.id);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  }, 30_000);
});
