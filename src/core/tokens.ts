import type { ChatRequest, ContentPart } from "./types";

// A fast token estimate (≈ 4 characters a token), for admission control, cost ordering and usage
// when an upstream reports none. No tokenizer in the hot path.

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function partChars(part: ContentPart): number {
  switch (part.type) {
    case "text":
      return part.text.length;
    case "thinking":
      return part.text.length;
    case "tool_call":
      return part.name.length + part.arguments.length;
    case "tool_result":
      return part.content.reduce((n, p) => n + (p.type === "text" ? p.text.length : 1000), 0);
    case "image":
    case "document":
      return 1000 * 4; // a typical image costs on the order of 1k tokens
  }
}

export function estimatePromptTokens(req: ChatRequest): number {
  let chars = 0;
  for (const p of req.system) chars += p.text.length;
  for (const m of req.messages) {
    chars += 16; // role and framing
    for (const p of m.content) chars += partChars(p);
  }
  if (req.tools) for (const t of req.tools) chars += t.name.length + (t.description?.length ?? 0) + JSON.stringify(t.parameters).length;
  return Math.ceil(chars / 4);
}
