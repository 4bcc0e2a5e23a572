import { describe, expect, test } from "bun:test";
import type { StreamEvent } from "../../src/core/types";
import { rawStream } from "../../src/upstream/openai/forward-stream";
import { collect } from "../helpers/async";

// The stream half of same-format passthrough: the upstream's frames go on as they came (a read of
// whole frames as its very bytes), the usage chunk lmrelay asked for and `[DONE]` are cut, and
// every frame is decoded alongside for the bookkeeping.

const ep = { providerId: "up", signal: new AbortController().signal };
const head = '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":';
const frame = (data: string) => `data: ${data}\n\n`;
const CONTENT = [
  ": keep-alive\n\n",
  frame(`${head}[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`),
  frame(`${head}[{"index":0,"delta":{"content":"héllo 😀"},"finish_reason":null}]}`),
  frame(`${head}[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
].join("");
const USAGE = frame(`${head}[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`);
const TEXT = `${CONTENT}${USAGE}data: [DONE]\n\n`;

function response(parts: Uint8Array[]): Response {
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < parts.length) c.enqueue(parts[i++]!);
        else c.close();
      },
    }),
  );
}

const relayed = (events: StreamEvent[]) =>
  events.map((e) => (e.type !== "raw" ? "" : typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data))).join("");

describe("rawStream", () => {
  test("split at every byte: the same frames go on, the asked-for usage chunk and [DONE] cut, usage decoded", async () => {
    const bytes = new TextEncoder().encode(TEXT);
    for (let cut = 1; cut < bytes.length; cut++) {
      const events = await collect(rawStream(ep, response([bytes.slice(0, cut), bytes.slice(cut)]), true));
      expect(relayed(events)).toBe(CONTENT);
      expect(events.filter((e) => e.type !== "raw")).toEqual([
        { type: "start", id: "c1", model: "m" },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 2 } },
      ]);
      const raw = events.filter((e) => e.type === "raw");
      expect(raw.reduce((n, e) => n + (e.type === "raw" ? e.chars : 0), 0)).toBe("héllo 😀".length);
    }
  });

  test("a read of whole frames, none cut, goes on as its very bytes", async () => {
    const reads = [CONTENT, USAGE].map((t) => new TextEncoder().encode(t));
    const events = await collect(rawStream(ep, response(reads), false));
    const raw = events.filter((e) => e.type === "raw");
    expect(raw.map((e) => e.type === "raw" && e.data)).toEqual(reads);
  });

  test("an upstream error frame: the frames before it, then an error event, then nothing", async () => {
    const text = `${CONTENT}event: error\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\n${USAGE}`;
    const events = await collect(rawStream(ep, response([new TextEncoder().encode(text)]), true));
    expect(relayed(events)).toBe(CONTENT);
    const last = events.at(-1)!;
    expect(last.type).toBe("error");
    expect(last.type === "error" && last.error.message).toContain("overloaded");
  });
});
