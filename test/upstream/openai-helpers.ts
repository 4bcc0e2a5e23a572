import type { ProviderConfig } from "../../src/config/define";
import { type ResolvedProvider, resolveConfig } from "../../src/config/resolve";
import type { ChatRequest, StreamEvent } from "../../src/core/types";
import type { UpstreamCall } from "../../src/upstream/types";

// Shared by the OpenAI/Azure adapter tests: real resolved providers, calls, event collection.

export function providerOf(cfg: ProviderConfig, id = "p"): ResolvedProvider {
  const resolved = resolveConfig({ providers: { [id]: cfg } });
  return resolved.providers.get(id)!;
}

export function callTo(provider: ResolvedProvider, model: string, signal: AbortSignal = new AbortController().signal): UpstreamCall {
  return { target: { provider, key: provider.keys[0], model }, signal };
}

export function chatRequest(partial: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: "m",
    system: [],
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    stream: false,
    ...partial,
  };
}

export async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

/** Bytes of `text` delivered in the given pieces (cut at the given byte offsets). */
export async function* bytesIn(bytes: Uint8Array, cuts: number[] = []): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > start) yield bytes.slice(start, cut);
    start = Math.max(start, cut);
  }
}

export const encodeText = (s: string) => new TextEncoder().encode(s);
