import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { desc } from "drizzle-orm";
import OpenAI from "openai";
import { resolveConfig } from "../../src/config/resolve";
import type { ChatRequest } from "../../src/core/types";
import { keepOriginal } from "../../src/inbound/openai/raw";
import { quirksOf } from "../../src/upstream/openai/adapter";
import { forwardBody, topLevelSpans } from "../../src/upstream/openai/forward";
import { azureAdapter } from "../../src/upstream/azure";
import { adapterFor } from "../../src/upstream/registry";
import { requests } from "../../src/store/schema";
import { startGateway, type TestGateway } from "../helpers/gateway";

// Same-format passthrough (issue 7): an OpenAI client's request to a plain OpenAI-wire upstream
// travels as its own bytes (model name and stream usage edited in place), the answer comes back as
// the upstream's bytes, and the audit row is the one the translated path writes.

const ID = "chatcmpl-pt";
const head = `{"id":"${ID}","object":"chat.completion.chunk","created":1700000000,"model":"up-model","system_fingerprint":"fp_x","choices":`;
const FRAMES = [
  `data: ${head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`,
  `data: ${head}[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`,
  `data: ${head}[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n`,
];
const USAGE_FRAME = `data: ${head}[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":4}}}\n\n`;
// Odd spacing and fields lmrelay does not know: the client must see exactly these bytes.
const WHOLE = `{ "id": "${ID}", "object": "chat.completion", "created": 1700000000, "model": "up-model", "service_tier": "default",
  "choices": [ { "index": 0, "message": { "role": "assistant", "content": "Hello there", "refusal": null, "annotations": [] }, "logprobs": null, "finish_reason": "stop" } ],
  "usage": { "prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14, "prompt_tokens_details": { "cached_tokens": 4 } } }`;

let upstream: ReturnType<typeof Bun.serve>;
const received: string[] = [];
let gw: TestGateway;

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const text = await req.text();
      received.push(text);
      const body = JSON.parse(text);
      if (!body.stream) return new Response(WHOLE, { headers: { "content-type": "application/json" } });
      // Mistral (the translated provider here) sends stream usage unasked.
      const usage = body.stream_options?.include_usage || req.headers.get("authorization") === "Bearer sk-tr";
      const frames = [...FRAMES, ...(usage ? [USAGE_FRAME] : []), "data: [DONE]\n\n"];
      let i = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (i < frames.length) c.enqueue(new TextEncoder().encode(frames[i++]!));
          else c.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  });
  const baseUrl = `http://127.0.0.1:${upstream.port}/v1`;
  gw = await startGateway({
    providers: {
      // `openai`: passthrough. `mistral` (tool ids rewritten): always translated, same upstream.
      pt: { type: "openai", baseUrl, keys: ["sk-pt"], models: ["up-model"] },
      tr: { type: "mistral", baseUrl, keys: ["sk-tr"], models: ["up-model"] },
    },
    models: { alias: ["pt/up-model"] },
  });
});
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

function lastRow() {
  gw.runtime.audit.flush();
  return gw.runtime.db.select().from(requests).orderBy(desc(requests.id)).limit(1).all()[0]!;
}

/** The audit row's fields that do not depend on timing, ids or which provider answered. */
function comparable(row: ReturnType<typeof lastRow>) {
  const { status, stream, inputTokens, outputTokens, cachedTokens, cacheWriteTokens, usageEstimated, error, protocol, endpoint } = row;
  return { status, stream, inputTokens, outputTokens, cachedTokens, cacheWriteTokens, usageEstimated, error, protocol, endpoint };
}

async function post(body: string): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
}

const MESSAGES = '[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi \\"there\\" ✓"}]';

describe("same-format passthrough", () => {
  test("non-stream: the client's bytes go up with only the model changed, the upstream's bytes come back", async () => {
    const body = `{"messages": ${MESSAGES}, "model": "alias", "temperature": 0.2, "logit_bias": {"50256": -100}, "metadata": {"a": "b"}}`;
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-lmrelay-provider")).toBe("pt");
    expect(await res.text()).toBe(WHOLE);
    expect(received.at(-1)).toBe(body.replace('"model": "alias"', '"model": "up-model"'));
    const pt = comparable(lastRow());
    expect(pt).toMatchObject({ status: 200, inputTokens: 12, outputTokens: 2, cachedTokens: 4, usageEstimated: false });

    // The translated path on the same upstream answer writes the same row.
    const tr = await post(body.replace('"alias"', '"tr/up-model"'));
    expect(tr.status).toBe(200);
    expect(received.at(-1)).not.toBe(body.replace('"model": "alias"', '"model": "up-model"'));
    expect(comparable(lastRow())).toEqual(pt);
  });

  test("stream: frames come back as sent, the usage chunk lmrelay asked for is cut, the audit row matches", async () => {
    const body = `{"model":"pt/up-model","stream":true,"messages":${MESSAGES}}`;
    const res = await post(body);
    expect(await res.text()).toBe(`${FRAMES.join("")}data: [DONE]\n\n`);
    expect(received.at(-1)).toBe(`{"stream_options":{"include_usage":true},${body.slice(1).replace("pt/up-model", "up-model")}`);
    const pt = comparable(lastRow());
    expect(pt).toMatchObject({ status: 200, stream: true, inputTokens: 12, outputTokens: 2, cachedTokens: 4, usageEstimated: false });
    const tr = await post(body.replace("pt/up-model", "tr/up-model"));
    await tr.text();
    expect(comparable(lastRow())).toEqual(pt);
  });

  test("stream with usage asked for: the upstream's usage chunk is relayed; the official SDK reads it all", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "x", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "pt/up-model",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Hello there");
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 2 });
    expect(JSON.parse(received.at(-1)!).stream_options).toEqual({ include_usage: true });
  });

  test("a request the translation would change is translated", async () => {
    const res = await post(`{"model":"pt/up-model","messages":[{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"Hi"}]}]}`);
    expect(res.status).toBe(200);
    expect(received.at(-1)).not.toContain('"text":""');
  });
});

describe("forwardBody", () => {
  const config = resolveConfig(
    {
      providers: {
        oa: { type: "openai", keys: ["sk-a"], models: ["m"] },
        compat: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: ["m"] },
        az: { type: "azure", baseUrl: "https://x.openai.azure.com", keys: ["k"], models: ["m"] },
      },
    },
    "",
  );
  const provider = (id: string) => config.providers.get(id)!;
  const forward = (text: string, id = "oa", model = "m") => {
    const req = { model: "x", system: [], messages: [], stream: false } as ChatRequest;
    keepOriginal(req, text, JSON.parse(text));
    // Only the plain OpenAI-wire adapter takes a Chat Completions request as it is (Azure's routes and
    // auth differ: its `forward` takes Responses requests only, test/upstream/responses-forward.test.ts).
    const adapter = adapterFor(provider(id).type);
    if (!adapter?.forward || adapter === azureAdapter) return undefined;
    return forwardBody(req, provider(id), quirksOf(provider(id)), model)?.text;
  };

  test("edits in place: model, max-tokens field name, stream_options", () => {
    expect(forward('{"model":"m","messages":[]}')).toBe('{"model":"m","messages":[]}');
    expect(forward('{ "model" : "alias" , "messages":[{"content":"a\\\\\\"b"}]}')).toBe('{ "model" : "m" , "messages":[{"content":"a\\\\\\"b"}]}');
    expect(forward('{"messages":[],"max_tokens":5,"model":"m"}')).toBe('{"messages":[],"max_completion_tokens":5,"model":"m"}');
    expect(forward('{"messages":[],"max_completion_tokens":5,"model":"m"}', "compat")).toBe('{"messages":[],"max_tokens":5,"model":"m"}');
    expect(forward('{"model":"m","stream":true,"stream_options":{"x":1},"messages":[]}')).toBe(
      '{"model":"m","stream":true,"stream_options":{"x":1,"include_usage":true},"messages":[]}',
    );
    expect(forward('{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}')).toBe(
      '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}',
    );
  });

  test("declines what only the translation handles", () => {
    expect(forward('{"model":"m","messages":[]}', "az")).toBeUndefined();
    expect(forward('{"model":"m","messages":[],"top_k":3}')).toBeUndefined();
    expect(forward('{"model":"m","messages":[],"reasoning_effort":"xhigh"}')).toBeUndefined();
    expect(forward('{"model":"m","messages":[{"role":"developer","content":"x"}]}', "compat")).toBeUndefined();
    expect(forward('{"model":"m","messages":[{"role":"assistant","content":""}]}')).toBeUndefined();
    expect(forward('{"model":"m","stream_options":{"include_usage":true},"messages":[]}')).toBeUndefined();
    expect(forward('{"model":"m","max_tokens":1,"max_completion_tokens":1,"messages":[]}')).toBeUndefined();
  });

  test("topLevelSpans finds keys past nested look-alikes", () => {
    const text = '{"a":{"model":"no"},"b":["model",{"model":1}],"c":"\\"model\\":","model":"yes"}';
    const s = topLevelSpans(text, new Set(["model"]))!.get("model")!;
    expect(text.slice(s.valueStart, s.valueEnd)).toBe('"yes"');
  });
});
