import type { ThinkingPart } from "../../core/types";

// The opaque `encrypted_content` lmrelay puts on the reasoning items it returns: what the upstream
// that produced them needs back to continue the conversation (Anthropic thinking signatures and
// redacted thinking, Gemini thought signatures of the function calls that followed), tagged with
// the provider that produced it. A client sends the item back as it got it; the request decoder
// turns it into canonical parts carrying that origin, and the router strips them before any other
// provider sees them (a foreign signature is an error there). Not encrypted: it holds nothing the
// client did not already receive, and every upstream verifies its own signatures.

const PREFIX = "lmrelay.r1.";

export interface ReasoningEnvelope {
  /** Provider id that produced the reasoning. */
  provider: string;
  /** Thinking blocks in order: text, Anthropic signature, or redacted payload. */
  blocks: { text: string; signature?: string; redacted?: string }[];
  /** Gemini thought signatures of the function calls that followed, by call id. */
  callSignatures?: Record<string, string>;
}

export function sealReasoning(env: ReasoningEnvelope): string {
  const wire: { p: string; b: unknown[]; g?: Record<string, string> } = {
    p: env.provider,
    b: env.blocks.map((b) => (b.redacted !== undefined ? { r: b.redacted } : b.signature !== undefined ? { t: b.text, s: b.signature } : { t: b.text })),
  };
  if (env.callSignatures && Object.keys(env.callSignatures).length > 0) wire.g = env.callSignatures;
  return PREFIX + Buffer.from(JSON.stringify(wire)).toString("base64url");
}

/** The envelope inside `encrypted_content`, or undefined when it is not lmrelay's (OpenAI's own
 *  encrypted reasoning, another gateway's) or does not parse. */
export function openReasoning(content: unknown): ReasoningEnvelope | undefined {
  if (typeof content !== "string" || !content.startsWith(PREFIX)) return undefined;
  try {
    const wire = JSON.parse(Buffer.from(content.slice(PREFIX.length), "base64url").toString("utf8")) as { p?: unknown; b?: unknown; g?: unknown };
    if (typeof wire.p !== "string" || !Array.isArray(wire.b)) return undefined;
    const blocks: ReasoningEnvelope["blocks"] = [];
    for (const b of wire.b as { t?: unknown; s?: unknown; r?: unknown }[]) {
      if (typeof b?.r === "string") blocks.push({ text: "", redacted: b.r });
      else if (typeof b?.t === "string") blocks.push(typeof b.s === "string" ? { text: b.t, signature: b.s } : { text: b.t });
    }
    const env: ReasoningEnvelope = { provider: wire.p, blocks };
    if (wire.g && typeof wire.g === "object" && !Array.isArray(wire.g)) {
      const sigs: Record<string, string> = {};
      for (const [id, s] of Object.entries(wire.g as Record<string, unknown>)) if (typeof s === "string") sigs[id] = s;
      env.callSignatures = sigs;
    }
    return env;
  } catch {
    return undefined;
  }
}

/** The canonical thinking parts an envelope stands for, each tagged with its origin. */
export function envelopeParts(env: ReasoningEnvelope): ThinkingPart[] {
  return env.blocks.map((b) => {
    const part: ThinkingPart = { type: "thinking", text: b.text, origin: env.provider };
    if (b.signature !== undefined) part.signature = b.signature;
    if (b.redacted !== undefined) part.redacted = b.redacted;
    return part;
  });
}
