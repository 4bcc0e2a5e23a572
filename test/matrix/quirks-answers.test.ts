import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { desc } from "drizzle-orm";
import OpenAI from "openai";
import { requests } from "../../src/store/schema";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { clientFor, clientsFor, INBOUNDS } from "./clients";
import { SCRIPTED_TEXT, type ScriptedUpstream, type ScriptedWire, startScripted } from "./scripted";
import type { ChatInput, ClientDriver, InboundName } from "./types";

// Answer quirks (issue 3): answers that end with no finish reason, streams and answers that carry
// no usage (lmrelay records an estimate, flagged), and a client leaving mid-stream. The upstream is
// a scripted server speaking each wire format with exactly those omissions.

const WIRES: ScriptedWire[] = ["openai", "anthropic", "gemini", "cohere", "ollama"];
const WEATHER = { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

let up: ScriptedUpstream;
let gw: TestGateway;
let clients: Record<InboundName, ClientDriver>;

beforeAll(async () => {
  up = startScripted();
  gw = await startGateway({ providers: up.providers, routing: { maxAttempts: 1 } });
  clients = clientsFor(gw.url);
});
afterAll(async () => {
  await gw?.stop();
  await up?.stop();
});

function lastAudit(g: TestGateway) {
  g.runtime.audit.flush();
  return g.runtime.db.select().from(requests).orderBy(desc(requests.id)).limit(1).all()[0]!;
}

const ask = (wire: ScriptedWire, tools: boolean): ChatInput => ({
  model: `${wire}/${up.models[wire]}`,
  maxTokens: 64,
  turns: [{ role: "user", text: "What is the weather like in Paris today?" }],
  ...(tools && { tools: [WEATHER] }),
});

describe("missing finish reason", () => {
  for (const wire of WIRES)
    for (const inbound of INBOUNDS)
      for (const stream of [false, true])
        for (const tool of [false, true])
          test(`${wire} → ${inbound} client · ${stream ? "stream" : "non-stream"} · ${tool ? "tool call" : "text"}: a finish reason is supplied`, async () => {
            up.script = { tool, usage: true };
            const client = clients[inbound];
            const answer = await client.chat(ask(wire, tool), stream);
            if (tool) {
              expect(answer.toolCalls.map(({ name, args }) => ({ name, args }))).toEqual([{ name: "get_weather", args: { city: "Paris" } }]);
              expect(answer.finish).toBe(client.finishFor("tool_calls"));
            } else {
              expect(answer.text).toBe(SCRIPTED_TEXT);
              expect(answer.finish).toBe(client.finishFor("stop"));
            }
          });
});

describe("usage missing from the upstream", () => {
  // Anthropic always reports usage (message_start / the answer's usage): not a quirk of that wire.
  for (const wire of WIRES.filter((w) => w !== "anthropic"))
    for (const stream of [false, true])
      test(`${wire} · ${stream ? "stream" : "non-stream"}: the audit row holds an estimate, flagged; reported usage is kept exact`, async () => {
        up.script = { tool: false, usage: false };
        const answer = await clients.openai.chat(ask(wire, false), stream);
        expect(answer.text).toBe(SCRIPTED_TEXT);
        const estimated = lastAudit(gw);
        expect(estimated).toMatchObject({ status: 200, usageEstimated: true });
        // Estimated from the prompt and the answer's text: never zero for a real exchange.
        expect(estimated.inputTokens).toBeGreaterThan(0);
        expect(estimated.outputTokens).toBeGreaterThan(0);
        // The client sees the same estimate, not zero tokens.
        expect(answer.usage).toMatchObject({ input: estimated.inputTokens, output: estimated.outputTokens });

        up.script = { tool: false, usage: true };
        const reported = await clients.openai.chat(ask(wire, false), stream);
        expect(reported.usage).toMatchObject({ input: 11, output: 3 });
        expect(lastAudit(gw)).toMatchObject({ status: 200, usageEstimated: false, inputTokens: 11, outputTokens: 3 });
      });
});

describe("a client that leaves mid-stream", () => {
  let fake: OpenAIFake;
  let g: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake();
    g = await startGateway({ providers: { oa: { type: "openai", baseUrl: `${fake.url}/v1`, keys: ["sk-test"], models: ["gpt-4o-mini"] } } });
  });
  afterAll(async () => {
    await g?.stop();
    await fake?.stop();
  });

  test("the upstream request is aborted and the audit row records an estimate, flagged, with the disconnect", async () => {
    fake.reply({ text: "word ".repeat(100), chunkDelayMs: 15, usage: { input: 50, output: 100 } });
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "matrix", maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "oa/gpt-4o-mini", messages: [{ role: "user", content: "Talk." }], stream: true });
    let seen = "";
    for await (const chunk of stream) {
      seen += chunk.choices[0]?.delta.content ?? "";
      if (seen.length > 10) break;
    }
    for (let i = 0; i < 200 && g.runtime.gateway.openAnswers > 0; i++) await Bun.sleep(10);
    expect(g.runtime.gateway.openAnswers).toBe(0);
    const row = lastAudit(g);
    expect(row.status).toBe(499);
    expect(row.usageEstimated).toBe(true);
    expect(row.inputTokens).toBeGreaterThan(0);
    expect(row.outputTokens).toBeGreaterThan(0);
    // Far less than the 100 words the upstream would have sent.
    expect(row.outputTokens).toBeLessThan(100);
  });
});
