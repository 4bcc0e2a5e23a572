import { describe, expect, test } from "bun:test";
import { type ResponseHead, responseJson, responseObject, type ResponseTail } from "../../../src/inbound/responses/encode";

// The stream writes response.completed with responseJson (the output items' JSON spliced in, not
// serialised again): it must be the very bytes JSON.stringify(responseObject(…)) gives.

const output = [
  { id: "msg_1", type: "message", status: "completed", content: [{ type: "output_text", annotations: [], logprobs: [], text: 'say "output":[] here' }], role: "assistant" },
  { id: "fc_2", type: "function_call", status: "completed", arguments: '{"a":1}', call_id: "call_1", name: "f" },
];

function same(head: ResponseHead, tail: ResponseTail): void {
  expect(responseJson(head, tail, tail.output.map((o) => JSON.stringify(o)).join(","))).toBe(JSON.stringify(responseObject(head, tail)));
}

describe("responseJson", () => {
  test("a bare request, completed, with no output and with items", () => {
    const head: ResponseHead = { id: "resp_1", createdAt: 1, model: "m", body: { model: "m", input: "hi" } };
    same(head, { status: "completed", output: [], completedAt: 2 });
    same(head, { status: "completed", output, completedAt: 2, usage: { inputTokens: 3, outputTokens: 4, reasoningTokens: 1, cacheReadTokens: 2 } });
  });

  test("every echoed setting, instructions as items holding an `output` key, incomplete and failed", () => {
    const body = {
      model: "m",
      instructions: [{ type: "function_call_output", call_id: "c", output: [] }, { role: "developer", content: '"output":[]' }],
      max_output_tokens: 9,
      max_tool_calls: 2,
      parallel_tool_calls: false,
      previous_response_id: "resp_0",
      prompt_cache_key: "k",
      reasoning: { effort: "low", summary: "auto" },
      safety_identifier: "s",
      service_tier: "flex",
      store: false,
      temperature: 0.5,
      text: { format: { type: "json_schema", name: "x", schema: { type: "object", properties: { output: { default: [] } } } }, verbosity: "low" },
      tool_choice: "required",
      tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
      top_logprobs: 3,
      top_p: 0.9,
      truncation: "auto",
      user: "u",
      metadata: { a: "b", output: "[]" },
    };
    const head: ResponseHead = { id: "resp_2", createdAt: 5, model: "m", body };
    same(head, { status: "incomplete", output, completedAt: 6, incompleteReason: "max_output_tokens", usage: { inputTokens: 1, outputTokens: 9 } });
    same(head, { status: "failed", output: [output[0]!], error: { code: "server_error", message: 'lmrelay: "output":[] failed' } });
  });
});
