import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai";
import { CLIENTS, sdkClient, sdkFails } from "../helpers/sdk-clients";
import type { TestGateway } from "../helpers/gateway";
import { withGateway } from "./support";

function auditRows(gw: TestGateway): { status: number; error: string | null }[] {
  gw.runtime.audit.flush();
  return gw.runtime.db.$client.query("SELECT status, error FROM requests ORDER BY id").all() as never;
}

// Tool arguments a model wrote that are not a JSON object are never replaced by `{}` (a tool would
// run with no arguments as if the model had asked for that). Stream and non-stream give each client
// the same thing: OpenAI clients the text as written (their `arguments` is a string), Anthropic and
// Ollama clients — whose formats need an object — an error naming the tool. Through the official
// SDKs, against an OpenAI-wire upstream (the one wire format that can carry such text).

let up: OpenAIFake;

beforeAll(async () => {
  up = await startOpenAIFake();
});

afterAll(async () => {
  await up.stop();
});

const config: LmrelayConfig = {
  providers: { up: { type: "openai", baseUrl: "", keys: ["sk-test"], models: ["gpt-4o-mini"] } },
  models: { tooly: ["up/gpt-4o-mini"] },
  health: { probeIntervalMs: 0 },
};
const withUp = (): LmrelayConfig => ({ ...config, providers: { up: { ...config.providers.up!, baseUrl: `${up.url}/v1` } } });

const BROKEN = "{'word': 'cat'"; // single quotes, unclosed: what a weak model writes

describe("tool arguments that are not a JSON object", () => {
  for (const name of CLIENTS)
    test(`${name} client: stream and non-stream agree`, async () => {
      await withGateway(withUp(), async (gw) => {
        const client = sdkClient(name, gw.url);
        up.reply({ toolCalls: [{ id: "call_1", name: "lookup", arguments: {}, rawArguments: BROKEN }] });
        if (name === "openai") {
          for (const stream of [false, true]) {
            const answer = await client.chat({ model: "tooly", stream, tools: true });
            expect(answer.toolCalls).toEqual([{ name: "lookup", args: BROKEN }]);
          }
        } else {
          const whole = await sdkFails(client, { model: "tooly", stream: false, tools: true });
          const streamed = await sdkFails(client, { model: "tooly", stream: true, tools: true });
          const expected = `lmrelay: the model called tool "lookup" with arguments that are not a JSON object (${name === "anthropic" ? "Anthropic's tool_use input" : "Ollama's tool_calls arguments"} must be an object): ${JSON.stringify(BROKEN)}`;
          expect(whole.status).toBe(502);
          expect(whole.message).toBe(expected);
          expect(streamed.message).toBe(expected);
        }
        // Every answer was closed (a refused stream released its upstream).
        await Bun.sleep(20);
        expect(gw.runtime.gateway.openAnswers).toBe(0);
        // The audit log says what the client got: the refusal, not a 200 (nor a client who left).
        const rows = auditRows(gw);
        if (name === "openai") expect(rows.map((r) => r.status)).toEqual([200, 200]);
        else {
          expect(rows.map((r) => r.status)).toEqual([502, 502]);
          for (const r of rows) expect(r.error).toContain('called tool "lookup" with arguments that are not a JSON object');
        }
        // A JSON array is valid JSON but not an object: the same rule.
        up.reply({ toolCalls: [{ id: "call_2", name: "lookup", arguments: {}, rawArguments: "[1,2]" }] });
        if (name === "openai") expect((await client.chat({ model: "tooly", stream: true, tools: true })).toolCalls[0]!.args).toBe("[1,2]");
        else expect((await sdkFails(client, { model: "tooly", stream: true, tools: true })).message).toContain('"[1,2]"');
        // Valid arguments reach every client as they were written.
        up.reply({ toolCalls: [{ id: "call_3", name: "lookup", arguments: { word: "cat" } }] });
        for (const stream of [false, true]) {
          const ok = await client.chat({ model: "tooly", stream, tools: true });
          expect(ok.toolCalls).toEqual([{ name: "lookup", args: name === "openai" ? '{"word":"cat"}' : { word: "cat" } }]);
        }
        up.reply({});
      });
    });

  test("Gemini client (@google/genai): `args` must be an object, so the answer fails naming the function, stream and not", async () => {
    await withGateway(withUp(), async (gw) => {
      const ai = new GoogleGenAI({ apiKey: "none", httpOptions: { baseUrl: gw.url } });
      const ask = { model: "tooly", contents: "look up cat", config: { tools: [{ functionDeclarations: [{ name: "lookup", parametersJsonSchema: { type: "object", properties: { word: { type: "string" } } } }] }] } };
      up.reply({ toolCalls: [{ id: "call_1", name: "lookup", arguments: {}, rawArguments: BROKEN }] });
      const expected = `lmrelay: the model called tool "lookup" with arguments that are not a JSON object (Gemini's functionCall args must be an object): ${JSON.stringify(BROKEN)}`;
      const whole = await ai.models.generateContent(ask).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(whole?.message).toContain(JSON.stringify(expected).slice(1, -1));
      const streamed = await (async () => {
        try {
          for await (const _ of await ai.models.generateContentStream(ask));
        } catch (e) {
          return e as Error;
        }
      })();
      expect(streamed?.message).toContain(JSON.stringify(expected).slice(1, -1));
      up.reply({ toolCalls: [{ id: "call_3", name: "lookup", arguments: { word: "cat" } }] });
      expect((await ai.models.generateContent(ask)).functionCalls?.[0]?.args).toEqual({ word: "cat" });
      up.reply({});
    });
  });
});
