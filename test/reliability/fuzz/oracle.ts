import type { Protocol } from "../../../src/core/types";

// What every answer must look like: a 4xx in the caller's protocol shape, or a valid answer in
// that protocol (JSON, SSE or NDJSON, complete). Returns a description of the first problem found.

export interface Answer {
  method?: string;
  status: number;
  headers: Headers;
  text: string;
}

/** Error messages come from lmrelay itself or from a named upstream. */
const ERROR_PREFIX = /^(lmrelay|up|ant|echo): /;

export function checkAnswer(protocol: Protocol, ans: Answer, opts: { allowUpstreamErrors?: boolean; loose?: boolean } = {}): string | undefined {
  // Bun's HTTP parser refuses oversized header blocks itself, before any route runs (and so
  // without a protocol shape): that is a refusal, not a failure.
  if (ans.status === 431) return undefined;
  if (!opts.loose && !ans.headers.get("x-request-id")) return `no x-request-id header on a ${ans.status}: ${ans.text.slice(0, 200)}`;
  if (ans.status >= 500 && !(opts.allowUpstreamErrors && ans.status !== 500)) return `status ${ans.status}: ${ans.text.slice(0, 300)}`;
  if (ans.method === "HEAD") return undefined; // no body to judge
  if (ans.status >= 400) return checkError(protocol, ans);
  if (ans.status < 200 || ans.status >= 300) return `unexpected status ${ans.status}`;
  const type = ans.headers.get("content-type") ?? "";
  if (type.startsWith("text/event-stream"))
    return protocol === "anthropic" ? checkAnthropicSse(ans.text) : protocol === "gemini" ? checkGeminiSse(ans.text) : protocol === "responses" ? checkResponsesSse(ans.text) : checkOpenAISse(ans.text);
  if (type.startsWith("application/x-ndjson")) return checkNdjson(ans.text);
  if (type.startsWith("application/json")) {
    const body = parse(ans.text);
    if (body === undefined) return `200 with a body that is not JSON: ${ans.text.slice(0, 200)}`;
    return opts.loose ? undefined : checkJsonSuccess(protocol, body);
  }
  if (opts.loose && type.startsWith("text/html")) return undefined; // the dashboard page
  if (type.startsWith("text/plain")) return undefined; // Ollama's `GET /`
  return `200 with content type ${type}`;
}

function parse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function checkError(protocol: Protocol, ans: Answer): string | undefined {
  const body = parse(ans.text);
  if (body === undefined) return `${ans.status} with a body that is not JSON: ${ans.text.slice(0, 200)}`;
  let message: unknown;
  if (protocol === "openai" || protocol === "responses") {
    if (typeof body.error?.type !== "string") return `${ans.status} not in OpenAI's error shape: ${ans.text.slice(0, 200)}`;
    message = body.error.message;
  } else if (protocol === "anthropic") {
    if (body.type !== "error" || typeof body.error?.type !== "string") return `${ans.status} not in Anthropic's error shape: ${ans.text.slice(0, 200)}`;
    message = body.error.message;
  } else if (protocol === "gemini") {
    if (body.error?.code !== ans.status || typeof body.error?.status !== "string") return `${ans.status} not in Google's error shape: ${ans.text.slice(0, 200)}`;
    message = body.error.message;
  } else {
    if (typeof body.error !== "string") return `${ans.status} not in Ollama's error shape: ${ans.text.slice(0, 200)}`;
    message = body.error;
  }
  if (typeof message !== "string" || !ERROR_PREFIX.test(message)) return `${ans.status} error message without a source prefix: ${String(message).slice(0, 200)}`;
  return undefined;
}

function checkJsonSuccess(protocol: Protocol, body: any): string | undefined {
  if (!body || typeof body !== "object") return "200 with a JSON body that is not an object";
  if (protocol === "openai") {
    if (body.object === "chat.completion" && body.choices?.[0]?.message) return undefined;
    if (body.object === "text_completion" && Array.isArray(body.choices)) return undefined;
    if (body.object === "list" && Array.isArray(body.data)) return undefined;
    if (body.object === "model" && typeof body.id === "string") return undefined;
    return `200 that is no OpenAI answer: ${JSON.stringify(body).slice(0, 200)}`;
  }
  if (protocol === "responses") {
    if (body.object === "response" && typeof body.id === "string" && Array.isArray(body.output) && body.status !== "failed") return undefined;
    if (body.object === "list" && Array.isArray(body.data)) return undefined;
    return `200 that is no Responses answer: ${JSON.stringify(body).slice(0, 200)}`;
  }
  if (protocol === "anthropic") {
    if (body.type === "message" && Array.isArray(body.content)) return undefined;
    if (typeof body.input_tokens === "number") return undefined;
    if (Array.isArray(body.data) || body.type === "model") return undefined;
    return `200 that is no Anthropic answer: ${JSON.stringify(body).slice(0, 200)}`;
  }
  if (protocol === "gemini") return checkGeminiJson(body);
  if ("error" in body) return `200 with an error: ${JSON.stringify(body).slice(0, 200)}`;
  return undefined;
}

/** A generateContent answer, a streamed array of them, a count, embeddings or the model list. */
function checkGeminiJson(body: any): string | undefined {
  const answers = Array.isArray(body) ? body : [body];
  for (const a of answers) {
    if (!a || typeof a !== "object" || "error" in a) return `200 with an error or a non-object: ${JSON.stringify(a).slice(0, 200)}`;
    if (Array.isArray(a.candidates) || typeof a.totalTokens === "number" || Array.isArray(a.embedding?.values) || Array.isArray(a.embeddings) || Array.isArray(a.models) || typeof a.name === "string") continue;
    return `200 that is no Gemini answer: ${JSON.stringify(a).slice(0, 200)}`;
  }
  if (Array.isArray(body) && !body.at(-1)?.candidates?.[0]?.finishReason) return "streamed array without a final finishReason";
  return undefined;
}

/** Gemini SSE: CRLF-separated `data:` frames, each a whole answer; no [DONE]; the last has the finish reason. */
function checkGeminiSse(text: string): string | undefined {
  const events = sseEvents(text.replace(/\r\n/g, "\n"));
  if (typeof events === "string") return events;
  let last: any;
  for (const ev of events) {
    last = parse(ev.data);
    if (!last || typeof last !== "object") return `SSE data that is not JSON: ${ev.data.slice(0, 120)}`;
    if (last.error) return `error frame in a stream from a healthy upstream: ${ev.data.slice(0, 200)}`;
  }
  if (!last?.candidates?.[0]?.finishReason) return "Gemini stream without a final finishReason";
  return undefined;
}

function sseEvents(text: string): { event?: string; data: string }[] | string {
  if (!text.endsWith("\n\n")) return `stream does not end with a blank line: …${JSON.stringify(text.slice(-80))}`;
  const out: { event?: string; data: string }[] = [];
  for (const block of text.slice(0, -2).split("\n\n")) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
      else if (line !== "" && !line.startsWith(":")) return `bad SSE line ${JSON.stringify(line.slice(0, 80))}`;
    }
    out.push({ event, data: data.join("\n") });
  }
  return out;
}

function checkOpenAISse(text: string): string | undefined {
  const events = sseEvents(text);
  if (typeof events === "string") return events;
  if (events.at(-1)?.data !== "[DONE]") return `OpenAI stream not closed by [DONE]: …${JSON.stringify(text.slice(-120))}`;
  for (const ev of events.slice(0, -1)) {
    const chunk = parse(ev.data);
    if (!chunk || typeof chunk !== "object") return `SSE data that is not JSON: ${ev.data.slice(0, 120)}`;
    if (chunk.error) return `error frame in a stream from a healthy upstream: ${ev.data.slice(0, 200)}`;
  }
  return undefined;
}

/** Every frame an `event:` with JSON data of the same `type`, sequence numbers 0, 1, 2…, opened by
 *  response.created and closed by response.completed or .incomplete (the upstreams are healthy). */
function checkResponsesSse(text: string): string | undefined {
  const events = sseEvents(text);
  if (typeof events === "string") return events;
  let seq = 0;
  for (const ev of events) {
    if (ev.event === undefined && ev.data === "") continue; // a keep-alive comment
    const data = parse(ev.data);
    if (!data || data.type !== ev.event) return `Responses frame whose data type is not its event: ${ev.event} ${ev.data.slice(0, 120)}`;
    if (data.sequence_number !== seq++) return `Responses frame out of sequence: ${ev.data.slice(0, 120)}`;
  }
  const types = events.filter((e) => e.event).map((e) => e.event);
  if (types[0] !== "response.created") return "Responses stream does not open with response.created";
  const last = types.at(-1);
  if (last !== "response.completed" && last !== "response.incomplete") return `Responses stream not closed by response.completed: …${JSON.stringify(text.slice(-200))}`;
  return undefined;
}

function checkAnthropicSse(text: string): string | undefined {
  const events = sseEvents(text);
  if (typeof events === "string") return events;
  if (events[0]?.event !== "message_start") return "Anthropic stream does not open with message_start";
  if (events.at(-1)?.event !== "message_stop") return `Anthropic stream not closed by message_stop: …${JSON.stringify(text.slice(-160))}`;
  for (const ev of events) {
    if (ev.event === "error") return `error frame in a stream from a healthy upstream: ${ev.data.slice(0, 200)}`;
    if (parse(ev.data) === undefined) return `SSE data that is not JSON: ${ev.data.slice(0, 120)}`;
  }
  return undefined;
}

function checkNdjson(text: string): string | undefined {
  const lines = text.split("\n");
  if (lines.pop() !== "") return "NDJSON stream does not end with a newline";
  let last: any;
  for (const line of lines) {
    last = parse(line);
    if (!last || typeof last !== "object") return `NDJSON line that is not a JSON object: ${line.slice(0, 120)}`;
    if ("error" in last) return `error line in a stream from a healthy upstream: ${line.slice(0, 200)}`;
  }
  if (last?.done !== true) return "NDJSON stream without a final done:true line";
  return undefined;
}
