import { describe, expect, test } from "bun:test";
import { GatewayError, toGatewayError } from "../../../src/core/errors";
import type { ChatResponse, StreamEvent } from "../../../src/core/types";
import { streamBody } from "../../../src/inbound/http";
import { type AnswerShape, answerBody, loadBody, OllamaStreamEncoder } from "../../../src/inbound/ollama/encode";
import { ollamaErrorResponse } from "../../../src/inbound/ollama/index";
import { AnswerTimer, type Clock } from "../../../src/inbound/ollama/timing";

const T = "2025-01-02T03:04:05.678Z";

/** A clock whose monotonic time the test sets by hand (ms). */
function manualClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, wallIso: () => T };
  return c;
}

/** Request at 0 ms, upstream answered at 5 ms; the test moves the clock for each event. */
function setup(shape: AnswerShape) {
  const clock = manualClock();
  const timer = new AnswerTimer(0, clock);
  clock.t = 5;
  timer.answered();
  const enc = new OllamaStreamEncoder({ model: "llama3.2", shape, timer, clock });
  return { clock, enc };
}

/** Feeds `[atMs, event]` pairs, then ends at `endMs`; returns the emitted lines. */
function run(shape: AnswerShape, steps: [number, StreamEvent][], endMs: number): string[] {
  const { clock, enc } = setup(shape);
  let out = "";
  for (const [at, ev] of steps) {
    clock.t = at;
    out += enc.encode(ev);
  }
  clock.t = endMs;
  out += enc.end();
  expect(out.endsWith("\n")).toBe(true);
  return out.slice(0, -1).split("\n");
}

const head = `{"model":"llama3.2","created_at":"${T}",`;
const metrics = (load: number, prompt: number, evalMs: number, inTok: number, outTok: number) =>
  `"total_duration":${(load + prompt + evalMs) * 1e6},"load_duration":${load * 1e6},"prompt_eval_count":${inTok},"prompt_eval_duration":${prompt * 1e6},"eval_count":${outTok},"eval_duration":${evalMs * 1e6}`;

describe("OllamaStreamEncoder: events → exact NDJSON lines", () => {
  test("chat text: one line per fragment, final done line with ns durations and usage counts", () => {
    const lines = run(
      "chat",
      [
        [5, { type: "start", id: "x", model: "upstream-model" }],
        [7, { type: "text", text: "Hel" }],
        [8, { type: "text", text: 'lo "you"\n' }],
        [9, { type: "text", text: "" }],
        [9, { type: "finish", reason: "stop" }],
        [9, { type: "usage", usage: { inputTokens: 26, outputTokens: 3 } }],
      ],
      10,
    );
    expect(lines).toEqual([
      `${head}"message":{"role":"assistant","content":"Hel"},"done":false}`,
      `${head}"message":{"role":"assistant","content":"lo \\"you\\"\\n"},"done":false}`,
      `${head}"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",${metrics(5, 2, 3, 26, 3)}}`,
    ]);
    for (const l of lines) JSON.parse(l);
  });

  test("thinking goes in message.thinking; signatures and redacted thinking are dropped", () => {
    const lines = run(
      "chat",
      [
        [6, { type: "thinking", text: "let me think" }],
        [6, { type: "thinking_signature", signature: "sig" }],
        [6, { type: "redacted_thinking", data: "xx" }],
        [7, { type: "text", text: "42" }],
        [7, { type: "finish", reason: "length" }],
      ],
      8,
    );
    expect(lines).toEqual([
      `${head}"message":{"role":"assistant","content":"","thinking":"let me think"},"done":false}`,
      `${head}"message":{"role":"assistant","content":"42"},"done":false}`,
      `${head}"message":{"role":"assistant","content":""},"done":true,"done_reason":"length",${metrics(5, 1, 2, 0, 0)}}`,
    ]);
  });

  test("tool calls are buffered until complete and sent whole, as objects, in one line", () => {
    const lines = run(
      "chat",
      [
        [6, { type: "text", text: "Checking." }],
        [7, { type: "tool_call_start", index: 0, id: "call_1", name: "get_weather" }],
        [7, { type: "tool_call_delta", index: 0, arguments: '{"ci' }],
        [7, { type: "tool_call_start", index: 1, id: "call_2", name: "get_time" }],
        [8, { type: "tool_call_delta", index: 0, arguments: 'ty":"Paris"}' }],
        [8, { type: "tool_call_delta", index: 1, arguments: "" }],
        [8, { type: "finish", reason: "tool_calls" }],
        [8, { type: "usage", usage: { inputTokens: 50, outputTokens: 20 } }],
      ],
      9,
    );
    expect(lines).toEqual([
      `${head}"message":{"role":"assistant","content":"Checking."},"done":false}`,
      `${head}"message":{"role":"assistant","content":"","tool_calls":[{"id":"call_1","function":{"index":0,"name":"get_weather","arguments":{"city":"Paris"}}},{"id":"call_2","function":{"index":1,"name":"get_time","arguments":{}}}]},"done":false}`,
      `${head}"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",${metrics(5, 1, 3, 50, 20)}}`,
    ]);
  });

  test("a tool call still open when the stream ends is flushed before the done line", () => {
    const lines = run(
      "chat",
      [
        [6, { type: "tool_call_start", index: 0, id: "c", name: "f" }],
        [6, { type: "tool_call_delta", index: 0, arguments: '{"a":1}' }],
      ],
      7,
    );
    expect(lines[0]).toBe(`${head}"message":{"role":"assistant","content":"","tool_calls":[{"id":"c","function":{"index":0,"name":"f","arguments":{"a":1}}}]},"done":false}`);
    expect(lines[1]).toContain(`"done":true,"done_reason":"stop"`);
  });

  test("arguments that are not a JSON object are refused naming the tool, never sent as {}", () => {
    expect(() => run("chat", [[6, { type: "tool_call_start", index: 0, id: "c", name: "f" }], [6, { type: "tool_call_delta", index: 0, arguments: "{not json" }]], 7)).toThrow(
      `lmrelay: the model called tool "f" with arguments that are not a JSON object (Ollama's tool_calls arguments must be an object): "{not json"`,
    );
  });

  test("usage from the start event is used when no usage event comes; no token → minimal durations", () => {
    const lines = run("chat", [[5, { type: "start", usage: { inputTokens: 9 } }]], 5);
    expect(lines).toEqual([`${head}"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5000002,"load_duration":5000000,"prompt_eval_count":9,"prompt_eval_duration":1,"eval_count":0,"eval_duration":1}`]);
  });

  test("generate: lines carry response (and thinking); tool calls have no place and are dropped", () => {
    const lines = run(
      "generate",
      [
        [6, { type: "thinking", text: "hm" }],
        [7, { type: "text", text: "The sky" }],
        [7, { type: "tool_call_start", index: 0, id: "c", name: "f" }],
        [7, { type: "tool_call_delta", index: 0, arguments: "{}" }],
        [8, { type: "text", text: " is blue." }],
        [8, { type: "usage", usage: { inputTokens: 4, outputTokens: 5 } }],
        [8, { type: "finish", reason: "stop" }],
      ],
      9,
    );
    expect(lines).toEqual([
      `${head}"response":"","thinking":"hm","done":false}`,
      `${head}"response":"The sky","done":false}`,
      `${head}"response":" is blue.","done":false}`,
      `${head}"response":"","done":true,"done_reason":"stop",${metrics(5, 1, 3, 4, 5)}}`,
    ]);
  });

  test("error after the stream began: one {error} line", () => {
    const { enc } = setup("chat");
    expect(enc.error(new GatewayError("upstream_error", "openai: connection reset"))).toBe(`{"error":"openai: connection reset"}\n`);
  });
});

describe("through streamBody", () => {
  async function bodyText(events: AsyncIterable<StreamEvent>): Promise<string> {
    const { enc } = setup("chat");
    return new Response(streamBody(events, enc, toGatewayError)).text();
  }

  test("an error event ends the stream with an error line", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield { type: "text", text: "partial" };
      yield { type: "error", error: new GatewayError("overloaded", "claude: Overloaded") };
      yield { type: "text", text: "never" };
    }
    const lines = (await bodyText(events())).trimEnd().split("\n");
    expect(lines).toEqual([`${head}"message":{"role":"assistant","content":"partial"},"done":false}`, `{"error":"claude: Overloaded"}`]);
  });

  test("a thrown error ends the stream with an error line", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield { type: "text", text: "partial" };
      throw new GatewayError("upstream_error", "local: stream cut");
    }
    const lines = (await bodyText(events())).trimEnd().split("\n");
    expect(lines.at(-1)).toBe(`{"error":"local: stream cut"}`);
    expect(lines).toHaveLength(2);
  });
});

describe("non-stream answers", () => {
  const res: ChatResponse = {
    id: "x",
    model: "upstream",
    content: [
      { type: "thinking", text: "a" },
      { type: "thinking", text: "b", signature: "s" },
      { type: "text", text: "Hello" },
      { type: "tool_call", id: "call_9", name: "f", arguments: '{"x":1}' },
    ],
    finishReason: "tool_calls",
    usage: { inputTokens: 11, outputTokens: 7 },
  };

  function opts(shape: AnswerShape) {
    const clock = manualClock();
    const timer = new AnswerTimer(0, clock);
    clock.t = 2;
    timer.answered();
    clock.t = 3;
    timer.token();
    clock.t = 10;
    return { model: "llama3.2", shape, timer, clock };
  }

  test("chat: one object with the whole message and the same metrics", () => {
    expect(answerBody(res, opts("chat"))).toEqual({
      model: "llama3.2",
      created_at: T,
      message: { role: "assistant", content: "Hello", thinking: "ab", tool_calls: [{ id: "call_9", function: { index: 0, name: "f", arguments: { x: 1 } } }] },
      done: true,
      done_reason: "stop",
      total_duration: 10e6,
      load_duration: 2e6,
      prompt_eval_count: 11,
      prompt_eval_duration: 1e6,
      eval_count: 7,
      eval_duration: 7e6,
    });
  });

  test("generate: response holds the whole text", () => {
    const body = answerBody({ ...res, finishReason: "length" }, opts("generate"));
    expect(body).toMatchObject({ model: "llama3.2", response: "Hello", thinking: "ab", done: true, done_reason: "length", eval_count: 7 });
    expect(body).not.toHaveProperty("message");
  });

  test("load and unload answers", () => {
    const clock = manualClock();
    expect(loadBody("m", "chat", false, clock)).toEqual({ model: "m", created_at: T, message: { role: "assistant", content: "" }, done: true, done_reason: "load" });
    expect(loadBody("m", "generate", true, clock)).toEqual({ model: "m", created_at: T, response: "", done: true, done_reason: "unload" });
  });
});

describe("errorResponse", () => {
  test("{error} with the status, retry-after in seconds and x-request-id", async () => {
    const res = ollamaErrorResponse(new GatewayError("rate_limited", "lmrelay: slow down", { retryAfterMs: 1500 }), "req_1");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("x-request-id")).toBe("req_1");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ error: "lmrelay: slow down" });
  });

  test("529 becomes 503; no retry-after when unknown", async () => {
    const res = ollamaErrorResponse(new GatewayError("overloaded", "claude: Overloaded", { status: 529 }), "r");
    expect(res.status).toBe(503);
    expect(res.headers.has("retry-after")).toBe(false);
  });
});
