import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

// The client side of the audit load test, run as its own process: Bun caps one process's
// concurrent fetches (256 by default, and under `bun test` the override is not read), so clients
// and the gateway's own upstream calls must not share one process or they starve each other.
// Usage: bun load-client.ts <gateway url> <count> <client key> <model>; prints the answers as JSON.

const [url, countText, key, model] = process.argv.slice(2);
const count = Number(countText);
const messages = [{ role: "user" as const, content: "count me" }];
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key!, maxRetries: 0, timeout: 60_000 });
const anthropic = new Anthropic({ baseURL: url!, apiKey: key!, maxRetries: 0, timeout: 60_000 });

async function one(i: number): Promise<string> {
  const headers = { "x-request-id": `load-${i}` };
  switch (i % 5) {
    case 0:
    case 1:
      return (await openai.chat.completions.create({ model: model!, messages }, { headers })).choices[0]!.message.content ?? "";
    case 2: {
      const stream = await openai.chat.completions.create({ model: model!, messages, stream: true, stream_options: { include_usage: true } }, { headers });
      let text = "";
      for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
      return text;
    }
    case 3: {
      const m = await anthropic.messages.create({ model: model!, max_tokens: 32, messages }, { headers });
      return m.content[0]?.type === "text" ? m.content[0].text : "";
    }
    default: {
      const r = await fetch(`${url}/api/chat`, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify({ model, messages, stream: false }) });
      return ((await r.json()) as { message?: { content: string }; error?: string }).message?.content ?? `error ${r.status}`;
    }
  }
}

const results = await Promise.all(Array.from({ length: count }, (_, i) => one(i).catch((e: Error) => `error: ${e.message}`)));
process.stdout.write(JSON.stringify(results));
