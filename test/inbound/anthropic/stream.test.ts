import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/core/errors";
import type { StreamEvent } from "../../../src/core/types";
import { AnthropicStreamEncoder } from "../../../src/inbound/anthropic/stream";
import { streamBody } from "../../../src/inbound/http";

// Exact SSE text for event sequences. `frame` builds the expected text from plain objects so each
// expectation reads like the Anthropic docs.

function frame(data: Record<string, unknown>): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

const usage0 = { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 };

function messageStart(usage = usage0, id = "msg_1", model = "up-model"): string {
  return frame({
    type: "message_start",
    message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage },
  });
}
const start = (index: number, content_block: unknown) => frame({ type: "content_block_start", index, content_block });
const delta = (index: number, d: unknown) => frame({ type: "content_block_delta", index, delta: d });
const stop = (index: number) => frame({ type: "content_block_stop", index });
const text = (index: number, t: string) => delta(index, { type: "text_delta", text: t });
const json = (index: number, partial_json: string) => delta(index, { type: "input_json_delta", partial_json });
const tool = (id: string, name: string) => ({ type: "tool_use", id, name, input: {} });
function finish(stop_reason: string, usage: Record<string, number>, stop_sequence: string | null = null): string {
  return frame({ type: "message_delta", delta: { stop_reason, stop_sequence }, usage }) + frame({ type: "message_stop" });
}

function encodeAll(events: StreamEvent[]): string {
  const enc = new AnthropicStreamEncoder({ model: "fallback-model", requestId: "req_1" });
  return events.map((e) => enc.encode(e)).join("") + enc.end();
}

const begin: StreamEvent = { type: "start", id: "msg_1", model: "up-model" };
const used = (inputTokens: number, outputTokens: number): StreamEvent => ({ type: "usage", usage: { inputTokens, outputTokens } });

describe("AnthropicStreamEncoder: exact event sequences", () => {
  const cases: { name: string; events: StreamEvent[]; want: string }[] = [
    {
      name: "text answer, finish held until usage",
      events: [begin, { type: "text", text: "Hello" }, { type: "text", text: "" }, { type: "text", text: "!" }, { type: "finish", reason: "stop" }, used(25, 2)],
      want:
        messageStart() +
        start(0, { type: "text", text: "" }) +
        text(0, "Hello") +
        text(0, "!") +
        stop(0) +
        finish("end_turn", { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 2 }),
    },
    {
      name: "usage before finish; start usage in message_start with cache taken out",
      events: [
        { type: "start", id: "msg_1", model: "up-model", usage: { inputTokens: 100, cacheReadTokens: 60, cacheWriteTokens: 10 } },
        { type: "text", text: "x" },
        { type: "usage", usage: { inputTokens: 100, outputTokens: 7, cacheReadTokens: 60, cacheWriteTokens: 10 } },
        { type: "finish", reason: "length" },
      ],
      want:
        messageStart({ input_tokens: 30, cache_creation_input_tokens: 10, cache_read_input_tokens: 60, output_tokens: 0 }) +
        start(0, { type: "text", text: "" }) +
        text(0, "x") +
        stop(0) +
        finish("max_tokens", { input_tokens: 30, cache_creation_input_tokens: 10, cache_read_input_tokens: 60, output_tokens: 7 }),
    },
    {
      name: "thinking with signature, then text, then two sequential tool calls",
      events: [
        begin,
        { type: "thinking", text: "Let me " },
        { type: "thinking", text: "see." },
        { type: "thinking_signature", signature: "EqQB" },
        { type: "text", text: "Checking." },
        { type: "tool_call_start", index: 0, id: "toolu_A", name: "get_weather" },
        { type: "tool_call_delta", index: 0, arguments: '{"city": "Pa' },
        { type: "tool_call_delta", index: 0, arguments: "" },
        { type: "tool_call_delta", index: 0, arguments: 'ris"}' },
        { type: "tool_call_start", index: 1, id: "toolu_B", name: "now" },
        { type: "tool_call_delta", index: 1, arguments: "{}" },
        { type: "finish", reason: "tool_calls" },
        used(10, 42),
      ],
      want:
        messageStart() +
        start(0, { type: "thinking", thinking: "", signature: "" }) +
        delta(0, { type: "thinking_delta", thinking: "Let me " }) +
        delta(0, { type: "thinking_delta", thinking: "see." }) +
        delta(0, { type: "signature_delta", signature: "EqQB" }) +
        stop(0) +
        start(1, { type: "text", text: "" }) +
        text(1, "Checking.") +
        stop(1) +
        start(2, tool("toolu_A", "get_weather")) +
        json(2, '{"city": "Pa') +
        json(2, 'ris"}') +
        stop(2) +
        start(3, tool("toolu_B", "now")) +
        json(3, "{}") +
        stop(3) +
        finish("tool_use", { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 42 }),
    },
    {
      name: "interleaved parallel tool deltas are buffered, not dropped",
      events: [
        begin,
        { type: "tool_call_start", index: 0, id: "a", name: "f" },
        { type: "tool_call_start", index: 1, id: "b", name: "g" },
        { type: "tool_call_delta", index: 1, arguments: '{"y":' },
        { type: "tool_call_delta", index: 0, arguments: '{"x":1}' },
        { type: "tool_call_delta", index: 1, arguments: "2}" },
        { type: "finish", reason: "tool_calls" },
      ],
      want:
        messageStart() +
        start(0, tool("a", "f")) +
        json(0, '{"x":1}') +
        stop(0) +
        start(1, tool("b", "g")) +
        json(1, '{"y":2}') +
        stop(1) +
        finish("tool_use", usage0),
    },
    {
      name: "fragments arriving before their tool's start are kept",
      events: [begin, { type: "tool_call_delta", index: 0, arguments: '{"q":"a"}' }, { type: "tool_call_start", index: 0, id: "t1", name: "search" }],
      want: messageStart() + start(0, tool("t1", "search")) + json(0, '{"q":"a"}') + stop(0) + finish("tool_use", usage0),
    },
    {
      name: "redacted thinking is a whole block; a lone signature opens a thinking block",
      events: [begin, { type: "redacted_thinking", data: "opaque" }, { type: "thinking_signature", signature: "s" }, { type: "thinking", text: "next" }],
      want:
        messageStart() +
        start(0, { type: "redacted_thinking", data: "opaque" }) +
        stop(0) +
        start(1, { type: "thinking", thinking: "", signature: "" }) +
        delta(1, { type: "signature_delta", signature: "s" }) +
        stop(1) +
        start(2, { type: "thinking", thinking: "", signature: "" }) +
        delta(2, { type: "thinking_delta", thinking: "next" }) +
        stop(2) +
        finish("end_turn", usage0),
    },
    {
      name: "stop sequence carries its string; tool ids are made Anthropic-valid",
      events: [begin, { type: "tool_call_start", index: 0, id: "fc:1", name: "f" }, { type: "finish", reason: "stop", stopSequence: "END" }, used(1, 1)],
      want:
        messageStart() +
        start(0, tool("fc_1", "f")) +
        stop(0) +
        finish("stop_sequence", { input_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 }, "END"),
    },
  ];
  for (const c of cases) {
    test(c.name, () => expect(encodeAll(c.events)).toBe(c.want));
  }

  test("no start event: message_start from the fallback model; no finish: end_turn at the end", () => {
    const out = encodeAll([{ type: "text", text: "hi" }]);
    const id = /"id":"(msg_[0-9a-f]{32})"/.exec(out)?.[1];
    expect(id).toBeDefined();
    expect(out).toBe(messageStart(usage0, id, "fallback-model") + start(0, { type: "text", text: "" }) + text(0, "hi") + stop(0) + finish("end_turn", usage0));
  });

  test("empty stream still is a complete message", () => {
    const out = encodeAll([]);
    const id = /"id":"(msg_[0-9a-f]{32})"/.exec(out)?.[1];
    expect(out).toBe(messageStart(usage0, id, "fallback-model") + finish("end_turn", usage0));
  });

  test("content after the finish event is closed before message_delta", () => {
    const out = encodeAll([begin, { type: "finish", reason: "stop" }, { type: "text", text: "late" }, used(3, 4)]);
    expect(out).toBe(
      messageStart() +
        start(0, { type: "text", text: "" }) +
        text(0, "late") +
        stop(0) +
        finish("end_turn", { input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 4 }),
    );
  });

  test("events after message_stop are ignored", () => {
    const out = encodeAll([begin, { type: "finish", reason: "stop" }, used(1, 1), { type: "text", text: "late" }, used(9, 9)]);
    expect(out).toBe(messageStart() + finish("end_turn", { input_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 }));
  });
});

describe("AnthropicStreamEncoder through streamBody", () => {
  async function body(events: AsyncIterable<StreamEvent>): Promise<string> {
    const enc = new AnthropicStreamEncoder({ model: "m", requestId: "req_9" });
    return new Response(streamBody(events, enc, (e) => e as GatewayError)).text();
  }

  test("a mid-stream error becomes an error event and the stream closes", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield begin;
      yield { type: "text", text: "par" };
      throw new GatewayError("overloaded", "up: Overloaded", { status: 529 });
    }
    expect(await body(events())).toBe(
      messageStart() +
        start(0, { type: "text", text: "" }) +
        text(0, "par") +
        frame({ type: "error", error: { type: "overloaded_error", message: "up: Overloaded" }, request_id: "req_9" } as never),
    );
  });

  test("an error event ends the stream the same way", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield begin;
      yield { type: "error", error: new GatewayError("upstream_error", "up: broken stream") };
      yield { type: "text", text: "never" };
    }
    expect(await body(events())).toBe(messageStart() + frame({ type: "error", error: { type: "api_error", message: "up: broken stream" }, request_id: "req_9" } as never));
  });

  test("a tool input that is not a JSON object: the error event names the tool, nothing of it was sent, the upstream is released", async () => {
    let released = false;
    async function* events(): AsyncGenerator<StreamEvent> {
      try {
        yield begin;
        yield { type: "tool_call_start", index: 0, id: "toolu_1", name: "lookup" };
        yield { type: "tool_call_delta", index: 0, arguments: "{'word': " };
        yield { type: "tool_call_delta", index: 0, arguments: "'cat'}" };
        yield { type: "finish", reason: "tool_calls" };
        yield used(3, 4);
      } finally {
        released = true;
      }
    }
    const message = `lmrelay: the model called tool "lookup" with arguments that are not a JSON object (Anthropic's tool_use input must be an object): "{'word': 'cat'}"`;
    expect(await body(events())).toBe(
      messageStart() + start(0, tool("toolu_1", "lookup")) + frame({ type: "error", error: { type: "api_error", message }, request_id: "req_9" } as never),
    );
    expect(released).toBe(true);
  });

  test("an upstream's own authentication error inside its answer reaches the client as a rejected key, not as its own", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield begin;
      yield { type: "text", text: "par" };
      yield { type: "error", error: new GatewayError("authentication", "up: invalid x-api-key", { status: 401, provider: "up" }) };
    }
    expect(await body(events())).toBe(
      messageStart() +
        start(0, { type: "text", text: "" }) +
        text(0, "par") +
        frame({ type: "error", error: { type: "api_error", message: "lmrelay: upstream up rejected its key: up: invalid x-api-key" }, request_id: "req_9" } as never),
    );
  });

  test("a tool input streams while it can become a JSON object; held from the first fragment that cannot, then refused whole", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield begin;
      yield { type: "tool_call_start", index: 0, id: "toolu_1", name: "lookup" };
      yield { type: "tool_call_delta", index: 0, arguments: '{"word": ' };
      yield { type: "tool_call_delta", index: 0, arguments: '"cat", ' };
      yield { type: "tool_call_delta", index: 0, arguments: "'n': 2}" };
      yield { type: "finish", reason: "tool_calls" };
    }
    const message = `lmrelay: the model called tool "lookup" with arguments that are not a JSON object (Anthropic's tool_use input must be an object): ${JSON.stringify(`{"word": "cat", 'n': 2}`)}`;
    expect(await body(events())).toBe(
      messageStart() +
        start(0, tool("toolu_1", "lookup")) +
        json(0, '{"word": ') +
        json(0, '"cat", ') +
        frame({ type: "error", error: { type: "api_error", message }, request_id: "req_9" } as never),
    );
  });

  test("an input cut short (a valid beginning, never finished) is refused too, not sent as a partial object", async () => {
    async function* events(): AsyncGenerator<StreamEvent> {
      yield begin;
      yield { type: "tool_call_start", index: 0, id: "toolu_1", name: "lookup" };
      yield { type: "tool_call_delta", index: 0, arguments: '{"word": "ca' };
      yield { type: "finish", reason: "length" };
    }
    const out = await body(events());
    expect(out).toContain(json(0, '{"word": "ca'));
    expect(out).toContain('"type":"error"');
    expect(out).toContain('called tool \\"lookup\\" with arguments that are not a JSON object');
    expect(out).not.toContain("message_stop");
  });
});
