import { expect, test } from "bun:test";
import { withoutForeignReasoning } from "../../src/core/reasoning";
import type { ChatRequest } from "../../src/core/types";

// Reasoning a client hands back reaches only the provider that produced it.

const req: ChatRequest = {
  model: "m",
  system: [],
  stream: false,
  messages: [
    { role: "user", content: [{ type: "text", text: "q" }] },
    {
      role: "assistant",
      content: [
        { type: "thinking", text: "t", signature: "sig", origin: "claude" },
        { type: "thinking", text: "unknown origin stays" },
        { type: "tool_call", id: "c1", name: "f", arguments: "{}", signature: "g", signatureOrigin: "gem" },
      ],
    },
    { role: "user", content: [{ type: "tool_result", toolCallId: "c1", content: [] }] },
    { role: "assistant", content: [{ type: "thinking", text: "only", origin: "claude" }] },
    { role: "user", content: [{ type: "text", text: "next" }] },
  ],
};

test("the producing provider gets everything, the same object", () => {
  expect(withoutForeignReasoning(req, "claude").messages[1]!.content.length).toBe(3);
  const plain: ChatRequest = { ...req, messages: [req.messages[0]!] };
  expect(withoutForeignReasoning(plain, "other")).toBe(plain);
});

test("another provider: foreign thinking dropped, foreign call signatures removed, emptied turns gone", () => {
  const out = withoutForeignReasoning(req, "gem");
  expect(out.messages.length).toBe(3);
  expect(out.messages[2]!.content).toEqual([{ type: "tool_result", toolCallId: "c1", content: [] }, { type: "text", text: "next" }]);
  expect(out.messages[1]!.content).toEqual([
    { type: "thinking", text: "unknown origin stays" },
    { type: "tool_call", id: "c1", name: "f", arguments: "{}", signature: "g", signatureOrigin: "gem" },
  ]);
  const other = withoutForeignReasoning(req, "oai");
  expect(other.messages[1]!.content.at(-1)).toEqual({ type: "tool_call", id: "c1", name: "f", arguments: "{}" });
  // The input is untouched.
  expect(req.messages.length).toBe(5);
});
