// The shared vocabulary of the translation matrix: what a cell asks a client to send (ChatInput),
// what the client got back (ClientAnswer, read through the official SDK), and what reached the
// fake upstream (SentChat, read from the upstream's own wire format). Each side is protocol-neutral
// so one generic cell body checks every (client, upstream, stream) combination.

import type { FakeUpstream } from "../fakes/common";
import type { ProviderConfig } from "../../src/config/define";

export type InboundName = "openai" | "anthropic" | "ollama" | "gemini";
export type WireName = "openai" | "azure" | "anthropic" | "gemini" | "cohere" | "ollama";

export type ImageInput = { kind: "base64"; mediaType: string; data: string } | { kind: "url"; url: string };

export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface CallInput {
  /** The id the client got for this call (absent for protocols that have none, e.g. Ollama). */
  id?: string;
  name: string;
  args: Record<string, unknown>;
}

export type TurnInput =
  | { role: "user"; text: string; image?: ImageInput }
  | { role: "assistant"; text?: string; toolCalls?: CallInput[] }
  | { role: "tool"; callId?: string; name: string; content: string };

export interface ChatInput {
  model: string;
  system?: string;
  turns: TurnInput[];
  tools?: ToolSpec[];
  stop?: string[];
  /** Ask for JSON output: any JSON object, or one matching `schema`. */
  json?: { schema?: Record<string, unknown> };
  maxTokens: number;
}

/** What the client saw, read through its official SDK. */
export interface ClientAnswer {
  text: string;
  toolCalls: CallInput[];
  /** The finish/stop reason exactly as the protocol spells it. */
  finish: string | null;
  /** Stop string the protocol reported, where it has a field for it (Anthropic). */
  stopSequence?: string | null;
  /** Normalised to canonical semantics: `input` includes cached tokens. */
  usage?: { input: number; output: number; cacheRead?: number; cacheWrite?: number };
}

export interface ClientDriver {
  name: InboundName;
  chat(input: ChatInput, stream: boolean): Promise<ClientAnswer>;
  /** The wire finish value this protocol should show for a canonical finish reason. */
  finishFor(reason: "stop" | "stop_sequence" | "tool_calls" | "length"): string;
  /** Whether this protocol reports cache reads at all. */
  reportsCacheReads: boolean;
  /** Whether this protocol reports cache writes apart. */
  reportsCacheWrites: boolean;
}

export interface SentImage {
  /** Absent where the wire carries no media type (Ollama). */
  mediaType?: string;
  data?: string;
  url?: string;
}

export interface SentMessage {
  role: "user" | "assistant" | "tool";
  text: string;
  images: SentImage[];
  toolCalls: { id?: string; name: string; args: unknown }[];
  /** For `tool` messages: which call it answers, as the wire says it. */
  callId?: string;
  name?: string;
}

/** The chat request as it reached the fake, normalised from the upstream's wire format. */
export interface SentChat {
  model: string;
  stream: boolean;
  system: string;
  messages: SentMessage[];
  tools: { name: string; parameters: unknown }[];
  stop: string[];
  /** JSON mode as the wire asked for it, with the schema when one was sent. */
  json?: { schema?: unknown };
  maxTokens?: number;
  /** The stream asked the upstream for usage (only meaningful where the wire makes it optional). */
  usageAsked?: boolean;
}

export interface ReplySpec {
  text?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  /** `input` includes `cached` (reads) and `cacheWrite`. */
  usage?: { input: number; output: number; cached?: number; cacheWrite?: number };
  /** Make the upstream report that a stop sequence ended the answer. */
  stoppedBySequence?: boolean;
  /** Answer with this JSON object as the JSON-mode answer. */
  json?: Record<string, unknown>;
}

/** One upstream wire format: its fake, the provider entry pointing at it, and a reader of its requests. */
export interface UpstreamFixture {
  wire: WireName;
  /** Upstream model name the cells ask for (as `up/<model>`). */
  model: string;
  fake: FakeUpstream;
  provider: ProviderConfig;
  reply(r: ReplySpec): void;
  /** The last chat request the fake received, normalised. */
  lastChat(): SentChat;
  /** Number of chat requests received so far. */
  chatCount(): number;
  /** Canonical finish the upstream's stop-sequence answer maps to. */
  stopFinish: "stop" | "stop_sequence";
  /** Whether the upstream reports cache reads at all. */
  reportsCacheReads: boolean;
  /** Whether the upstream reports cache writes (Anthropic only). */
  reportsCacheWrites: boolean;
  /** Whether the wire takes image URLs as they are (else lmrelay downloads and inlines them). */
  takesImageUrls: boolean;
}
