import Anthropic from "@anthropic-ai/sdk";
import { Ollama, type Message as OllamaMessage } from "ollama";
import OpenAI from "openai";
import { geminiDriver } from "./gemini-client";
import type { CallInput, ChatInput, ClientAnswer, ClientDriver, InboundName } from "./types";

// One "client driver" per inbound protocol: turns a protocol-neutral ChatInput into a call of that
// protocol's official SDK, and reads the answer back through the same SDK (its stream helpers
// included, which reject malformed event sequences). Nothing here reads lmrelay's wire by hand.

const parseArgs = (s: string): Record<string, unknown> => (s ? JSON.parse(s) : {});

function openaiDriver(baseUrl: string): ClientDriver {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "matrix", maxRetries: 0 });

  function messages(input: ChatInput): OpenAI.ChatCompletionMessageParam[] {
    const out: OpenAI.ChatCompletionMessageParam[] = [];
    if (input.system) out.push({ role: "system", content: input.system });
    for (const t of input.turns) {
      if (t.role === "user") {
        if (!t.image) out.push({ role: "user", content: t.text });
        else {
          const url = t.image.kind === "url" ? t.image.url : `data:${t.image.mediaType};base64,${t.image.data}`;
          out.push({ role: "user", content: [{ type: "text", text: t.text }, { type: "image_url", image_url: { url } }] });
        }
      } else if (t.role === "assistant") {
        const calls = (t.toolCalls ?? []).map((c) => ({ id: c.id!, type: "function" as const, function: { name: c.name, arguments: JSON.stringify(c.args) } }));
        // As the SDK's own tool loop sends it: content null beside tool calls.
        out.push(calls.length ? { role: "assistant", content: t.text ?? null, tool_calls: calls } : { role: "assistant", content: t.text ?? "" });
      } else out.push({ role: "tool", tool_call_id: t.callId!, content: t.content });
    }
    return out;
  }

  function params(input: ChatInput): OpenAI.ChatCompletionCreateParamsNonStreaming {
    const p: OpenAI.ChatCompletionCreateParamsNonStreaming = { model: input.model, messages: messages(input), max_tokens: input.maxTokens };
    if (input.tools) p.tools = input.tools.map((t) => ({ type: "function", function: t }));
    if (input.stop) p.stop = input.stop;
    if (input.json)
      p.response_format = input.json.schema ? { type: "json_schema", json_schema: { name: "answer", schema: input.json.schema } } : { type: "json_object" };
    return p;
  }

  function answer(completion: OpenAI.ChatCompletion): ClientAnswer {
    const choice = completion.choices[0]!;
    const u = completion.usage;
    return {
      text: choice.message.content ?? "",
      toolCalls: (choice.message.tool_calls ?? []).map((c) => {
        if (c.type !== "function") throw new Error(`unexpected tool call type ${c.type}`);
        return { id: c.id, name: c.function.name, args: parseArgs(c.function.arguments) };
      }),
      finish: choice.finish_reason,
      usage: u && { input: u.prompt_tokens, output: u.completion_tokens, cacheRead: u.prompt_tokens_details?.cached_tokens },
    };
  }

  return {
    name: "openai",
    reportsCacheReads: true,
    reportsCacheWrites: false,
    finishFor: (r) => (r === "stop_sequence" ? "stop" : r),
    async chat(input, stream) {
      if (!stream) return answer(await client.chat.completions.create(params(input)));
      // The SDK's stream helper assembles tool-call fragments and rejects inconsistent chunks.
      const runner = client.chat.completions.stream({ ...params(input), stream: true, stream_options: { include_usage: true } });
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of runner) if (chunk.usage) usage = chunk.usage;
      const final = await runner.finalChatCompletion();
      return answer({ ...final, usage });
    },
  };
}

function anthropicDriver(baseUrl: string): ClientDriver {
  const client = new Anthropic({ baseURL: baseUrl, apiKey: "matrix", maxRetries: 0 });

  function messages(input: ChatInput): Anthropic.MessageParam[] {
    const out: Anthropic.MessageParam[] = [];
    for (const t of input.turns) {
      if (t.role === "user") {
        const blocks: Anthropic.ContentBlockParam[] = [];
        if (t.image?.kind === "base64")
          blocks.push({ type: "image", source: { type: "base64", media_type: t.image.mediaType as "image/png", data: t.image.data } });
        else if (t.image?.kind === "url") blocks.push({ type: "image", source: { type: "url", url: t.image.url } });
        blocks.push({ type: "text", text: t.text });
        out.push({ role: "user", content: blocks });
      } else if (t.role === "assistant") {
        const blocks: Anthropic.ContentBlockParam[] = [];
        if (t.text) blocks.push({ type: "text", text: t.text });
        for (const c of t.toolCalls ?? []) blocks.push({ type: "tool_use", id: c.id!, name: c.name, input: c.args });
        out.push({ role: "assistant", content: blocks });
      } else {
        const result: Anthropic.ToolResultBlockParam = { type: "tool_result", tool_use_id: t.callId!, content: t.content };
        // Results of one assistant turn travel together in one user message.
        const last = out.at(-1);
        if (last?.role === "user" && Array.isArray(last.content) && last.content.every((b) => b.type === "tool_result")) last.content.push(result);
        else out.push({ role: "user", content: [result] });
      }
    }
    return out;
  }

  function params(input: ChatInput): Anthropic.MessageCreateParamsNonStreaming {
    const p: Anthropic.MessageCreateParamsNonStreaming = { model: input.model, max_tokens: input.maxTokens, messages: messages(input) };
    if (input.system) p.system = input.system;
    if (input.tools) p.tools = input.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters as Anthropic.Tool.InputSchema }));
    if (input.stop) p.stop_sequences = input.stop;
    // Structured outputs: `output_config.format` (the SDK types may not know it yet; the wire does).
    // Anthropic's API always wants a schema; lmrelay also takes the format without one.
    if (input.json) Object.assign(p, { output_config: { format: { type: "json_schema", ...(input.json.schema && { schema: input.json.schema }) } } });
    return p;
  }

  function answer(m: Anthropic.Message): ClientAnswer {
    let text = "";
    const toolCalls: CallInput[] = [];
    for (const b of m.content) {
      if (b.type === "text") text += b.text;
      else if (b.type === "tool_use") toolCalls.push({ id: b.id, name: b.name, args: b.input as Record<string, unknown> });
    }
    const u = m.usage;
    const read = u.cache_read_input_tokens ?? 0;
    const write = u.cache_creation_input_tokens ?? 0;
    return {
      text,
      toolCalls,
      finish: m.stop_reason,
      stopSequence: m.stop_sequence,
      usage: { input: u.input_tokens + read + write, output: u.output_tokens, cacheRead: read, cacheWrite: write },
    };
  }

  const FINISH = { stop: "end_turn", stop_sequence: "stop_sequence", tool_calls: "tool_use", length: "max_tokens" } as const;
  return {
    name: "anthropic",
    reportsCacheReads: true,
    reportsCacheWrites: true,
    finishFor: (r) => FINISH[r],
    async chat(input, stream) {
      if (!stream) return answer(await client.messages.create(params(input)));
      // MessageStream checks the event sequence and assembles tool input JSON.
      return answer(await client.messages.stream(params(input)).finalMessage());
    },
  };
}

function ollamaDriver(baseUrl: string): ClientDriver {
  const client = new Ollama({ host: baseUrl });

  function messages(input: ChatInput): OllamaMessage[] {
    const out: OllamaMessage[] = [];
    if (input.system) out.push({ role: "system", content: input.system });
    for (const t of input.turns) {
      if (t.role === "user") {
        if (t.image?.kind === "url") throw new Error("the Ollama protocol has no image URLs");
        out.push(t.image ? { role: "user", content: t.text, images: [t.image.data] } : { role: "user", content: t.text });
      } else if (t.role === "assistant") {
        // Ollama clients echo calls without ids (the SDK's ToolCall type has none).
        const msg: OllamaMessage = { role: "assistant", content: t.text ?? "" };
        if (t.toolCalls?.length) msg.tool_calls = t.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.args } }));
        out.push(msg);
      } else out.push({ role: "tool", content: t.content, tool_name: t.name });
    }
    return out;
  }

  function request(input: ChatInput) {
    const options: Record<string, unknown> = { num_predict: input.maxTokens };
    if (input.stop) options.stop = input.stop;
    return {
      model: input.model,
      messages: messages(input),
      options,
      ...(input.tools && { tools: input.tools.map((t) => ({ type: "function", function: t })) }),
      ...(input.json && { format: input.json.schema ?? "json" }),
    };
  }

  const calls = (m: OllamaMessage): CallInput[] => (m.tool_calls ?? []).map((c) => ({ name: c.function.name, args: c.function.arguments }));

  return {
    name: "ollama",
    reportsCacheReads: false,
    reportsCacheWrites: false,
    // Ollama has no tool-call or stop-sequence reason: tool calls show in the message.
    finishFor: (r) => (r === "length" ? "length" : "stop"),
    async chat(input, stream) {
      if (!stream) {
        const r = await client.chat({ ...request(input), stream: false });
        return { text: r.message.content, toolCalls: calls(r.message), finish: r.done_reason, usage: { input: r.prompt_eval_count, output: r.eval_count } };
      }
      let text = "";
      const toolCalls: CallInput[] = [];
      let last: Awaited<ReturnType<typeof client.chat>> | undefined;
      for await (const part of await client.chat({ ...request(input), stream: true })) {
        if (last?.done) throw new Error("Ollama stream continued after done:true");
        text += part.message.content;
        toolCalls.push(...calls(part.message));
        last = part;
      }
      if (!last?.done) throw new Error("Ollama stream ended without a done:true line");
      return { text, toolCalls, finish: last.done_reason, usage: { input: last.prompt_eval_count, output: last.eval_count } };
    },
  };
}

const DRIVERS: Record<InboundName, (baseUrl: string) => ClientDriver> = { openai: openaiDriver, anthropic: anthropicDriver, ollama: ollamaDriver, gemini: geminiDriver };

export const INBOUNDS: InboundName[] = ["openai", "anthropic", "ollama", "gemini"];

export function clientFor(name: InboundName, baseUrl: string): ClientDriver {
  return DRIVERS[name](baseUrl);
}

/** One driver per inbound protocol, all pointed at one gateway. */
export function clientsFor(baseUrl: string): Record<InboundName, ClientDriver> {
  return Object.fromEntries(INBOUNDS.map((n) => [n, clientFor(n, baseUrl)])) as Record<InboundName, ClientDriver>;
}
