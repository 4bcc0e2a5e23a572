import type { FinishReason, StreamEvent, Usage } from "../../core/types";
import type { Json } from "../openai/check";
import { type ReasoningEnvelope, sealReasoning } from "./envelope";
import { newItemId } from "./encode";
import type { ToolNames } from "./tools";

// Canonical answer events → Responses output items, announcing each step as the stream events
// OpenAI sends (output_item.added, content_part.added, the deltas, the .done events, output_item.done
// with the complete item). The stream encoder writes the announcements; the non-stream path ignores
// them and keeps the items: both are the same code, so the two answers cannot drift apart.

/** Receives each stream event: its type and the rest of its JSON fields, already serialised
 *  (`"item_id":"msg_…","output_index":0,…`), so a delta costs one small JSON.stringify. */
export type EventSink = (type: string, fields: string) => void;

/** Receives each response.output_text.delta (the hot path) as the end of its frame after the
 *  sequence number, in three pieces the encoder joins with the frame's head in one go:
 *  `,"item_id":…,"delta":`, the text's JSON, `,"logprobs":[]}` and the frame's end. */
export type TextDeltaSink = (open: string, body: string, close: string) => void;

/** What follows a text delta's JSON: the rest of its event and the frame's end; `QUOTED_CLOSE`
 *  also closes the string when the text went in as it is (its opening quote is in the open piece). */
const CLOSE = ',"logprobs":[]}\n\n';
const QUOTED_CLOSE = '","logprobs":[]}\n\n';

interface MessageItem {
  kind: "message";
  index: number;
  id: string;
  /** Its text, delta by delta: joined once at the end (a `+=` per delta costs a string each). */
  texts: string[];
  /** The fields of its deltas before the text's JSON, built once (a delta is the hot path). */
  deltaHead: string;
  /** `,` and deltaHead; the same with the text's opening quote. */
  deltaOpen: string;
  deltaOpenQuoted: string;
}

/** Whether JSON.stringify writes `s` as it is, between quotes: nothing in it is escaped (`"`, `\`,
 *  control characters, lone surrogates — any surrogate here, to stay simple). Short strings only:
 *  a longer one goes to JSON.stringify, faster at length. */
export function plainJson(s: string): boolean {
  if (s.length > 32) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

interface ReasoningItem {
  kind: "reasoning";
  index: number;
  id: string;
  /** Summary parts, one per thinking block that had text. */
  summaries: string[];
  /** Whether the last summary part is open (announced, not done). */
  summaryOpen: boolean;
  envelope: ReasoningEnvelope;
}

interface CallItem {
  kind: "call";
  index: number;
  id: string;
  callId: string;
  /** The call's own name and namespace (a flattened namespace tool mapped back). */
  name: string;
  namespace?: string;
  custom: boolean;
  args: string;
}

type OpenItem = MessageItem | ReasoningItem | CallItem;

const j = JSON.stringify;

/** `JSON.stringify(s)`, the same bytes: a short string with nothing to escape (most deltas: a word
 *  or two) is only quoted, which costs about half as much. */
export function jsonString(s: string): string {
  return plainJson(s) ? `"${s}"` : j(s);
}

export class ResponseBuilder {
  readonly output: Json[] = [];
  /** Each output item's JSON, as its output_item.done wrote it. */
  readonly outputJson: string[] = [];
  usage: Usage | undefined;
  finish: FinishReason | undefined;
  /** The open text or reasoning item. */
  private current: MessageItem | ReasoningItem | undefined;
  /** Open tool calls by canonical call index. */
  private readonly calls = new Map<number, CallItem>();
  private next = 0;

  constructor(
    private readonly names: ToolNames,
    /** Provider id written into reasoning envelopes. */
    private readonly provider: string,
    private readonly emit: EventSink,
    /** Item ids (`msg_…`, `fc_…`); random unless a test fixes them. */
    private readonly newId: (prefix: string) => string = newItemId,
    /** Text deltas (else they go to `emit` like every other event). */
    private readonly textDelta?: TextDeltaSink,
  ) {}

  push(ev: StreamEvent): void {
    switch (ev.type) {
      case "text":
        if (ev.text) this.text(ev.text);
        break;
      case "thinking":
        if (ev.text) this.thinking(ev.text);
        break;
      case "thinking_signature": {
        const r = this.reasoning();
        const last = r.envelope.blocks.at(-1);
        if (last && last.signature === undefined && last.redacted === undefined) last.signature = ev.signature;
        else r.envelope.blocks.push({ text: "", signature: ev.signature });
        break;
      }
      case "redacted_thinking":
        this.reasoning().envelope.blocks.push({ text: "", redacted: ev.data });
        break;
      case "tool_call_start":
        this.callStart(ev.index, ev.id, ev.name, ev.signature);
        break;
      case "tool_call_delta":
        this.callDelta(ev.index, ev.arguments);
        break;
      case "usage":
        this.usage = ev.usage;
        break;
      case "finish":
        this.finish = ev.reason;
        break;
    }
  }

  /** Closes every open item (the answer is over). */
  close(): void {
    this.closeCurrent();
    for (const call of this.calls.values()) this.closeCall(call);
    this.calls.clear();
  }

  private text(text: string): void {
    let m = this.current;
    if (m?.kind !== "message") {
      this.closeCurrent();
      this.closeCalls();
      const id = this.newId("msg");
      const index = this.next++;
      const deltaHead = `"item_id":"${id}","output_index":${index},"content_index":0,"delta":`;
      m = this.current = { kind: "message", index, id, texts: [], deltaHead, deltaOpen: `,${deltaHead}`, deltaOpenQuoted: `,${deltaHead}"` };
      this.emit("response.output_item.added", `"output_index":${m.index},"item":{"id":"${m.id}","type":"message","status":"in_progress","content":[],"role":"assistant"}`);
      this.emit("response.content_part.added", `"item_id":"${m.id}","output_index":${m.index},"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`);
    }
    m.texts.push(text);
    if (this.textDelta) {
      if (plainJson(text)) this.textDelta(m.deltaOpenQuoted, text, QUOTED_CLOSE);
      else this.textDelta(m.deltaOpen, j(text), CLOSE);
    } else this.emit("response.output_text.delta", `${m.deltaHead}${jsonString(text)},"logprobs":[]`);
  }

  private reasoning(): ReasoningItem {
    if (this.current?.kind === "reasoning") return this.current;
    this.closeCurrent();
    this.closeCalls();
    const r: ReasoningItem = { kind: "reasoning", index: this.next++, id: this.newId("rs"), summaries: [], summaryOpen: false, envelope: { provider: this.provider, blocks: [] } };
    this.current = r;
    this.emit("response.output_item.added", `"output_index":${r.index},"item":{"id":"${r.id}","type":"reasoning","summary":[]}`);
    return r;
  }

  private thinking(text: string): void {
    const r = this.reasoning();
    const block = r.envelope.blocks.at(-1);
    // A signed (finished) block is followed by a new one: a new summary part.
    if (!block || block.signature !== undefined || block.redacted !== undefined) {
      this.closeSummary(r);
      r.envelope.blocks.push({ text: "" });
    }
    const b = r.envelope.blocks.at(-1)!;
    b.text += text;
    if (!r.summaryOpen) {
      r.summaries.push("");
      r.summaryOpen = true;
      this.emit("response.reasoning_summary_part.added", `"item_id":"${r.id}","output_index":${r.index},"summary_index":${r.summaries.length - 1},"part":{"type":"summary_text","text":""}`);
    }
    r.summaries[r.summaries.length - 1] += text;
    this.emit("response.reasoning_summary_text.delta", `"item_id":"${r.id}","output_index":${r.index},"summary_index":${r.summaries.length - 1},"delta":${jsonString(text)}`);
  }

  private closeSummary(r: ReasoningItem): void {
    if (!r.summaryOpen) return;
    r.summaryOpen = false;
    const i = r.summaries.length - 1;
    const text = j(r.summaries[i]);
    this.emit("response.reasoning_summary_text.done", `"item_id":"${r.id}","output_index":${r.index},"summary_index":${i},"text":${text}`);
    this.emit("response.reasoning_summary_part.done", `"item_id":"${r.id}","output_index":${r.index},"summary_index":${i},"part":{"type":"summary_text","text":${text}}`);
  }

  private callStart(index: number, callId: string, canonical: string, signature: string | undefined): void {
    if (signature !== undefined) {
      // Gemini's thought signature belongs to the call; it travels in a reasoning item's envelope.
      const r = this.current?.kind === "reasoning" ? this.current : this.reasoning();
      (r.envelope.callSignatures ??= {})[callId] = signature;
    }
    this.closeCurrent();
    const ns = this.names.namespaced.get(canonical);
    const call: CallItem = {
      kind: "call",
      index: this.next++,
      id: this.newId(this.names.custom.has(canonical) ? "ctc" : "fc"),
      callId,
      name: ns ? ns.name : canonical,
      custom: this.names.custom.has(canonical),
      args: "",
    };
    if (ns) call.namespace = ns.namespace;
    this.calls.set(index, call);
    this.emit("response.output_item.added", `"output_index":${call.index},"item":${j(this.callItem(call, "in_progress"))}`);
  }

  private callDelta(index: number, args: string): void {
    const call = this.calls.get(index);
    if (!call || !args) return;
    call.args += args;
    // A custom tool's input is the `input` string inside these arguments: sent once whole, at the end.
    if (!call.custom) this.emit("response.function_call_arguments.delta", `"item_id":"${call.id}","output_index":${call.index},"delta":${jsonString(args)}`);
  }

  private callItem(call: CallItem, status: "in_progress" | "completed"): Json {
    const done = status === "completed";
    if (call.custom) {
      const item: Json = { id: call.id, type: "custom_tool_call", status, call_id: call.callId, input: done ? customInput(call.args) : "", name: call.name };
      if (call.namespace !== undefined) item.namespace = call.namespace;
      return item;
    }
    const item: Json = { id: call.id, type: "function_call", status, arguments: done ? call.args || "{}" : "", call_id: call.callId, name: call.name };
    if (call.namespace !== undefined) item.namespace = call.namespace;
    return item;
  }

  private closeCall(call: CallItem): void {
    const item = this.callItem(call, "completed");
    if (call.custom) {
      const input = j(item.input);
      this.emit("response.custom_tool_call_input.delta", `"item_id":"${call.id}","output_index":${call.index},"delta":${input}`);
      this.emit("response.custom_tool_call_input.done", `"item_id":"${call.id}","output_index":${call.index},"input":${input}`);
    } else this.emit("response.function_call_arguments.done", `"item_id":"${call.id}","output_index":${call.index},"arguments":${j(item.arguments)}`);
    this.done(call.index, item);
  }

  private closeCalls(): void {
    for (const call of this.calls.values()) this.closeCall(call);
    this.calls.clear();
  }

  private closeCurrent(): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    if (cur.kind === "message") {
      const full = cur.texts.join("");
      const text = j(full);
      const part = `{"type":"output_text","annotations":[],"logprobs":[],"text":${text}}`;
      this.emit("response.output_text.done", `"item_id":"${cur.id}","output_index":${cur.index},"content_index":0,"text":${text},"logprobs":[]`);
      this.emit("response.content_part.done", `"item_id":"${cur.id}","output_index":${cur.index},"content_index":0,"part":${part}`);
      // The item's JSON from the part's (what JSON.stringify of the item gives: the id is hex).
      const item = { id: cur.id, type: "message", status: "completed", content: [{ type: "output_text", annotations: [], logprobs: [], text: full }], role: "assistant" };
      this.done(cur.index, item, `{"id":"${cur.id}","type":"message","status":"completed","content":[${part}],"role":"assistant"}`);
      return;
    }
    this.closeSummary(cur);
    const item: Json = { id: cur.id, type: "reasoning", summary: cur.summaries.map((text) => ({ type: "summary_text", text })) };
    if (cur.envelope.blocks.length > 0 || cur.envelope.callSignatures) item.encrypted_content = sealReasoning(cur.envelope);
    this.done(cur.index, item);
  }

  private done(index: number, item: Json, json: string = j(item)): void {
    this.output[index] = item;
    this.outputJson[index] = json;
    this.emit("response.output_item.done", `"output_index":${index},"item":${json}`);
  }
}

/** A custom tool call's free-text input from the `{"input": "..."}` arguments the upstream wrote;
 *  arguments of another shape go as their own text (the model's words, not lost). */
function customInput(args: string): string {
  try {
    const v = JSON.parse(args) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const input = (v as Json).input;
      if (typeof input === "string") return input;
      const values = Object.values(v as Json);
      if (values.length === 1 && typeof values[0] === "string") return values[0];
    }
    if (typeof v === "string") return v;
  } catch {}
  return args;
}
