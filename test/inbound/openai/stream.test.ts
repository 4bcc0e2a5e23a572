import { describe, expect, test } from "bun:test";
import { lmrelayError } from "../../../src/core/errors";
import type { StreamEvent } from "../../../src/core/types";
import { streamBody } from "../../../src/inbound/http";
import { ChatStreamEncoder, CompletionStreamEncoder } from "../../../src/inbound/openai/stream";
import { toGatewayError } from "../../../src/core/errors";

const meta = { fallbackId: "chatcmpl-req1", fallbackModel: "routed", created: 1724000000 };
const H = '{"id":"up-1","object":"chat.completion.chunk","created":1724000000,"model":"gpt-x","choices":';

function encodeAll(enc: { encode(ev: StreamEvent): string; end(): string }, events: StreamEvent[]): string {
  return events.map((ev) => enc.encode(ev)).join("") + enc.end();
}

async function drain(body: ReadableStream<Uint8Array>): Promise<{ text: string; chunks: number }> {
  let text = "";
  let chunks = 0;
  const decoder = new TextDecoder();
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    chunks++;
  }
  return { text, chunks };
}

async function* gen(events: StreamEvent[], thenThrow?: Error): AsyncGenerator<StreamEvent> {
  for (const ev of events) yield ev;
  if (thenThrow) throw thenThrow;
}

describe("ChatStreamEncoder: events → exact SSE", () => {
  const textEvents: StreamEvent[] = [
    { type: "start", id: "up-1", model: "gpt-x" },
    { type: "text", text: "Hel" },
    { type: "text", text: "lo!" },
    { type: "finish", reason: "stop" },
    { type: "usage", usage: { inputTokens: 9, outputTokens: 3 } },
  ];

  test("text without include_usage: no usage field anywhere", () => {
    expect(encodeAll(new ChatStreamEncoder(meta, false), textEvents)).toBe(
      `data: ${H}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"content":"lo!"},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n` +
        "data: [DONE]\n\n",
    );
  });

  test("text with include_usage: usage null on every chunk, then a choices:[] usage chunk", () => {
    expect(encodeAll(new ChatStreamEncoder(meta, true), textEvents)).toBe(
      `data: ${H}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        `data: ${H}[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        `data: ${H}[{"index":0,"delta":{"content":"lo!"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        `data: ${H}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n` +
        `data: ${H}[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}\n\n` +
        "data: [DONE]\n\n",
    );
  });

  test("tool calls: id/type/name only in the first fragment, empty fragments skipped, thinking as reasoning_content", () => {
    const events: StreamEvent[] = [
      { type: "start", id: "up-1", model: "gpt-x" },
      { type: "thinking", text: "need weather" },
      { type: "thinking_signature", signature: "sig" },
      { type: "tool_call_start", index: 0, id: "call_abc", name: "get_weather" },
      { type: "tool_call_delta", index: 0, arguments: "" },
      { type: "tool_call_delta", index: 0, arguments: '{"ci' },
      { type: "tool_call_delta", index: 0, arguments: 'ty":"Paris"}' },
      { type: "tool_call_start", index: 1, id: "call_def", name: "get_time" },
      { type: "tool_call_delta", index: 1, arguments: "{}" },
      { type: "finish", reason: "tool_calls" },
    ];
    expect(encodeAll(new ChatStreamEncoder(meta, false), events)).toBe(
      `data: ${H}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"reasoning_content":"need weather"},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"ci"}}]},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\\":\\"Paris\\"}"}}]},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}\n\n` +
        "data: [DONE]\n\n",
    );
  });

  test("no start event, no finish, no usage: fallback id/model, default finish, zero usage chunk", () => {
    const F = '{"id":"chatcmpl-req1","object":"chat.completion.chunk","created":1724000000,"model":"routed","choices":';
    expect(encodeAll(new ChatStreamEncoder(meta, true), [{ type: "tool_call_start", index: 0, id: "c", name: "f" }])).toBe(
      `data: ${F}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        `data: ${F}[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        // A tool call with no argument text says "{}" before the finish, as the whole answer does.
        `data: ${F}[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        `data: ${F}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}\n\n` +
        `data: ${F}[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}\n\n` +
        "data: [DONE]\n\n",
    );
  });

  test("every chunk is valid JSON with the same id and created", () => {
    const text = encodeAll(new ChatStreamEncoder(meta, true), [...textEvents, { type: "text", text: 'quote " and \n newline' }]);
    const frames = text.split("\n\n").filter(Boolean);
    expect(frames.at(-1)).toBe("data: [DONE]");
    for (const frame of frames.slice(0, -1)) {
      const chunk = JSON.parse(frame.slice("data: ".length));
      expect(chunk.id).toBe("up-1");
      expect(chunk.created).toBe(1724000000);
    }
  });

  test("through streamBody: one HTTP chunk per event; a mid-stream error becomes an error frame and closes", async () => {
    const events = gen(
      [
        { type: "start", id: "up-1", model: "gpt-x" },
        { type: "text", text: "Hi" },
      ],
      lmrelayError("upstream_error", "upstream cut the stream"),
    );
    const { text, chunks } = await drain(streamBody(events, new ChatStreamEncoder(meta, false), toGatewayError));
    expect(chunks).toBe(3);
    expect(text).toBe(
      `data: ${H}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n` +
        `data: ${H}[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}\n\n` +
        'data: {"error":{"message":"lmrelay: upstream cut the stream","type":"server_error","param":null,"code":null}}\n\n',
    );
  });
});

describe("CompletionStreamEncoder (legacy)", () => {
  test("text_completion chunks, finish, usage when asked, [DONE]", () => {
    const C = '{"id":"cmpl-up","object":"text_completion","created":1724000000,"model":"inst","choices":';
    const events: StreamEvent[] = [
      { type: "start", id: "cmpl-up", model: "inst" },
      { type: "thinking", text: "dropped" },
      { type: "text", text: " world" },
      { type: "finish", reason: "length" },
      { type: "usage", usage: { inputTokens: 1, outputTokens: 2 } },
    ];
    expect(encodeAll(new CompletionStreamEncoder(meta, true), events)).toBe(
      `data: ${C}[{"text":" world","index":0,"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
        `data: ${C}[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}],"usage":null}\n\n` +
        `data: ${C}[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n` +
        "data: [DONE]\n\n",
    );
  });
});
