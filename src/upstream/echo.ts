import { lmrelayError } from "../core/errors";
import { estimatePromptTokens, estimateTextTokens } from "../core/tokens";
import type { ChatRequest, EmbedRequest, EmbedResponse, StreamEvent } from "../core/types";
import type { ChatReply, UpstreamAdapter, UpstreamCall } from "./types";

// A built-in provider with no network: answers with the last user message, word by word, and
// reports token usage. For trying routing rules without spending money, and for benchmarks.

function lastUserText(req: ChatRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i]!;
    if (m.role !== "user") continue;
    const texts: string[] = [];
    for (const p of m.content) {
      if (p.type === "text") texts.push(p.text);
      else if (p.type === "tool_result") for (const c of p.content) if (c.type === "text") texts.push(c.text);
    }
    if (texts.length) return texts.join("\n");
  }
  return "";
}

/** Splits after each run of whitespace, so the pieces concatenate back to the exact text. */
function words(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

let counter = 0;
const MAX_ECHO_DIMENSIONS = 8192;

async function* echoEvents(req: ChatRequest, call: UpstreamCall): AsyncGenerator<StreamEvent> {
  const text = lastUserText(req);
  let pieces = words(text);
  let reason: "stop" | "length" = "stop";
  if (req.maxTokens !== undefined && pieces.length > req.maxTokens) {
    pieces = pieces.slice(0, req.maxTokens);
    reason = "length";
  }
  const id = `echo-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  yield { type: "start", id, model: call.target.model };
  for (const piece of pieces) {
    if (call.signal.aborted) return;
    yield { type: "text", text: piece };
  }
  yield { type: "finish", reason };
  yield {
    type: "usage",
    usage: { inputTokens: estimatePromptTokens(req), outputTokens: estimateTextTokens(pieces.join("")) },
  };
}

export const echoAdapter: UpstreamAdapter = {
  type: "echo",
  async chat(req: ChatRequest, call: UpstreamCall): Promise<ChatReply> {
    return { events: echoEvents(req, call) };
  },
  async embed(req: EmbedRequest, call: UpstreamCall): Promise<EmbedResponse> {
    const dimensions = req.dimensions ?? 8;
    // A real model has a fixed size too; an unbounded one would let a client allocate anything.
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_ECHO_DIMENSIONS)
      throw lmrelayError("invalid_request", `the echo model makes embeddings of 1 to ${MAX_ECHO_DIMENSIONS} dimensions, not ${dimensions}`, { param: "dimensions" });
    // A deterministic vector per input: character statistics, normalised.
    const vectors = req.input.map((s) => {
      const v = new Array<number>(dimensions).fill(0);
      for (let i = 0; i < s.length; i++) v[i % dimensions]! += s.charCodeAt(i) / 128;
      let sum = 0;
      for (const x of v) sum += x * x;
      const norm = Math.sqrt(sum) || 1;
      return v.map((x) => x / norm);
    });
    const tokens = req.input.reduce((n, s) => n + estimateTextTokens(s), 0);
    return { model: call.target.model, vectors, usage: { inputTokens: tokens } };
  },
  async listModels() {
    return ["echo-1"];
  },
};
