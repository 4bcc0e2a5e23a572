import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";

// The three original client protocols through their official SDKs, behind one small shape, for
// tests that must hold "in every client protocol": an answer's text, its tool calls as the client
// sees them (OpenAI arguments stay a string, Anthropic `input` and Ollama `arguments` are objects),
// the response headers, and any failure as the SDK reports it (status, message, error type).

export type ClientName = "openai" | "anthropic" | "ollama";

export const CLIENTS: readonly ClientName[] = ["openai", "anthropic", "ollama"];

export interface SdkToolCall {
  name: string;
  /** OpenAI: the arguments string as received; Anthropic and Ollama: the object. */
  args: unknown;
}

export interface SdkAnswer {
  text: string;
  toolCalls: SdkToolCall[];
  headers: Headers;
}

export interface SdkFailure {
  status: number;
  message: string;
  /** OpenAI `error.type`, Anthropic `error.error.type`; undefined for Ollama (its errors have none). */
  type?: string;
  /** Response headers, where the SDK keeps them (OpenAI, Anthropic). */
  headers?: Headers;
}

export interface SdkCall {
  model: string;
  stream: boolean;
  text?: string;
  /** Offer one tool (`lookup`, one string parameter). */
  tools?: boolean;
  /** Extra request headers (an admin key, say). */
  headers?: Record<string, string>;
}

export interface SdkClient {
  name: ClientName;
  chat(call: SdkCall): Promise<SdkAnswer>;
}

const TOOL = { name: "lookup", description: "Look a word up", parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] } };

export function sdkClient(name: ClientName, baseUrl: string, apiKey = "none"): SdkClient {
  if (name === "openai") return openaiClient(baseUrl, apiKey);
  if (name === "anthropic") return anthropicClient(baseUrl, apiKey);
  return ollamaClient(baseUrl, apiKey);
}

function openaiClient(baseUrl: string, apiKey: string): SdkClient {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0 });
  return {
    name: "openai",
    async chat(call) {
      const params = {
        model: call.model,
        messages: [{ role: "user" as const, content: call.text ?? "hi" }],
        ...(call.tools ? { tools: [{ type: "function" as const, function: TOOL }] } : {}),
      };
      const opts = { headers: call.headers };
      if (!call.stream) {
        const { data, response } = await client.chat.completions.create({ ...params, stream: false }, opts).withResponse();
        const m = data.choices[0]!.message;
        const toolCalls = (m.tool_calls ?? []).map((c) => (c.type === "function" ? { name: c.function.name, args: c.function.arguments } : { name: c.type, args: undefined }));
        return { text: m.content ?? "", toolCalls, headers: response.headers };
      }
      const { data: stream, response } = await client.chat.completions.create({ ...params, stream: true }, opts).withResponse();
      let text = "";
      const calls = new Map<number, SdkToolCall & { args: string }>();
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta;
        text += delta?.content ?? "";
        for (const t of delta?.tool_calls ?? []) {
          const call = calls.get(t.index) ?? { name: "", args: "" };
          call.name += t.function?.name ?? "";
          call.args += t.function?.arguments ?? "";
          calls.set(t.index, call);
        }
      }
      return { text, toolCalls: [...calls.values()], headers: response.headers };
    },
  };
}

function anthropicClient(baseUrl: string, apiKey: string): SdkClient {
  const client = new Anthropic({ baseURL: baseUrl, apiKey, maxRetries: 0 });
  return {
    name: "anthropic",
    async chat(call) {
      const params = {
        model: call.model,
        max_tokens: 256,
        messages: [{ role: "user" as const, content: call.text ?? "hi" }],
        ...(call.tools ? { tools: [{ name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters as Anthropic.Tool.InputSchema }] } : {}),
      };
      const opts = { headers: call.headers };
      let message: Anthropic.Message;
      let headers: Headers;
      if (!call.stream) {
        const { data, response } = await client.messages.create(params, opts).withResponse();
        message = data;
        headers = response.headers;
      } else {
        // The SDK's own stream helper: it assembles tool input from its JSON deltas.
        const stream = client.messages.stream(params, opts);
        const { response } = await stream.withResponse();
        headers = response.headers;
        message = await stream.finalMessage();
      }
      let text = "";
      const toolCalls: SdkToolCall[] = [];
      for (const block of message.content) {
        if (block.type === "text") text += block.text;
        else if (block.type === "tool_use") toolCalls.push({ name: block.name, args: block.input });
      }
      return { text, toolCalls, headers };
    },
  };
}

function ollamaClient(baseUrl: string, apiKey: string): SdkClient {
  return {
    name: "ollama",
    async chat(call) {
      let headers = new Headers();
      // The Ollama SDK hides its responses; a fetch of our own sees their headers.
      const seeing: typeof fetch = Object.assign(
        async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
          const res = await fetch(input, init);
          headers = res.headers;
          return res;
        },
        { preconnect: fetch.preconnect },
      );
      const client = new Ollama({ host: baseUrl, fetch: seeing, headers: { authorization: `Bearer ${apiKey}`, ...call.headers } });
      const params = {
        model: call.model,
        messages: [{ role: "user", content: call.text ?? "hi" }],
        ...(call.tools ? { tools: [{ type: "function", function: TOOL }] } : {}),
      };
      let text = "";
      const toolCalls: SdkToolCall[] = [];
      const take = (m: { content: string; tool_calls?: { function: { name: string; arguments: unknown } }[] }) => {
        text += m.content;
        for (const c of m.tool_calls ?? []) toolCalls.push({ name: c.function.name, args: c.function.arguments });
      };
      if (!call.stream) take((await client.chat({ ...params, stream: false })).message);
      else {
        let done = false;
        for await (const part of await client.chat({ ...params, stream: true })) {
          take(part.message);
          done = part.done;
        }
        if (!done) throw new Error("Ollama stream ended without a done:true line");
      }
      return { text, toolCalls, headers };
    },
  };
}

/** A failure as the client's SDK reports it; rethrows anything that is not an SDK error. */
export function sdkFailure(e: unknown): SdkFailure {
  if (e instanceof OpenAI.APIError) {
    const body = e.error as { type?: string; message?: string } | undefined;
    return { status: e.status ?? 0, message: body?.message ?? e.message, type: body?.type, headers: e.headers ?? undefined };
  }
  if (e instanceof Anthropic.APIError) {
    const body = e.error as { error?: { type?: string; message?: string } } | undefined;
    return { status: e.status ?? 0, message: body?.error?.message ?? e.message, type: body?.error?.type, headers: e.headers ?? undefined };
  }
  const o = e as { name?: string; status_code?: number; error?: string; message?: string };
  if (o?.name === "ResponseError") return { status: o.status_code ?? 0, message: o.error ?? o.message ?? "" };
  throw e;
}

/** Runs a call that must fail and returns how the SDK reported it. */
export async function sdkFails(client: SdkClient, call: SdkCall): Promise<SdkFailure> {
  try {
    await client.chat(call);
  } catch (e) {
    // An error line inside an Ollama stream: its SDK throws a plain Error with the line's text.
    if (client.name === "ollama" && e instanceof Error && e.name === "Error") return { status: 0, message: e.message };
    return sdkFailure(e);
  }
  throw new Error(`${client.name} ${call.stream ? "stream" : "call"} to ${call.model} succeeded; a failure was expected`);
}
