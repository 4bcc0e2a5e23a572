import { applyFault, chunkedBody, fakeControls, type FakeReply, type FakeState, type FakeUpstream, record } from "./common";

// A fake OpenAI server that serves the Responses API natively (`POST …/responses`), for lmrelay's
// passthrough path. Wire rules from the `openai` package's types (resources/responses/responses.d.ts)
// and OpenAI's API reference: `model` and `input` required; items typed; a `function_call_output`
// must answer a `function_call` of the same input (its `call_id`), else 400 "No tool call found";
// `encrypted_content` must be one this server issued (400 "could not be decrypted" otherwise, which is
// what OpenAI answers for another gateway's envelope); `previous_response_id` must name a response it
// stored (404). The stream is the full event sequence with `sequence_number` from 0; its output is
// read back by the `openai` SDK in test/upstream/openai-responses-fake.test.ts.

export interface ResponsesFakeReply extends FakeReply {
  /** Reasoning summary to answer with first (an `rs_` item with this server's encrypted_content). */
  reasoning?: string;
}

export interface ResponsesFake extends FakeUpstream {
  reply(r: ResponsesFakeReply): void;
}

type Json = Record<string, any>;

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const error = (status: number, message: string, param: string | null = null, code: string | null = null) =>
  json({ error: { message, type: "invalid_request_error", param, code } }, status);

const SEALED = "gAAAAB-fake-openai-sealed:";

export async function startResponsesFake(opts: { keys?: string[]; models?: string[] } = {}): Promise<ResponsesFake> {
  const keys = opts.keys ?? ["sk-test"];
  const state: FakeState & { replyWith: ResponsesFakeReply } = { requests: [], faults: [], replyWith: {} };
  const stored = new Map<string, Json[]>();
  let counter = 0;
  const models = { list: opts.models ?? ["gpt-5", "gpt-4o"] };
  const nextId = (p: string) => `${p}_fake${(++counter).toString(16).padStart(6, "0")}`;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req): Promise<Response> {
      const rec = await record(req);
      state.requests.push(rec);
      const url = new URL(req.url);
      const auth = req.headers.get("authorization") ?? "";
      if (keys.length > 0 && !keys.includes(auth.replace(/^Bearer /, ""))) return json({ error: { message: "Incorrect API key provided", type: "invalid_request_error", param: null, code: "invalid_api_key" } }, 401);
      const fault = await applyFault(state);
      if (fault instanceof Response) return fault;
      if (req.method === "GET" && url.pathname.endsWith("/models")) return json({ object: "list", data: models.list.map((id: string) => ({ id, object: "model", created: 0, owned_by: "openai" })) });
      if (req.method !== "POST" || !url.pathname.endsWith("/responses")) return error(404, `Unknown request URL: ${req.method} ${url.pathname}`, null, "unknown_url");
      const body = rec.body as Json;
      const invalid = validate(body, stored);
      if (invalid) return invalid;
      const output = answer(body, state.replyWith, nextId);
      const r = state.replyWith;
      const usage = { input_tokens: r.usage?.input ?? 21, input_tokens_details: { cached_tokens: r.usage?.cached ?? 0 }, output_tokens: r.usage?.output ?? 9, output_tokens_details: { reasoning_tokens: r.reasoning ? 4 : 0 }, total_tokens: (r.usage?.input ?? 21) + (r.usage?.output ?? 9) };
      const response = { id: nextId("resp"), object: "response", created_at: Math.floor(Date.now() / 1000), status: "completed", error: null, incomplete_details: null, instructions: body.instructions ?? null, model: body.model, output, parallel_tool_calls: true, previous_response_id: body.previous_response_id ?? null, temperature: 1, tool_choice: body.tool_choice ?? "auto", tools: body.tools ?? [], top_p: 1, usage, metadata: {} };
      if (body.store !== false) stored.set(response.id, [...(Array.isArray(body.input) ? body.input : []), ...output]);
      if (body.stream !== true) return json(response);
      return new Response(chunkedBody(streamFrames(response), { delayMs: r.chunkDelayMs, cutAfter: fault?.cutAfter }), { headers: { "content-type": "text/event-stream" } });
    },
  });
  return {
    ...fakeControls(server, state),
    get models() {
      return models.list;
    },
    set models(list: string[]) {
      models.list = list;
    },
  };
}

function validate(body: Json, stored: Map<string, Json[]>): Response | undefined {
  if (!body || typeof body !== "object") return error(400, "We could not parse the JSON body of your request.");
  if (typeof body.model !== "string") return error(400, "Missing required parameter: 'model'.", "model", "missing_required_parameter");
  if (body.previous_response_id !== undefined && !stored.has(body.previous_response_id))
    return error(404, `Previous response with id '${body.previous_response_id}' not found.`, "previous_response_id", "previous_response_not_found");
  const input = typeof body.input === "string" ? [] : body.input;
  if (!Array.isArray(input)) return error(400, "Missing required parameter: 'input'.", "input", "missing_required_parameter");
  const calls = new Set<string>(body.previous_response_id ? stored.get(body.previous_response_id)!.filter((i) => i.call_id).map((i) => i.call_id) : []);
  for (let i = 0; i < input.length; i++) {
    const item = input[i];
    const type = item?.type ?? (item?.role ? "message" : undefined);
    if (type === "item_reference") return error(404, `Item with id '${item.id}' not found.`, `input[${i}].id`);
    if (type === "reasoning" && item.encrypted_content != null && !String(item.encrypted_content).startsWith(SEALED))
      return error(400, "The encrypted content for item rs could not be verified.", `input[${i}].encrypted_content`, "invalid_encrypted_content");
    if (type === "function_call" || type === "custom_tool_call") calls.add(item.call_id);
    if (type === "additional_tools") continue;
    if ((type === "function_call_output" || type === "custom_tool_call_output") && !calls.has(item.call_id))
      return error(400, `No tool call found for function call output with call_id ${item.call_id}.`, "input");
    if (!["message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output", "reasoning", "web_search_call", "additional_tools"].includes(type))
      return error(400, `Invalid value: '${type}'.`, `input[${i}].type`, "invalid_value");
  }
  return undefined;
}

function answer(body: Json, r: ResponsesFakeReply, nextId: (p: string) => string): Json[] {
  const out: Json[] = [];
  if (r.reasoning) out.push({ id: nextId("rs"), type: "reasoning", summary: [{ type: "summary_text", text: r.reasoning }], encrypted_content: `${SEALED}${r.reasoning.length}` });
  const custom = new Set((Array.isArray(body.tools) ? body.tools : []).filter((t: Json) => t?.type === "custom").map((t: Json) => t.name));
  for (const c of r.toolCalls ?? [])
    out.push(
      // A custom (freeform) tool is called with its raw input; the scripted `input` argument is it.
      custom.has(c.name)
        ? { id: nextId("ctc"), type: "custom_tool_call", status: "completed", call_id: c.id ?? nextId("call"), input: String(c.arguments.input ?? ""), name: c.name }
        : { id: nextId("fc"), type: "function_call", status: "completed", arguments: JSON.stringify(c.arguments), call_id: c.id ?? nextId("call"), name: c.name },
    );
  if (!r.toolCalls?.length || r.text) out.push({ id: nextId("msg"), type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", annotations: [], logprobs: [], text: r.text ?? `Hello from the Responses fake (${body.model})` }] });
  return out;
}

/** The event sequence OpenAI streams for a finished response. */
function streamFrames(response: Json): string[] {
  let seq = 0;
  const frames: string[] = [];
  const ev = (type: string, fields: Json) => frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);
  const opening = { ...response, status: "in_progress", output: [], usage: null };
  ev("response.created", { response: opening });
  ev("response.in_progress", { response: opening });
  response.output.forEach((item: Json, output_index: number) => {
    if (item.type === "message") {
      const text: string = item.content[0].text;
      ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", content: [] } });
      ev("response.content_part.added", { item_id: item.id, output_index, content_index: 0, part: { type: "output_text", annotations: [], logprobs: [], text: "" } });
      for (const piece of text.match(/.{1,8}/gs) ?? []) ev("response.output_text.delta", { item_id: item.id, output_index, content_index: 0, delta: piece, logprobs: [] });
      ev("response.output_text.done", { item_id: item.id, output_index, content_index: 0, text, logprobs: [] });
      ev("response.content_part.done", { item_id: item.id, output_index, content_index: 0, part: item.content[0] });
    } else if (item.type === "function_call") {
      ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", arguments: "" } });
      ev("response.function_call_arguments.delta", { item_id: item.id, output_index, delta: item.arguments });
      ev("response.function_call_arguments.done", { item_id: item.id, output_index, arguments: item.arguments });
    } else if (item.type === "custom_tool_call") {
      ev("response.output_item.added", { output_index, item: { ...item, input: "" } });
      ev("response.custom_tool_call_input.delta", { item_id: item.id, output_index, delta: item.input });
      ev("response.custom_tool_call_input.done", { item_id: item.id, output_index, input: item.input });
    } else {
      ev("response.output_item.added", { output_index, item: { ...item, summary: [] } });
      ev("response.reasoning_summary_part.added", { item_id: item.id, output_index, summary_index: 0, part: { type: "summary_text", text: "" } });
      ev("response.reasoning_summary_text.delta", { item_id: item.id, output_index, summary_index: 0, delta: item.summary[0].text });
      ev("response.reasoning_summary_text.done", { item_id: item.id, output_index, summary_index: 0, text: item.summary[0].text });
      ev("response.reasoning_summary_part.done", { item_id: item.id, output_index, summary_index: 0, part: item.summary[0] });
    }
    ev("response.output_item.done", { output_index, item });
  });
  ev("response.completed", { response });
  return frames;
}
