import type { ChatRequest, ContentPart, Message } from "./types";

// Reasoning a client hands back (thinking signatures, Gemini thought signatures) is only valid at
// the provider that produced it: another provider rejects a signature it did not issue. Parts whose
// origin is known travel only to that provider; for every other one they are left out.

/** The request as `providerId` may see it: foreign thinking dropped, foreign call signatures
 *  removed. The same object when nothing is foreign (the common case costs one scan). */
export function withoutForeignReasoning(req: ChatRequest, providerId: string): ChatRequest {
  if (!req.messages.some((m) => m.content.some((p) => isForeign(p, providerId)))) return req;
  const messages: Message[] = [];
  for (const m of req.messages) {
    const content: ContentPart[] = [];
    for (const p of m.content) {
      if (!isForeign(p, providerId)) content.push(p);
      else if (p.type === "tool_call") {
        const { signature: _s, signatureOrigin: _o, ...rest } = p;
        content.push(rest);
      }
    }
    if (content.length === 0) continue;
    // A turn that held only foreign reasoning is gone: its neighbours of one role become one turn.
    const last = messages.at(-1);
    if (last?.role === m.role) last.content = [...last.content, ...content];
    else messages.push({ role: m.role, content });
  }
  return { ...req, messages };
}

function isForeign(p: ContentPart, providerId: string): boolean {
  if (p.type === "thinking") return p.origin !== undefined && p.origin !== providerId;
  if (p.type === "tool_call") return p.signatureOrigin !== undefined && p.signatureOrigin !== providerId;
  return false;
}
