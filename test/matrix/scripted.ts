import { chunkedBody, type RecordedRequest, record } from "../fakes/common";
import type { ProviderConfig } from "../../src/config/define";

// A scripted upstream for the answer quirks the well-behaved fakes never produce: streams and
// answers with no finish reason at all, and streams that carry no usage (servers that ignore
// `stream_options`, Gemini chunks without usageMetadata, Cohere message-end without usage). One
// server on 127.0.0.1 answers every wire format by path, each in that format's exact framing.

export type ScriptedWire = "openai" | "anthropic" | "gemini" | "cohere" | "ollama";

export interface Script {
  /** Answer with one tool call (get_weather {city: Paris}) instead of text. */
  tool: boolean;
  /** Report token usage (prompt 11, output 3). */
  usage: boolean;
}

export interface ScriptedUpstream {
  url: string;
  requests: RecordedRequest[];
  script: Script;
  providers: Record<ScriptedWire, ProviderConfig>;
  models: Record<ScriptedWire, string>;
  stop(): Promise<void>;
}

export const SCRIPTED_TEXT = "Hi there";
const ARGS = { city: "Paris" };
const json = (o: unknown) => JSON.stringify(o);
const sse = (o: unknown, event?: string) => `${event ? `event: ${event}\n` : ""}data: ${json(o)}\n\n`;

function openai(s: Script, stream: boolean): string[] {
  const usage = { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 };
  const head = { id: "chatcmpl-s", object: "chat.completion.chunk", created: 1, model: "scripted" };
  if (!stream) {
    const message = s.tool
      ? { role: "assistant", content: null, tool_calls: [{ id: "call_s1", type: "function", function: { name: "get_weather", arguments: json(ARGS) } }] }
      : { role: "assistant", content: SCRIPTED_TEXT };
    return [json({ ...head, object: "chat.completion", choices: [{ index: 0, message, finish_reason: null }], ...(s.usage && { usage }) })];
  }
  const chunk = (delta: unknown) => sse({ ...head, choices: [{ index: 0, delta, finish_reason: null }] });
  const out = [chunk({ role: "assistant", content: "" })];
  if (s.tool) {
    out.push(chunk({ tool_calls: [{ index: 0, id: "call_s1", type: "function", function: { name: "get_weather", arguments: "" } }] }));
    out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: json(ARGS) } }] }));
  } else out.push(chunk({ content: SCRIPTED_TEXT }));
  if (s.usage) out.push(sse({ ...head, choices: [], usage }));
  return [...out, "data: [DONE]\n\n"];
}

function anthropic(s: Script, stream: boolean): string[] {
  const usage = s.usage ? { input_tokens: 11, output_tokens: 3 } : { input_tokens: 0, output_tokens: 0 };
  const block = s.tool ? { type: "tool_use", id: "toolu_s1", name: "get_weather", input: ARGS } : { type: "text", text: SCRIPTED_TEXT };
  const message = { id: "msg_s", type: "message", role: "assistant", model: "scripted", stop_reason: null, stop_sequence: null };
  if (!stream) return [json({ ...message, content: [block], usage })];
  const start = s.tool ? { ...block, input: {} } : { type: "text", text: "" };
  const delta = s.tool ? { type: "input_json_delta", partial_json: json(ARGS) } : { type: "text_delta", text: SCRIPTED_TEXT };
  return [
    sse({ type: "message_start", message: { ...message, content: [], usage } }, "message_start"),
    sse({ type: "content_block_start", index: 0, content_block: start }, "content_block_start"),
    sse({ type: "content_block_delta", index: 0, delta }, "content_block_delta"),
    sse({ type: "content_block_stop", index: 0 }, "content_block_stop"),
    sse({ type: "message_delta", delta: { stop_reason: null, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }, "message_delta"),
    sse({ type: "message_stop" }, "message_stop"),
  ];
}

function gemini(s: Script, stream: boolean): string[] {
  const part = s.tool ? { functionCall: { name: "get_weather", args: ARGS } } : { text: SCRIPTED_TEXT };
  const body = {
    candidates: [{ content: { parts: [part], role: "model" }, index: 0 }],
    ...(s.usage && { usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 3, totalTokenCount: 14 } }),
    modelVersion: "gemini-2.5-flash",
    responseId: "scripted",
  };
  return stream ? [`data: ${json(body)}\r\n\r\n`] : [json(body)];
}

function cohere(s: Script, stream: boolean): string[] {
  const usage = { billed_units: { input_tokens: 11, output_tokens: 3 }, tokens: { input_tokens: 11, output_tokens: 3 } };
  const call = { id: "get_weather_s1", type: "function", function: { name: "get_weather", arguments: json(ARGS) } };
  if (!stream) {
    const message = s.tool ? { role: "assistant", tool_plan: "", tool_calls: [call] } : { role: "assistant", content: [{ type: "text", text: SCRIPTED_TEXT }] };
    return [json({ id: "s", message, ...(s.usage && { usage }) })];
  }
  const ev = (o: Record<string, unknown>) => sse(o, o.type as string);
  const out = [ev({ id: "s", type: "message-start", delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } } })];
  if (s.tool) {
    out.push(ev({ type: "tool-call-start", index: 0, delta: { message: { tool_calls: { ...call, function: { ...call.function, arguments: "" } } } } }));
    out.push(ev({ type: "tool-call-delta", index: 0, delta: { message: { tool_calls: { function: { arguments: json(ARGS) } } } } }));
    out.push(ev({ type: "tool-call-end", index: 0 }));
  } else {
    out.push(ev({ type: "content-start", index: 0, delta: { message: { content: { type: "text", text: "" } } } }));
    out.push(ev({ type: "content-delta", index: 0, delta: { message: { content: { text: SCRIPTED_TEXT } } } }));
    out.push(ev({ type: "content-end", index: 0 }));
  }
  return [...out, ev({ id: "s", type: "message-end", delta: s.usage ? { usage } : {} })];
}

function ollama(s: Script, stream: boolean): string[] {
  const head = { model: "llama3.2", created_at: "2025-01-01T00:00:00Z" };
  const message = s.tool
    ? { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: ARGS } }] }
    : { role: "assistant", content: SCRIPTED_TEXT };
  const counts = s.usage ? { prompt_eval_count: 11, eval_count: 3 } : {};
  // No done_reason on the last line.
  const done = { ...head, done: true, total_duration: 1000, ...counts };
  if (!stream) return [json({ ...done, message })];
  return [`${json({ ...head, message, done: false })}\n`, `${json({ ...done, message: { role: "assistant", content: "" } })}\n`];
}

const ROUTES: [RegExp, ScriptedWire, (s: Script, stream: boolean) => string[], (body: any, url: string) => boolean][] = [
  [/\/chat\/completions$/, "openai", openai, (b) => b?.stream === true],
  [/\/v1\/messages$/, "anthropic", anthropic, (b) => b?.stream === true],
  [/:(stream)?[gG]enerateContent$/, "gemini", gemini, (_b, url) => url.includes(":streamGenerateContent")],
  [/\/v2\/chat$/, "cohere", cohere, (b) => b?.stream === true],
  [/\/api\/chat$/, "ollama", ollama, (b) => b?.stream !== false],
];

export function startScripted(): ScriptedUpstream {
  const requests: RecordedRequest[] = [];
  const up = { script: { tool: false, usage: true } } as ScriptedUpstream;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const rec = await record(req);
      requests.push(rec);
      const route = ROUTES.find(([path]) => path.test(rec.path));
      if (!route) return new Response(json({ error: "not scripted" }), { status: 404 });
      const [, wire, body, isStream] = route;
      const stream = isStream(rec.body, rec.url);
      const type = !stream ? "application/json" : wire === "ollama" ? "application/x-ndjson" : "text/event-stream";
      return new Response(chunkedBody(body(up.script, stream), {}), { headers: { "content-type": type } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return Object.assign(up, {
    url,
    requests,
    models: { openai: "scripted-model", anthropic: "claude-scripted", gemini: "gemini-2.5-flash", cohere: "command-a-03-2025", ollama: "llama3.2" },
    providers: {
      openai: { type: "openai-compatible", baseUrl: `${url}/v1`, models: ["scripted-model"] },
      anthropic: { type: "anthropic", baseUrl: url, keys: ["k-scripted"], models: ["claude-scripted"] },
      gemini: { type: "gemini", baseUrl: url, keys: ["k-scripted"], models: ["gemini-2.5-flash"] },
      cohere: { type: "cohere", baseUrl: url, keys: ["k-scripted"], models: ["command-a-03-2025"] },
      ollama: { type: "ollama", baseUrl: url, models: ["llama3.2"] },
    } satisfies Record<ScriptedWire, ProviderConfig>,
    stop: () => server.stop(true),
  });
}
