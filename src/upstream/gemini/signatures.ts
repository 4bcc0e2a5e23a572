// Thought signatures by tool-call id. Gemini 3 wants each function call's signature back, but
// OpenAI, Anthropic and Ollama clients have nowhere to keep it: they echo only the call id. So the
// adapter remembers the signatures it handed out and restores them when a call comes back without
// one. Bounded (oldest dropped first); after a restart the documented skip value stands in.

const MAX_ENTRIES = 4096;

export class SignatureCache {
  private readonly byId = new Map<string, string>();

  constructor(private readonly max = MAX_ENTRIES) {}

  remember(id: string, signature: string): void {
    this.byId.delete(id);
    this.byId.set(id, signature);
    if (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value!);
  }

  recall(id: string): string | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

/** The process-wide cache the adapter uses. */
export const thoughtSignatures = new SignatureCache();
