import { expect } from "bun:test";
import { desc } from "drizzle-orm";
import { requests } from "../../src/store/schema";
import type { TestGateway } from "../helpers/gateway";
import { IMAGE_URL, type ImageHost, PNG_BASE64 } from "./imagehost";
import type { ChatInput, ClientDriver, InboundName, SentChat, ToolSpec, UpstreamFixture, WireName } from "./types";

// The matrix's columns: one generic body per scenario, run for every (client, upstream, stream).
// Each body sets the fake's answer, sends through the client driver, then checks both ends: what
// the upstream received (in its own wire format, via the fixture's inspector) and what the client
// read through its SDK.

export interface CellContext {
  client: ClientDriver;
  up: UpstreamFixture;
  gw: TestGateway;
  stream: boolean;
  images: ImageHost;
}

export type ScenarioName =
  | "text"
  | "system"
  | "tools round trip"
  | "image (base64)"
  | "image (URL)"
  | "stop sequence"
  | "JSON mode (schema)"
  | "JSON mode (any object)"
  | "usage";

export interface Scenario {
  name: ScenarioName;
  run(ctx: CellContext): Promise<void>;
}

const MAX_TOKENS = 256;

const WEATHER: ToolSpec = {
  name: "get_weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

const CLOCK: ToolSpec = {
  name: "get_time",
  description: "Local time in a city",
  parameters: { type: "object", properties: { city: { type: "string" }, zone: { type: "string" } }, required: ["city"] },
};

const JSON_SCHEMA = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };

function input(ctx: CellContext, fields: Partial<ChatInput>): ChatInput {
  return { model: `up/${ctx.up.model}`, maxTokens: MAX_TOKENS, turns: [{ role: "user", text: "Say hello" }], ...fields };
}

/** What holds for every request that reached an upstream, whatever the scenario. */
function checkCommon(ctx: CellContext, sent: SentChat): void {
  expect(sent.model).toBe(ctx.up.model);
  expect(sent.stream).toBe(ctx.stream);
  expect(sent.maxTokens).toBe(MAX_TOKENS);
  // Accounting needs usage, so a stream asks for it wherever the wire makes it optional.
  if (ctx.stream && sent.usageAsked !== undefined) expect(sent.usageAsked).toBe(true);
}

/** Sends, and checks that exactly one chat request reached the upstream. */
async function send(ctx: CellContext, req: ChatInput) {
  const before = ctx.up.chatCount();
  const answer = await ctx.client.chat(req, ctx.stream);
  expect(ctx.up.chatCount()).toBe(before + 1);
  const sent = ctx.up.lastChat();
  checkCommon(ctx, sent);
  return { answer, sent };
}

const text: Scenario = {
  name: "text",
  async run(ctx) {
    ctx.up.reply({ text: "Hello there, friend." });
    const { answer, sent } = await send(ctx, input(ctx, {}));
    expect(sent.system).toBe("");
    expect(sent.messages).toEqual([{ role: "user", text: "Say hello", images: [], toolCalls: [] }]);
    expect(sent.tools).toEqual([]);
    expect(sent.json).toBeUndefined();
    expect(answer.text).toBe("Hello there, friend.");
    expect(answer.toolCalls).toEqual([]);
    expect(answer.finish).toBe(ctx.client.finishFor("stop"));
  },
};

const system: Scenario = {
  name: "system",
  async run(ctx) {
    ctx.up.reply({ text: "Hi." });
    const { answer, sent } = await send(ctx, input(ctx, { system: "You are terse. Answer in one word." }));
    expect(sent.system).toBe("You are terse. Answer in one word.");
    expect(sent.messages.map((m) => [m.role, m.text])).toEqual([["user", "Say hello"]]);
    expect(answer.text).toBe("Hi.");
  },
};

const toolsRoundTrip: Scenario = {
  name: "tools round trip",
  async run(ctx) {
    const ask = { role: "user" as const, text: "What are the weather and the time in Paris?" };
    const tools = [WEATHER, CLOCK];
    // 1. The model says a word, then calls two tools at once.
    ctx.up.reply({
      text: "Let me check.",
      toolCalls: [
        { name: "get_weather", arguments: { city: "Paris" } },
        { name: "get_time", arguments: { city: "Paris", zone: "CET" } },
      ],
    });
    const first = await send(ctx, input(ctx, { turns: [ask], tools }));
    expect(first.sent.tools.map((t) => t.name)).toEqual(["get_weather", "get_time"]);
    expect(JSON.stringify(first.sent.tools[0]!.parameters)).toContain("city");
    // Cohere says its plan before calling; it reaches the client as the text before the calls.
    expect(first.answer.text).toContain("Let me check.");
    expect(first.answer.toolCalls.map(({ name, args }) => ({ name, args }))).toEqual([
      { name: "get_weather", args: { city: "Paris" } },
      { name: "get_time", args: { city: "Paris", zone: "CET" } },
    ]);
    const calls = first.answer.toolCalls;
    if (ctx.client.name !== "ollama") {
      for (const c of calls) expect(c.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    }
    expect(first.answer.finish).toBe(ctx.client.finishFor("tool_calls"));

    // 2. The client sends both results back, with the calls in its history as it received them.
    ctx.up.reply({ text: "It is 18 degrees and sunny in Paris, and 14:05." });
    const second = await send(
      ctx,
      input(ctx, {
        tools,
        turns: [
          ask,
          { role: "assistant", text: first.answer.text, toolCalls: calls },
          { role: "tool", callId: calls[0]!.id, name: "get_weather", content: "18 degrees and sunny" },
          { role: "tool", callId: calls[1]!.id, name: "get_time", content: "14:05" },
        ],
      }),
    );
    const sent = second.sent.messages;
    expect(sent.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool"]);
    const assistant = sent[1]!;
    expect(assistant.toolCalls.map(({ name, args }) => ({ name, args }))).toEqual([
      { name: "get_weather", args: { city: "Paris" } },
      { name: "get_time", args: { city: "Paris", zone: "CET" } },
    ]);
    // What the assistant said before calling came back too (as Cohere's tool_plan there).
    expect(assistant.text).toBe(first.answer.text);
    // Each result stays paired with its call, by id and/or by name, as the wire pairs them.
    const expected = [
      { name: "get_weather", text: "18 degrees and sunny" },
      { name: "get_time", text: "14:05" },
    ];
    expected.forEach((want, i) => {
      const result = sent[2 + i]!;
      const call = assistant.toolCalls[i]!;
      expect(result.text).toBe(want.text);
      if (result.callId !== undefined || call.id !== undefined) expect(result.callId).toBe(call.id);
      if (result.name !== undefined) expect(result.name).toBe(want.name);
    });
    expect(second.answer.text).toBe("It is 18 degrees and sunny in Paris, and 14:05.");
    expect(second.answer.toolCalls).toEqual([]);
    expect(second.answer.finish).toBe(ctx.client.finishFor("stop"));
  },
};

const imageBase64: Scenario = {
  name: "image (base64)",
  async run(ctx) {
    ctx.up.reply({ text: "A tiny square." });
    const { answer, sent } = await send(
      ctx,
      input(ctx, { turns: [{ role: "user", text: "What is in this picture?", image: { kind: "base64", mediaType: "image/png", data: PNG_BASE64 } }] }),
    );
    expect(sent.messages).toHaveLength(1);
    expect(sent.messages[0]!.text).toBe("What is in this picture?");
    expect(sent.messages[0]!.images).toHaveLength(1);
    const [image] = sent.messages[0]!.images;
    expect(image!.data).toBe(PNG_BASE64);
    if (image!.mediaType !== undefined) expect(image!.mediaType).toBe("image/png");
    expect(answer.text).toBe("A tiny square.");
  },
};

const imageUrl: Scenario = {
  name: "image (URL)",
  async run(ctx) {
    ctx.up.reply({ text: "A cat, probably." });
    const hits = ctx.images.hits;
    const { answer, sent } = await ctx.images.serving(() =>
      send(ctx, input(ctx, { turns: [{ role: "user", text: "Describe this.", image: { kind: "url", url: IMAGE_URL } }] })),
    );
    const [image] = sent.messages[0]!.images;
    expect(sent.messages[0]!.images).toHaveLength(1);
    if (ctx.up.takesImageUrls) {
      // The upstream fetches it itself: lmrelay must not download it.
      expect(image).toEqual({ url: IMAGE_URL });
      expect(ctx.images.hits).toBe(hits);
    } else {
      // Inline-only upstream: lmrelay downloaded the image once and sent the bytes.
      expect(image!.data).toBe(PNG_BASE64);
      if (image!.mediaType !== undefined) expect(image!.mediaType).toBe("image/png");
      expect(ctx.images.hits).toBe(hits + 1);
    }
    expect(answer.text).toBe("A cat, probably.");
  },
};

const stopSequence: Scenario = {
  name: "stop sequence",
  async run(ctx) {
    ctx.up.reply({ text: "one two three", stoppedBySequence: true });
    const { answer, sent } = await send(ctx, input(ctx, { stop: ["</end>"], turns: [{ role: "user", text: "Count, then write </end>." }] }));
    expect(sent.stop).toEqual(["</end>"]);
    expect(answer.text).toBe("one two three");
    expect(answer.finish).toBe(ctx.client.finishFor(ctx.up.stopFinish));
    // Anthropic names the matched stop string when the upstream said which one it was.
    if (answer.stopSequence !== undefined) expect(answer.stopSequence).toBe(ctx.up.stopFinish === "stop_sequence" ? "</end>" : null);
  },
};

function jsonMode(name: ScenarioName, schema: Record<string, unknown> | undefined): Scenario {
  return {
    name,
    async run(ctx) {
      ctx.up.reply({ json: { ok: true } });
      const { answer, sent } = await send(ctx, input(ctx, { json: { schema }, turns: [{ role: "user", text: "Is it ok? Answer in JSON." }] }));
      expect(sent.json).toBeDefined();
      if (schema) expect(JSON.stringify(sent.json!.schema)).toContain('"ok"');
      // The JSON-mode machinery (Anthropic's forced tool) stays invisible to the client.
      expect(sent.tools).toEqual([]);
      expect(answer.toolCalls).toEqual([]);
      expect(JSON.parse(answer.text)).toEqual({ ok: true });
      expect(answer.finish).toBe(ctx.client.finishFor("stop"));
    },
  };
}

const usage: Scenario = {
  name: "usage",
  async run(ctx) {
    ctx.up.reply({ text: "Counted.", usage: { input: 100, output: 20, cached: 40, cacheWrite: 10 } });
    const { answer } = await send(ctx, input(ctx, {}));
    const read = ctx.up.reportsCacheReads ? 40 : 0;
    const write = ctx.up.reportsCacheWrites ? 10 : 0;
    // Input totals include cached tokens on every protocol once normalised: never double-counted, never lost.
    expect(answer.usage).toBeDefined();
    expect(answer.usage!.input).toBe(100);
    expect(answer.usage!.output).toBe(20);
    if (ctx.client.reportsCacheReads) expect(answer.usage!.cacheRead ?? 0).toBe(read);
    if (ctx.client.reportsCacheWrites) expect(answer.usage!.cacheWrite ?? 0).toBe(write);
    // The audit row bills the same numbers, not an estimate.
    ctx.gw.runtime.audit.flush();
    const [row] = ctx.gw.runtime.db.select().from(requests).orderBy(desc(requests.id)).limit(1).all();
    expect(row).toMatchObject({ status: 200, inputTokens: 100, outputTokens: 20, cachedTokens: read, cacheWriteTokens: write, usageEstimated: false, stream: ctx.stream });
  },
};

export const SCENARIOS: Scenario[] = [
  text,
  system,
  toolsRoundTrip,
  imageBase64,
  imageUrl,
  stopSequence,
  jsonMode("JSON mode (schema)", JSON_SCHEMA),
  jsonMode("JSON mode (any object)", undefined),
  usage,
];

/** A cell the protocols cannot express, with the reason and what is checked instead. */
export interface ImpossibleCell {
  inbound?: InboundName;
  wire?: WireName;
  scenario: ScenarioName;
  reason: string;
  /** What the cell checks instead: the clear refusal a client gets when it tries anyway. */
  instead(ctx: CellContext): Promise<void>;
}

export const IMPOSSIBLE: ImpossibleCell[] = [
  {
    inbound: "ollama",
    scenario: "image (URL)",
    reason: "Ollama messages carry images only as raw base64 in `images`; the protocol has no way to send an image URL",
    async instead(ctx) {
      const res = await fetch(`${ctx.gw.url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: `up/${ctx.up.model}`, stream: ctx.stream, messages: [{ role: "user", content: "Describe this.", images: [IMAGE_URL] }] }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toStartWith("lmrelay: ");
    },
  },
];

/** Parts of cells one side cannot express; the rest of the cell still runs. `usage` names the
 *  usage field concerned, which the drivers' and fixtures' `reports*` flags must agree with. */
export interface PartialCell {
  inbound?: InboundName[];
  wire?: WireName[];
  part: string;
  usage?: "cacheReads" | "cacheWrites";
  reason: string;
}

export const NOT_EXPRESSIBLE: PartialCell[] = [
  {
    inbound: ["anthropic"],
    part: "JSON mode (any object)",
    reason: "Anthropic's structured outputs always take a schema; lmrelay also accepts `output_config.format` without one, which is what the cell sends",
  },
  {
    inbound: ["ollama"],
    part: "usage: cached tokens apart",
    usage: "cacheReads",
    reason: "Ollama's final line has only prompt_eval_count; cached tokens are inside it, checked as part of the total",
  },
  {
    inbound: ["openai", "ollama", "gemini"],
    part: "usage: cache writes apart",
    usage: "cacheWrites",
    reason: "no standard field for prompt-cache writes; they are inside the input total, checked as part of it",
  },
  {
    wire: ["ollama"],
    part: "usage: cached tokens",
    usage: "cacheReads",
    reason: "Ollama reports no cached tokens; clients see 0 cached, the total input is still exact",
  },
  {
    wire: ["openai", "azure", "gemini", "cohere", "ollama"],
    part: "usage: cache writes",
    usage: "cacheWrites",
    reason: "only Anthropic reports prompt-cache writes apart; elsewhere they are inside the input total",
  },
];

export function impossibleCell(inbound: InboundName, wire: WireName, scenario: ScenarioName): ImpossibleCell | undefined {
  return IMPOSSIBLE.find((c) => c.scenario === scenario && (c.inbound ?? inbound) === inbound && (c.wire ?? wire) === wire);
}
