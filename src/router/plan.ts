import type { ResolvedConfig, ResolvedProvider } from "../config/resolve";
import { priceFor } from "../governance/pricing";
import type { Block, CandidateHealth, HealthTracker } from "../health/tracker";
import { adapterFor } from "../upstream/registry";
import { type Capability, type CapabilityBook, capabilitySkipReason, lacking, type ModelCapabilities } from "./capabilities";
import type { Candidate } from "./candidates";
import { contextWindowOf } from "./context";
import type { AttemptRecord } from "./explain";

// Step two of routing: the resolved candidates the client may use (governance applied its
// allow-list), filtered (capability, key allow-lists, cooldowns, disabled keys) and annotated with
// what the strategies and the user's `route()` look at: health, cost, free, context window,
// known capabilities.

/** A prompt estimate this much over a model's context window skips the model: the estimate
 *  (characters / 4) is rough, so only a prompt far too large is refused before asking. */
export const CONTEXT_WINDOW_SLACK = 1.25;

/** Output tokens assumed for the cost estimate when the request sets no `maxTokens`. */
export const DEFAULT_OUTPUT_TOKENS = 1000;

export interface PlannedCandidate {
  provider: ResolvedProvider;
  model: string;
  /** Position in the resolution (the alias's written order, else config order). */
  index: number;
  free: boolean;
  health: CandidateHealth;
  /** USD per million tokens, and this request's estimate; `known` is false when nothing prices the model. */
  cost: { input: number; output: number; estimateUsd: number; known: boolean };
  contextWindow?: number;
  /** What the model is known to support or not (catalog, learned); absent = nothing known. */
  capabilities?: ModelCapabilities;
  /** The provider's circuit is open: tried only when everything else failed (half-open trial). */
  lastResort?: { reason: string; until?: number };
  /** Share of traffic (0.1..1) while the provider ramps back up after a cooldown. */
  ramp: number;
}

export interface PlanInput {
  config: ResolvedConfig;
  health: HealthTracker;
  candidates: Candidate[];
  need: "chat" | "embed";
  promptTokens: number;
  maxTokens?: number;
  /** What the request needs from the model; a candidate known to lack one is skipped. */
  needs?: readonly Capability[];
  capabilities?: CapabilityBook;
}

export interface Plan {
  candidates: PlannedCandidate[];
  skipped: AttemptRecord[];
}

/** A model is free on a free provider, as an OpenRouter `:free` variant, or when priced at 0. */
export function isFree(provider: ResolvedProvider, model: string): boolean {
  if (provider.free || model.endsWith(":free")) return true;
  const price = priceFor(provider, model);
  return price !== undefined && price.input === 0 && price.output === 0;
}

export function planCandidates(input: PlanInput): Plan {
  const { health } = input;
  const out: PlannedCandidate[] = [];
  const skipped: AttemptRecord[] = [];
  const skip = (c: Candidate, reason: string, until?: number) => skipped.push({ outcome: "skipped", provider: c.provider.id, model: c.model, status: 0, reason, until });
  input.candidates.forEach((c, index) => {
    const { provider, model } = c;
    const adapter = adapterFor(provider.type);
    if (!adapter || (input.need === "embed" && !adapter.embed)) return skip(c, input.need === "embed" ? "no embeddings" : "no adapter");
    const capabilities = input.capabilities?.of(provider.id, model);
    const missing = lacking(capabilities, input.needs);
    if (missing) return skip(c, capabilitySkipReason(missing));
    const contextWindow = contextWindowOf(provider, model);
    if (input.need === "chat" && contextWindow !== undefined && input.promptTokens > contextWindow * CONTEXT_WINDOW_SLACK) {
      skipped.push({ outcome: "skipped", provider: provider.id, model, status: 0, reason: "context window", window: contextWindow });
      return;
    }
    if (provider.keys.length) {
      // One pass, no arrays: this runs for every candidate of every request.
      let allowed = false;
      let first: Block | undefined;
      for (const k of provider.keys) {
        if (!k.allowsModel(model)) continue;
        allowed = true;
        const b = health.keyBlock(provider.id, k, model);
        if (!b) {
          first = undefined;
          break;
        }
        // Report the block that ends first: that is when this candidate is back.
        if (!first || (b.until ?? Infinity) < (first.until ?? Infinity)) first = b;
      }
      if (!allowed) return skip(c, "no key allows this model");
      if (first) return skip(c, first.reason, first.until);
    } else {
      const block = health.keyBlock(provider.id, undefined, model);
      if (block) return skip(c, block.reason, block.until);
    }
    const circuit = health.providerBlock(provider.id);
    const price = priceFor(provider, model);
    const free = isFree(provider, model);
    const inputPrice = free ? 0 : (price?.input ?? 0);
    const outputPrice = free ? 0 : (price?.output ?? 0);
    out.push({
      provider,
      model,
      index,
      free,
      health: health.candidateHealth(provider, model),
      cost: {
        input: inputPrice,
        output: outputPrice,
        estimateUsd: (input.promptTokens * inputPrice + (input.maxTokens ?? DEFAULT_OUTPUT_TOKENS) * outputPrice) / 1_000_000,
        known: free || price !== undefined,
      },
      contextWindow,
      capabilities,
      lastResort: circuit ? { reason: circuit.reason, until: circuit.until } : undefined,
      ramp: health.providerRamp(provider.id),
    });
  });
  return { candidates: out, skipped };
}
