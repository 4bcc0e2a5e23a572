import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { StreamEvent } from "../../../src/core/types";
import { toGatewayError } from "../../../src/core/errors";
import { streamBody } from "../../../src/inbound/http";
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
  const enc = { encode: (ev: StreamEvent) => (ev.type === "text" ? `data: ${ev.text}\n\n` : ""), end: () => "data: end\n\n", error: () => "" };

  test("an SSE comment goes out while the answer is silent; the events still arrive in order", async () => {
    async function* slow(): AsyncGenerator<StreamEvent> {
      yield { type: "text", text: "a" };
      await Bun.sleep(200);
      yield { type: "text", text: "b" };
    }
    const text = await new Response(streamBody(slow(), enc, toGatewayError, { ms: 30, comment: ": keep-alive\n\n" })).text();
    expect(text.startsWith("data: a\n\n")).toBe(true);
    expect(text.endsWith("data: b\n\ndata: end\n\n")).toBe(true);
    const middle = text.slice("data: a\n\n".length, -"data: b\n\ndata: end\n\n".length);
    expect(middle.length).toBeGreaterThan(0);
    expect(middle.replaceAll(": keep-alive\n\n", "")).toBe("");
  });

  test("an answer with no silence gets no comment", async () => {
    async function* quick(): AsyncGenerator<StreamEvent> {
      yield { type: "text", text: "a" };
      yield { type: "text", text: "b" };
    }
    const text = await new Response(streamBody(quick(), enc, toGatewayError, { ms: 10_000, comment: ": keep-alive\n\n" })).text();
    expect(text).toBe("data: a\n\ndata: b\n\ndata: end\n\n");
  });
});
