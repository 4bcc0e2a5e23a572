import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { startGateway, type TestGateway } from "../helpers/gateway";
import type { SentChat, UpstreamFixture, WireName } from "./types";
import { startFixture, WIRES } from "./upstreams";

// Quirks of conversation history that gateways trip on (issue 3, translation.md §10), sent by real
// clients through their SDKs to every upstream wire: empty text blocks, consecutive same-role
// messages, tool results that must follow their tool call. The fakes reject what the real APIs
// reject, so "accepted" is itself part of each check.

let gw: TestGateway;
const ups = {} as Record<WireName, UpstreamFixture>;
let openai: OpenAI;
let anthropic: Anthropic;
let ollama: Ollama;

beforeAll(async () => {
  for (const wire of WIRES) ups[wire] = await startFixture(wire);
  gw = await startGateway({ providers: Object.fromEntries(WIRES.map((w) => [w, ups[w].provider])), routing: { maxAttempts: 1 } });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "matrix", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: "matrix", maxRetries: 0 });
  ollama = new Ollama({ host: gw.url });
});
afterAll(async () => {
  await gw?.stop();
  for (const wire of WIRES) await ups[wire]?.fake.stop();
});

const model = (wire: WireName) => `${wire}/${ups[wire].model}`;
const lastRaw = (wire: WireName) => ups[wire].fake.requests.at(-1)!.body;
// Typed by inference so the same list fits the OpenAI and the Ollama SDK.
const TOOLS = [
  { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
  { type: "function" as const, function: { name: "get_time", parameters: { type: "object", properties: { city: { type: "string" } } } } },
];

/** Wires whose APIs refuse two turns of the same role in a row. */
const ALTERNATING = new Set<WireName>(["anthropic", "gemini"]);

function expectNoEmptyMessages(sent: SentChat): void {
  for (const m of sent.messages) expect(m.text !== "" || m.images.length > 0 || m.toolCalls.length > 0 || m.role === "tool").toBe(true);
}

/** The tool results sit right after the assistant's calls, each paired with its own call. */
function expectPairedResults(sent: SentChat, results: Record<string, string>): void {
  const at = sent.messages.findIndex((m) => m.toolCalls.length > 0);
  expect(at).toBeGreaterThanOrEqual(0);
  const calls = sent.messages[at]!.toolCalls;
  const following = sent.messages.slice(at + 1, at + 1 + calls.length);
  expect(following.map((m) => m.role)).toEqual(calls.map(() => "tool"));
  for (const r of following) {
    const call = r.callId !== undefined ? calls.find((c) => c.id === r.callId) : calls.find((c) => c.name === r.name);
    expect(call).toBeDefined();
    if (r.name !== undefined) expect(r.name).toBe(call!.name);
    expect(r.text).toBe(results[call!.name]!);
  }
}

for (const wire of WIRES) {
  describe(`history quirks → ${wire}`, () => {
    test("empty text blocks and empty assistant content are dropped, never sent", async () => {
      ups[wire].reply({ text: "Done." });
      const res = await openai.chat.completions.create({
        model: model(wire),
        tools: TOOLS,
        messages: [
          { role: "system", content: [{ type: "text", text: "" }, { type: "text", text: "Be brief." }] },
          { role: "user", content: [{ type: "text", text: "" }, { type: "text", text: "Weather in Paris?" }] },
          // What many SDK tool loops send: empty content beside the calls.
          { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          { role: "tool", tool_call_id: "call_1", content: "sunny" },
          { role: "assistant", content: "" },
          { role: "user", content: "Thanks, and in one word?" },
        ],
      });
      expect(res.choices[0]!.message.content).toBe("Done.");
      const sent = ups[wire].lastChat();
      expect(sent.system).toBe("Be brief.");
      expectNoEmptyMessages(sent);
      expect(JSON.stringify(lastRaw(wire))).not.toContain('"text":""');
      expect(sent.messages[0]).toMatchObject({ role: "user", text: "Weather in Paris?" });
      expect(sent.messages.at(-1)).toMatchObject({ role: "user", text: "Thanks, and in one word?" });
      expectPairedResults(sent, { get_weather: "sunny" });
    });

    test("consecutive same-role messages survive, merged where the upstream needs alternation", async () => {
      ups[wire].reply({ text: "Still here." });
      const texts = ["Hello.", "Are you there?", "Yes.", "I am here.", "Good.", "Say it again."];
      const res = await openai.chat.completions.create({
        model: model(wire),
        messages: [
          { role: "user", content: texts[0]! },
          { role: "user", content: texts[1]! },
          { role: "assistant", content: texts[2]! },
          { role: "assistant", content: texts[3]! },
          { role: "user", content: texts[4]! },
          { role: "user", content: texts[5]! },
        ],
      });
      expect(res.choices[0]!.message.content).toBe("Still here.");
      const sent = ups[wire].lastChat();
      const roles = sent.messages.map((m) => m.role);
      if (ALTERNATING.has(wire)) {
        expect(roles).toEqual(["user", "assistant", "user"]);
        for (const [i, m] of sent.messages.entries()) expect(m.text).toContain(texts[2 * i + 1]!);
      } else expect(roles).toEqual(["user", "user", "assistant", "assistant", "user", "user"]);
      // Nothing lost, nothing reordered.
      const all = sent.messages.map((m) => m.text).join(" ");
      let from = 0;
      for (const t of texts) {
        const at = all.indexOf(t, from);
        expect(at).toBeGreaterThanOrEqual(from);
        from = at + t.length;
      }
    });

    test("tool results sent after the user's text and out of order are put first, each with its call", async () => {
      ups[wire].reply({ text: "Sunny, 14:05." });
      // Anthropic's own API refuses this order; lmrelay takes it from any client and repairs it.
      const res = await anthropic.messages.create({
        model: model(wire),
        max_tokens: 100,
        tools: TOOLS.map((t) => ({ name: t.function.name, input_schema: t.function.parameters as Anthropic.Tool.InputSchema })),
        messages: [
          { role: "user", content: "Weather and time in Paris?" },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Checking both." },
              { type: "tool_use", id: "toolu_w", name: "get_weather", input: { city: "Paris" } },
              { type: "tool_use", id: "toolu_t", name: "get_time", input: { city: "Paris" } },
            ],
          },
          {
            role: "user",
            content: [
              { type: "text", text: "Here are the results." },
              { type: "tool_result", tool_use_id: "toolu_t", content: "14:05" },
              { type: "tool_result", tool_use_id: "toolu_w", content: [{ type: "text", text: "sunny" }] },
            ],
          },
        ],
      });
      expect(res.content.map((b) => (b.type === "text" ? b.text : b.type))).toEqual(["Sunny, 14:05."]);
      const sent = ups[wire].lastChat();
      expectPairedResults(sent, { get_weather: "sunny", get_time: "14:05" });
      expect(sent.messages.at(-1)).toMatchObject({ role: "user", text: "Here are the results." });
    });

    test("Ollama tool results carry no id: paired with the preceding calls in order", async () => {
      ups[wire].reply({ text: "Sunny, 14:05." });
      const res = await ollama.chat({
        model: model(wire),
        tools: TOOLS,
        messages: [
          { role: "user", content: "Weather and time in Paris?" },
          {
            role: "assistant",
            content: "",
            tool_calls: [
              { function: { name: "get_weather", arguments: { city: "Paris" } } },
              { function: { name: "get_time", arguments: { city: "Paris" } } },
            ],
          },
          { role: "tool", content: "sunny", tool_name: "get_weather" },
          { role: "tool", content: "14:05", tool_name: "get_time" },
        ],
      });
      expect(res.message.content).toBe("Sunny, 14:05.");
      const sent = ups[wire].lastChat();
      expectPairedResults(sent, { get_weather: "sunny", get_time: "14:05" });
      // Whatever ids lmrelay made up, calls and results agree on them.
      const calls = sent.messages[1]!.toolCalls;
      if (calls[0]!.id !== undefined) expect(sent.messages.slice(2).map((m) => m.callId)).toEqual(calls.map((c) => c.id));
    });
  });
}
