import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { StreamEvent } from "../../../src/core/types";
import { withKeepAlive } from "../../../src/inbound/responses/keepalive";
import { RESPONSES_KEY, type ResponsesRig, startResponsesRig, UPSTREAMS } from "../../clients/responses-rig";

// What a Responses client sees when things go wrong: an upstream that breaks after the answer began
// (`response.failed` with a code, then the connection closes), one that fails before (an HTTP error
// in OpenAI's shape), and keep-alive comments while an upstream is silent.

let rig: ResponsesRig;

beforeAll(async () => {
  rig = await startResponsesRig();
});
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => rig.reset());

function post(body: unknown): Promise<Response> {
  return fetch(`${rig.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${RESPONSES_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
}

function frames(text: string): { event: string; data: any }[] {
  return text
    .trimEnd()
    .split("\n\n")
    .filter((f) => f.startsWith("event: "))
    .map((f) => ({ event: f.split("\n")[0]!.slice(7), data: JSON.parse(f.split("\n")[1]!.slice(6)) }));
}

describe("mid-stream failure", () => {
  test.each(["anthropic", "native"] as const)("%s upstream cut after the first content: response.failed with server_error, then the body ends", async (name) => {
    rig.fake(name).reply({ text: "a long answer that will not finish in one piece at all", chunkDelayMs: 5 });
    rig.fake(name).fail({ kind: "cut", afterChunks: 5 });
    const res = await post({ model: UPSTREAMS[name], input: "go", stream: true });
    expect(res.status).toBe(200);
    const list = frames(await res.text());
    const last = list.at(-1)!;
    expect(last.event).toBe("response.failed");
    expect(last.data.response.status).toBe("failed");
    expect(last.data.response.error.code).toBe("server_error");
    expect(last.data.response.error.message).toMatch(/^lmrelay: |^(claude|native): /);
    expect(list.map((f) => f.data.sequence_number)).toEqual(list.map((_, i) => i));
    expect(list.some((f) => f.event === "response.completed")).toBe(false);
  });

  test("the openai SDK sees the failure as an event and no final response", async () => {
    rig.anthropic.reply({ text: "a long answer that will not finish in one piece at all", chunkDelayMs: 5 });
    rig.anthropic.fail({ kind: "cut", afterChunks: 5 });
    const client = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: RESPONSES_KEY, maxRetries: 0 });
    const stream = await client.responses.create({ model: UPSTREAMS.anthropic, input: "go", stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types.at(-1)).toBe("response.failed");
  });

  test("a failure before the answer began is an HTTP error in OpenAI's shape (429 with retry-after)", async () => {
    rig.anthropic.fail({ kind: "status", status: 429, body: { type: "error", error: { type: "rate_limit_error", message: "slow down" } }, headers: { "retry-after": "3" } });
    const res = await post({ model: UPSTREAMS.anthropic, input: "go", stream: true });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    const body = (await res.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error.code).toBe("rate_limit_exceeded");
    expect(body.error.message).toContain("slow down");
  });
});

describe("keep-alive", () => {
  test("an SSE comment goes out while the upstream is silent; the events still arrive in order", async () => {
    async function* slow(): AsyncGenerator<StreamEvent> {
      yield { type: "text", text: "a" };
      await Bun.sleep(120);
      yield { type: "text", text: "b" };
    }
    const seen: string[] = [];
    for await (const ev of withKeepAlive(slow(), 30)) seen.push(ev.type === "raw" ? String(ev.data) : ev.type === "text" ? ev.text : ev.type);
    expect(seen[0]).toBe("a");
    expect(seen.at(-1)).toBe("b");
    const pings = seen.slice(1, -1);
    expect(pings.length).toBeGreaterThan(0);
    expect(new Set(pings)).toEqual(new Set([": keep-alive\n\n"]));
  });

  test("an answer with no silence gets no comment", async () => {
    async function* quick(): AsyncGenerator<StreamEvent> {
      yield { type: "text", text: "a" };
      yield { type: "text", text: "b" };
    }
    const seen: StreamEvent[] = [];
    for await (const ev of withKeepAlive(quick(), 10_000)) seen.push(ev);
    expect(seen.map((e) => e.type)).toEqual(["text", "text"]);
  });
});
