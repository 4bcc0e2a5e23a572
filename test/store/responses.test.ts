import { afterEach, expect, test } from "bun:test";
import { openDatabase } from "../../src/store/db";
import { SqliteResponseStore } from "../../src/store/responses";

// The Responses store in SQLite: scoped per client, items findable by id, deletes, retention, and a
// response whose write failed still readable at once (kept in memory, written on the retry).

const DAY = 86_400_000;
const stores: SqliteResponseStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function make(retentionDays = 30) {
  const db = openDatabase(":memory:");
  const errors: unknown[] = [];
  const store = new SqliteResponseStore(db, () => retentionDays, (e) => errors.push(e));
  stores.push(store);
  return { db, store, errors };
}

const response = (id: string, text: string) => ({ id, object: "response", output: [{ id: `msg_${id}`, type: "message", role: "assistant", content: [{ type: "output_text", text }] }] });

test("a response is one client's: get, item and delete see only the owner's", async () => {
  const { store } = make();
  store.put({ id: "resp_a", client: "app", createdAt: Date.now(), response: response("resp_a", "hi"), input: [{ id: "in_1", type: "message", role: "user", content: "q" }] });
  expect((await store.get("app", "resp_a"))?.response.id).toBe("resp_a");
  expect(await store.get("other", "resp_a")).toBeUndefined();
  expect(await store.item("app", "msg_resp_a")).toMatchObject({ type: "message", role: "assistant" });
  expect(await store.item("app", "in_1")).toMatchObject({ role: "user" });
  expect(await store.item("other", "msg_resp_a")).toBeUndefined();
  expect(await store.delete("other", "resp_a")).toBe(false);
  expect(await store.delete("app", "resp_a")).toBe(true);
  expect(await store.get("app", "resp_a")).toBeUndefined();
  expect(await store.item("app", "msg_resp_a")).toBeUndefined();
});

test("the chain link and input survive the round trip", async () => {
  const { store } = make();
  store.put({ id: "resp_b", client: "", createdAt: 5, response: response("resp_b", "x"), input: [], previousResponseId: "resp_a" });
  const got = await store.get("", "resp_b");
  // Older than the retention: already invisible before the purge runs.
  expect(got).toBeUndefined();
  store.put({ id: "resp_c", client: "", createdAt: Date.now(), response: response("resp_c", "x"), input: [{ id: "i", type: "message" }], previousResponseId: "resp_b" });
  expect(await store.get("", "resp_c")).toMatchObject({ previousResponseId: "resp_b", input: [{ id: "i", type: "message" }] });
});

test("retention deletes old responses and their items", async () => {
  const { db, store } = make(2);
  const now = Date.now();
  store.put({ id: "resp_old", client: "app", createdAt: now - 3 * DAY, response: response("resp_old", "o"), input: [] });
  store.put({ id: "resp_new", client: "app", createdAt: now - DAY, response: response("resp_new", "n"), input: [] });
  expect(store.purge(now)).toBe(1);
  const ids = db.$client.query("SELECT id FROM responses").all();
  expect(ids).toEqual([{ id: "resp_new" }]);
  expect(db.$client.query("SELECT id FROM response_items").all()).toEqual([{ id: "msg_resp_new" }]);
});

test("a failed write keeps the response readable and is written on the retry", async () => {
  const { db, store, errors } = make();
  const real = db.transaction.bind(db);
  let fail = true;
  (db as { transaction: unknown }).transaction = (fn: never) => {
    if (fail) throw new Error("database is locked");
    return real(fn);
  };
  store.put({ id: "resp_p", client: "app", createdAt: Date.now(), response: response("resp_p", "p"), input: [] });
  expect(errors.length).toBe(1);
  expect((await store.get("app", "resp_p"))?.response.id).toBe("resp_p");
  expect(await store.item("app", "msg_resp_p")).toMatchObject({ type: "message" });
  fail = false;
  store.flush();
  expect(db.$client.query("SELECT id FROM responses").all()).toEqual([{ id: "resp_p" }]);
  expect((await store.get("app", "resp_p"))?.response.id).toBe("resp_p");
});
