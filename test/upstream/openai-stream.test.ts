import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { foldEvents } from "../../src/core/fold";
import type { StreamEvent } from "../../src/core/types";
import { decodeChatResponse, decodeChatStream } from "../../src/upstream/openai/decode";
import { NineCharToolIds } from "../../src/upstream/openai/toolIds";
import { bytesIn, collect, encodeText } from "./openai-helpers";

const ctx = { ep: { providerId: "up", secret: "sk-secret-value" } };
const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const base = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini" };
const delta = (d: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  frame({ ...base, choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }], ...extra });
const usageChunk = (u: Record<string, unknown>) => frame({ ...base, choices: [], usage: u });
const DONE = "data: [DONE]\n\n";

const decode = (sse: string, cuts: number[] = [], c = ctx) => collect(decodeChatStream(bytesIn(encodeText(sse), cuts), c));

/** SSE text → expected events. */
const table: { name: string; sse: string; events: StreamEvent[] }[] = [
  {
    name: "text with usage chunk (openai.md example)",
    sse:
      delta({ role: "assistant", content: "", refusal: null }, null, { usage: null }) +
      delta({ content: "Hel" }) +
      delta({ content: "lo!" }) +
      delta({}, "stop") +
      usageChunk({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 1 } }) +
      DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "Hel" },
      { type: "text", text: "lo!" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 9, outputTokens: 3, cacheReadTokens: 4, reasoningTokens: 1 } },
    ],
  },
  {
    name: "tool calls split across chunks, two calls (openai.md example)",
    sse:
      delta({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_abc", type: "function", function: { name: "get_weather", arguments: "" } }] }) +
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }) +
      delta({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }) +
      delta({ tool_calls: [{ index: 1, id: "call_def", type: "function", function: { name: "get_time", arguments: "{}" } }] }) +
      delta({}, "tool_calls") +
      DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "tool_call_start", index: 0, id: "call_abc", name: "get_weather" },
      { type: "tool_call_delta", index: 0, arguments: '{"ci' },
      { type: "tool_call_delta", index: 0, arguments: 'ty":"Paris"}' },
      { type: "tool_call_start", index: 1, id: "call_def", name: "get_time" },
      { type: "tool_call_delta", index: 1, arguments: "{}" },
      { type: "finish", reason: "tool_calls" },
    ],
  },
  {
    name: "upstream tool indexes that do not start at 0 map to canonical order of appearance",
    sse:
      delta({ tool_calls: [{ index: 3, id: "c3", function: { name: "a", arguments: "{}" } }] }) +
      delta({ tool_calls: [{ index: 1, id: "c1", function: { name: "b", arguments: "{}" } }] }) +
      delta({}, "stop") +
      DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "tool_call_start", index: 0, id: "c3", name: "a" },
      { type: "tool_call_delta", index: 0, arguments: "{}" },
      { type: "tool_call_start", index: 1, id: "c1", name: "b" },
      { type: "tool_call_delta", index: 1, arguments: "{}" },
      // "stop" with tool calls (Ollama-compat, vLLM) is a tool-call finish
      { type: "finish", reason: "tool_calls" },
    ],
  },
  {
    name: "content and finish_reason in one chunk, usage inside it, no [DONE]",
    sse: delta({ role: "assistant", content: "All at once" }, "length", { usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } }),
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "All at once" },
      { type: "finish", reason: "length" },
      { type: "usage", usage: { inputTokens: 2, outputTokens: 3 } },
    ],
  },
  {
    name: "no finish at [DONE] → stop; reasoning_content and reasoning → thinking",
    sse: delta({ reasoning_content: "Let me think" }) + delta({ reasoning: "more" }) + delta({ content: "Answer" }) + DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "thinking", text: "Let me think" },
      { type: "thinking", text: "more" },
      { type: "text", text: "Answer" },
      { type: "finish", reason: "stop" },
    ],
  },
  {
    name: "no finish at EOF with tool calls → tool_calls",
    sse: delta({ tool_calls: [{ index: 0, id: "c", function: { name: "f", arguments: '{"a":1}' } }] }),
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "tool_call_start", index: 0, id: "c", name: "f" },
      { type: "tool_call_delta", index: 0, arguments: '{"a":1}' },
      { type: "finish", reason: "tool_calls" },
    ],
  },
  {
    name: "comment lines, keep-alives and extra finish reasons (OpenRouter, Mistral, Together)",
    sse: ": OPENROUTER PROCESSING\n\n" + delta({ content: "x" }) + ": OPENROUTER PROCESSING\n\n" + delta({}, "model_length") + DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "x" },
      { type: "finish", reason: "length" },
    ],
  },
  {
    name: "eos → stop; usage in every chunk, the last wins",
    sse: delta({ content: "a" }, null, { usage: { prompt_tokens: 1, completion_tokens: 1 } }) + delta({}, "eos", { usage: { prompt_tokens: 1, completion_tokens: 2 } }) + DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "a" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 1, outputTokens: 2 } },
    ],
  },
  {
    name: "Azure: empty first chunk, choices without delta, content_filter finish",
    sse:
      frame({ id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }) +
      delta({ role: "assistant", content: "" }) +
      delta({ content: "Some" }) +
      frame({ id: "", object: "", created: 0, model: "", choices: [{ index: 0, finish_reason: null, content_filter_offsets: { check_offset: 0 } }] }) +
      delta({}, "content_filter") +
      DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "Some" },
      { type: "finish", reason: "content_filter" },
    ],
  },
  {
    name: "vLLM names the stop string; refusal is text; fragments without index (llama.cpp-style)",
    sse:
      delta({ refusal: "I can't." }) +
      frame({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ id: "x1", function: { name: "f", arguments: "{" } }] } }] }) +
      frame({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ function: { arguments: "}" } }] } }] }) +
      frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop", stop_reason: "END" }] }) +
      DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "I can't." },
      { type: "tool_call_start", index: 0, id: "x1", name: "f" },
      { type: "tool_call_delta", index: 0, arguments: "{" },
      { type: "tool_call_delta", index: 0, arguments: "}" },
      { type: "finish", reason: "tool_calls" },
    ],
  },
  {
    name: "Mistral reasoning: content as parts with thinking chunks",
    sse:
      delta({ role: "assistant", content: [{ type: "thinking", thinking: [{ type: "text", text: "Hmm, " }] }] }) +
      delta({ content: [{ type: "thinking", thinking: [{ type: "text", text: "ok." }] }] }) +
      delta({ content: [{ type: "text", text: "Done." }] }) +
      delta({ content: "" }, "stop", { usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }) +
      DONE,
    events: [
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "thinking", text: "Hmm, " },
      { type: "thinking", text: "ok." },
      { type: "text", text: "Done." },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 9 } },
    ],
  },
];

describe("decodeChatStream: table", () => {
  for (const c of table) test(c.name, async () => expect(await decode(c.sse)).toEqual(c.events));
});

describe("decodeChatStream: framing", () => {
  const unicode = delta({ role: "assistant", content: "" }) + delta({ content: "héllo 🌍 " }) + delta({ content: "日本語" }) + delta({}, "stop") + usageChunk({ prompt_tokens: 3, completion_tokens: 4 }) + DONE;
  const expected: StreamEvent[] = [
    { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
    { type: "text", text: "héllo 🌍 " },
    { type: "text", text: "日本語" },
    { type: "finish", reason: "stop" },
    { type: "usage", usage: { inputTokens: 3, outputTokens: 4 } },
  ];

  test("split into two at every byte offset (inside UTF-8 characters too)", async () => {
    const bytes = encodeText(unicode);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const events = await collect(decodeChatStream(bytesIn(bytes, [cut]), ctx));
      if (JSON.stringify(events) !== JSON.stringify(expected)) throw new Error(`split at byte ${cut} decoded wrongly: ${JSON.stringify(events)}`);
    }
  });

  test("one byte at a time", async () => {
    const bytes = encodeText(unicode);
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    expect(await collect(decodeChatStream(bytesIn(bytes, cuts), ctx))).toEqual(expected);
  });

  test("CRLF line endings", async () => {
    expect(await decode(unicode.replace(/\n/g, "\r\n"))).toEqual(expected);
    const bytes = encodeText(unicode.replace(/\n/g, "\r\n"));
    for (let cut = 0; cut <= bytes.length; cut += 7) expect(await collect(decodeChatStream(bytesIn(bytes, [cut]), ctx))).toEqual(expected);
  });

  test("nothing after [DONE] is read", async () => {
    expect(await decode(delta({ content: "a" }) + DONE + "data: {broken\n\n")).toEqual([
      { type: "start", id: "chatcmpl-1", model: "gpt-4o-mini" },
      { type: "text", text: "a" },
      { type: "finish", reason: "stop" },
    ]);
  });

  test("the fold of a stream is the whole answer", async () => {
    const r = foldEvents(await decode(table[1]!.sse));
    expect(r.content).toEqual([
      { type: "tool_call", id: "call_abc", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "tool_call", id: "call_def", name: "get_time", arguments: "{}" },
    ]);
    expect(r.finishReason).toBe("tool_calls");
  });
});

describe("decodeChatStream: failures", () => {
  const fails = async (sse: string) => {
    try {
      await decode(sse);
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError);
      return e as GatewayError;
    }
    throw new Error("expected the stream to fail");
  };

  test("data: {error} mid-stream → thrown, with kind from its type and the text so far delivered", async () => {
    const events: StreamEvent[] = [];
    const err = await (async () => {
      for await (const ev of decodeChatStream(bytesIn(encodeText(delta({ content: "part" }) + frame({ error: { message: "The server had an error", type: "server_error", param: null, code: null } }) + DONE)), ctx)) events.push(ev);
    })().catch((e) => e as GatewayError);
    expect(events.map((e) => e.type)).toEqual(["start", "text"]);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err!.kind).toBe("upstream_error");
    expect(err!.provider).toBe("up");
    expect(err!.message).toBe("up: The server had an error");
  });

  test("OpenRouter mid-stream error with numeric code → that status's kind", async () => {
    const err = await fails(delta({ content: "x" }) + frame({ error: { code: 429, message: "Rate limit exceeded upstream" } }));
    expect(err.kind).toBe("rate_limited");
    expect(err.status).toBe(429);
  });

  test("event: error frame", async () => {
    const err = await fails(`event: error\ndata: ${JSON.stringify({ error: { message: "overloaded", type: "overloaded_error" } })}\n\n`);
    expect(err.kind).toBe("overloaded");
  });

  test("finish_reason error → upstream_error", async () => {
    const err = await fails(delta({ content: "x" }) + delta({}, "error"));
    expect(err.kind).toBe("upstream_error");
    expect(err.code).toBe("finish_reason_error");
  });

  test("a chunk that is not JSON → upstream_error, message scrubbed of the key", async () => {
    const err = await fails(delta({ content: "x" }) + "data: {oops sk-secret-value\n\n");
    expect(err.kind).toBe("upstream_error");
    expect(err.message).not.toContain("sk-secret-value");
  });

  test("a 200 with no SSE at all → upstream_error", async () => {
    expect((await fails("<html>gateway page</html>")).kind).toBe("upstream_error");
  });
});

describe("decodeChatResponse (non-stream)", () => {
  test("text, reasoning, tool calls, usage — the events a stream of it gives", () => {
    const json = {
      id: "chatcmpl-9",
      object: "chat.completion",
      model: "gpt-4o",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            reasoning_content: "thinking",
            content: "Sure.",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "a", arguments: '{"x":1}' } },
              { type: "function", function: { name: "b", arguments: "" } },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 82, completion_tokens: 17, total_tokens: 99, prompt_tokens_details: { cached_tokens: 0 } },
    };
    const events = decodeChatResponse(json, ctx);
    expect(events.map((e) => e.type)).toEqual(["start", "thinking", "text", "tool_call_start", "tool_call_delta", "tool_call_start", "finish", "usage"]);
    const r = foldEvents(events);
    expect(r.id).toBe("chatcmpl-9");
    expect(r.content[0]).toEqual({ type: "thinking", text: "thinking" });
    expect(r.content[1]).toEqual({ type: "text", text: "Sure." });
    expect(r.content[2]).toEqual({ type: "tool_call", id: "call_1", name: "a", arguments: '{"x":1}' });
    expect(r.content[3]).toMatchObject({ type: "tool_call", name: "b", arguments: "{}" });
    expect((r.content[3] as { id: string }).id).toMatch(/^call_/);
    expect(r.finishReason).toBe("tool_calls");
    expect(r.usage).toEqual({ inputTokens: 82, outputTokens: 17 });
  });

  test("no usage reported → no usage event (the router estimates)", () => {
    const events = decodeChatResponse({ id: "x", model: "m", choices: [{ index: 0, message: { content: "hi" }, finish_reason: "stop" }] }, ctx);
    expect(events.some((e) => e.type === "usage")).toBe(false);
  });

  test("9-char tool ids the request minted are mapped back", () => {
    const toolIds = new NineCharToolIds();
    const sent = toolIds.toUpstream("toolu_original");
    const events = decodeChatResponse({ id: "x", model: "m", choices: [{ index: 0, message: { tool_calls: [{ id: sent, function: { name: "f", arguments: "{}" } }] }, finish_reason: "tool_calls" }] }, { ...ctx, toolIds });
    expect(events.find((e) => e.type === "tool_call_start")).toMatchObject({ id: "toolu_original" });
  });

  test("an error body with status 200, no choices, not an object → upstream errors", () => {
    expect(() => decodeChatResponse({ error: { message: "Provider returned error", code: 502 } }, ctx)).toThrow("up: Provider returned error");
    expect(() => decodeChatResponse({ id: "x", choices: [] }, ctx)).toThrow(GatewayError);
    expect(() => decodeChatResponse([1, 2], ctx)).toThrow(GatewayError);
  });
});
