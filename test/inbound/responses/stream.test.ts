import { describe, expect, test } from "bun:test";
import { lmrelayError } from "../../../src/core/errors";
import type { StreamEvent } from "../../../src/core/types";
import { decodeResponsesRequest, readResponsesBody } from "../../../src/inbound/responses/decode";
import { buildResponse, ResponsesStreamEncoder } from "../../../src/inbound/responses/stream";
import type { ToolNames } from "../../../src/inbound/responses/tools";

// The Responses stream, byte for byte: each frame `event: <type>\ndata: <json>\n\n`, the JSON in
// OpenAI's key order starting with `type` and `sequence_number`. Ids and clocks are fixed here.

const NO_NAMES: ToolNames = { custom: new Set(), namespaced: new Map() };

function encoder(body: Record<string, unknown>, names: ToolNames = NO_NAMES) {
  let n = 0;
  return new ResponsesStreamEncoder({
    head: { id: "resp_1", createdAt: 1700000000, model: "m", body },
    names,
    provider: "claude",
    newId: (p) => `${p}_${++n}`,
    now: () => 1700000001,
  });
}

function run(enc: ResponsesStreamEncoder, events: StreamEvent[]): string {
  let out = "";
  for (const ev of events) out += enc.encode(ev);
  return out + enc.end();
}

function frames(list: [string, Record<string, unknown>][]): string {
  return list.map(([type, fields], i) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: i, ...fields })}\n\n`).join("");
}

/** The `response` object for a request `{ model: "m", input }` with no settings. */
function response(status: string, output: unknown[], usage: unknown, completedAt: number | null) {
  return {
    id: "resp_1", object: "response", created_at: 1700000000, status, background: false, completed_at: completedAt, error: null, incomplete_details: null,
    instructions: null, max_output_tokens: null, max_tool_calls: null, model: "m", output, parallel_tool_calls: true, previous_response_id: null,
    prompt_cache_key: null, reasoning: { effort: null, summary: null }, safety_identifier: null, service_tier: "default", store: true, temperature: 1,
    text: { format: { type: "text" }, verbosity: "medium" }, tool_choice: "auto", tools: [], top_logprobs: 0, top_p: 1, truncation: "disabled", usage, user: null, metadata: {},
  };
}

const USAGE = { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 };

describe("exact SSE bytes", () => {
  test("a text answer", () => {
    const opening = response("in_progress", [], null, null);
    const part = { type: "output_text", annotations: [], logprobs: [], text: "Hi there" };
    const item = { id: "msg_1", type: "message", status: "completed", content: [part], role: "assistant" };
    const out = run(encoder({ model: "m", input: "hi" }), [
      { type: "start" },
      { type: "text", text: "Hi" },
      { type: "text", text: " there" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 2 } },
    ]);
    expect(out).toBe(
      frames([
        ["response.created", { response: opening }],
        ["response.in_progress", { response: opening }],
        ["response.output_item.added", { output_index: 0, item: { id: "msg_1", type: "message", status: "in_progress", content: [], role: "assistant" } }],
        ["response.content_part.added", { item_id: "msg_1", output_index: 0, content_index: 0, part: { ...part, text: "" } }],
        ["response.output_text.delta", { item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi", logprobs: [] }],
        ["response.output_text.delta", { item_id: "msg_1", output_index: 0, content_index: 0, delta: " there", logprobs: [] }],
        ["response.output_text.done", { item_id: "msg_1", output_index: 0, content_index: 0, text: "Hi there", logprobs: [] }],
        ["response.content_part.done", { item_id: "msg_1", output_index: 0, content_index: 0, part }],
        ["response.output_item.done", { output_index: 0, item }],
        ["response.completed", { response: response("completed", [item], USAGE, 1700000001) }],
      ]),
    );
  });

  test("a tool call: arguments streamed, the complete call (call_id included) in output_item.done", () => {
    const body = { model: "m", input: "weather?" };
    const done = { id: "fc_1", type: "function_call", status: "completed", arguments: '{"city":"Paris"}', call_id: "call_9", name: "weather" };
    const out = run(encoder(body), [
      { type: "start" },
      { type: "tool_call_start", index: 0, id: "call_9", name: "weather" },
      { type: "tool_call_delta", index: 0, arguments: '{"city":' },
      { type: "tool_call_delta", index: 0, arguments: '"Paris"}' },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 2 } },
    ]);
    const opening = response("in_progress", [], null, null);
    expect(out).toBe(
      frames([
        ["response.created", { response: opening }],
        ["response.in_progress", { response: opening }],
        ["response.output_item.added", { output_index: 0, item: { ...done, status: "in_progress", arguments: "" } }],
        ["response.function_call_arguments.delta", { item_id: "fc_1", output_index: 0, delta: '{"city":' }],
        ["response.function_call_arguments.delta", { item_id: "fc_1", output_index: 0, delta: '"Paris"}' }],
        ["response.function_call_arguments.done", { item_id: "fc_1", output_index: 0, arguments: '{"city":"Paris"}' }],
        ["response.output_item.done", { output_index: 0, item: done }],
        ["response.completed", { response: response("completed", [done], USAGE, 1700000001) }],
      ]),
    );
  });

  test("an error after the stream began: response.failed with Codex's code and wait, then nothing", () => {
    const enc = encoder({ model: "m", input: "x" });
    let out = enc.encode({ type: "text", text: "part" });
    out += enc.error(lmrelayError("rate_limited", "claude: too many requests", { retryAfterMs: 7_000 }));
    const last = out.trimEnd().split("\n\n").at(-1)!;
    expect(last.split("\n")[0]).toBe("event: response.failed");
    const data = JSON.parse(last.split("\n")[1]!.slice(6));
    expect(data.sequence_number).toBe(5); // created 0, in_progress 1, item added 2, part added 3, delta 4, then this
    expect(data.response.status).toBe("failed");
    expect(data.response.error).toEqual({ code: "rate_limit_exceeded", message: "lmrelay: claude: too many requests Please try again in 7s." });
  });

  test("context too long and server errors carry their codes", () => {
    const ctx = encoder({ model: "m" }).error(lmrelayError("context_length", "too long"));
    expect(ctx).toContain('"code":"context_length_exceeded"');
    const server = encoder({ model: "m" }).error(lmrelayError("upstream_error", "broke"));
    expect(server).toContain('"code":"server_error"');
  });

  test("max tokens reached: response.incomplete with reason max_output_tokens", () => {
    const out = run(encoder({ model: "m" }), [{ type: "text", text: "cut" }, { type: "finish", reason: "length" }]);
    const last = JSON.parse(out.trimEnd().split("\n").at(-1)!.slice(6));
    expect(last.type).toBe("response.incomplete");
    expect(last.response.status).toBe("incomplete");
    expect(last.response.incomplete_details).toEqual({ reason: "max_output_tokens" });
  });
});

describe("custom tools, namespaces, reasoning", () => {
  const body = {
    model: "m",
    input: "go",
    tools: [
      { type: "custom", name: "apply_patch", description: "Edit files", format: { type: "grammar", syntax: "lark", definition: "start: x" } },
      { type: "namespace", name: "multi_agent_v1", description: "agents", tools: [{ type: "function", name: "spawn_agent", parameters: { type: "object", properties: {} } }] },
      { type: "web_search", external_web_access: false },
    ],
  };
  const decoded = decodeResponsesRequest(readResponsesBody(body), [], () => {
    throw new Error("no references here");
  });

  test("decoding: the custom tool is a one-string function, the namespace flattened, web_search left out", () => {
    expect(decoded.req.tools!.map((t) => t.name)).toEqual(["apply_patch", "multi_agent_v1__spawn_agent"]);
    expect(decoded.req.tools![0]!.parameters).toMatchObject({ required: ["input"] });
    expect(decoded.req.tools![0]!.description).toContain("lark grammar:\nstart: x");
    expect(decoded.adjusted).toEqual(["tools.web_search dropped (hosted tool)"]);
  });

  test("a custom tool call comes back as custom_tool_call with its raw input; a namespaced call with its namespace", () => {
    const enc = encoder(body, decoded.names);
    const out = run(enc, [
      { type: "tool_call_start", index: 0, id: "call_p", name: "apply_patch" },
      { type: "tool_call_delta", index: 0, arguments: '{"input":"*** Begin Patch\\n' },
      { type: "tool_call_delta", index: 0, arguments: '*** End Patch\\n"}' },
      { type: "tool_call_start", index: 1, id: "call_s", name: "multi_agent_v1__spawn_agent" },
      { type: "tool_call_delta", index: 1, arguments: "{}" },
    ]);
    const events = out.trimEnd().split("\n\n").map((f) => JSON.parse(f.split("\n")[1]!.slice(6)));
    const types = events.map((e) => e.type);
    expect(types).toContain("response.custom_tool_call_input.delta");
    const inputDone = events.find((e) => e.type === "response.custom_tool_call_input.done");
    expect(inputDone.input).toBe("*** Begin Patch\n*** End Patch\n");
    const items = events.filter((e) => e.type === "response.output_item.done").map((e) => e.item);
    expect(items[0]).toEqual({ id: "ctc_1", type: "custom_tool_call", status: "completed", call_id: "call_p", input: "*** Begin Patch\n*** End Patch\n", name: "apply_patch" });
    expect(items[1]).toMatchObject({ type: "function_call", name: "spawn_agent", namespace: "multi_agent_v1", call_id: "call_s", arguments: "{}" });
  });

  test("thinking with a signature round-trips through encrypted_content to its own provider only", () => {
    const res = buildResponse(
      [
        { type: "thinking", text: "hmm" },
        { type: "thinking_signature", signature: "sig_abc" },
        { type: "tool_call_start", index: 0, id: "call_1", name: "apply_patch", signature: "gem_sig" },
        { type: "tool_call_delta", index: 0, arguments: '{"input":"x"}' },
      ],
      { head: { id: "resp_1", createdAt: 1, model: "m", body }, names: decoded.names, provider: "claude" },
    );
    const output = res.output as Record<string, unknown>[];
    expect(output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: "hmm" }] });
    expect(String(output[0]!.encrypted_content)).toStartWith("lmrelay.r1.");
    // The client sends the items back (Codex, store: false).
    const next = decodeResponsesRequest(readResponsesBody({ model: "m", input: [...output, { type: "custom_tool_call_output", call_id: "call_1", output: "ok" }] }), [], () => ({}));
    const assistant = next.req.messages[0]!;
    expect(assistant.content[0]).toEqual({ type: "thinking", text: "hmm", origin: "claude", signature: "sig_abc" });
    expect(assistant.content[1]).toEqual({ type: "tool_call", id: "call_1", name: "apply_patch", arguments: '{"input":"x"}', signature: "gem_sig", signatureOrigin: "claude" });
    expect(next.req.messages[1]!.content[0]).toMatchObject({ type: "tool_result", toolCallId: "call_1", name: "apply_patch" });
  });
});
