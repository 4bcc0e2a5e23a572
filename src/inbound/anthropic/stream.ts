import type { GatewayError } from "../../core/errors";
import { JsonObjectPrefix } from "../../core/jsonprefix";
import { sseFrame } from "../../core/sse";
import type { FinishReason, StreamEvent, Usage } from "../../core/types";
import type { StreamEncoder } from "../http";
import { anthropicUsage, messageId, stopReason, toolInput, toolUseId } from "./encode";
import { anthropicErrorBody } from "./errors";

// Canonical events → Anthropic's SSE sequence: message_start, content blocks opened and closed
// strictly in order, then message_delta (stop reason + final usage) and message_stop.
// A tool's input streams as `input_json_delta` fragments only while it can still become a JSON
// object; from the first fragment that rules that out, the rest is held. When the block closes the
// whole input must be a JSON object: then what was held goes out, else the answer fails naming the
// tool, exactly as the whole (non-stream) answer does — instead of reaching SDKs that parse every
// delta (and choke on it) or a tool that would run with `{}`. While input is held, `ping` events
// keep the stream alive.

type OpenBlock = { kind: "text" | "thinking" | "tool"; index: number; toolIndex?: number; signed?: boolean };

interface ToolState {
  state: "open" | "queued" | "closed";
  id?: string;
  name?: string;
  /** Argument fragments so far. */
  args: string;
  /** How much of `args` went out already (an open block's valid beginning). */
  sent: number;
  /** Checks an open block's input as it grows; undefined once it can no longer become an object. */
  check?: JsonObjectPrefix;
}

/** While a tool's input is held, a ping at most this often (Anthropic itself pings idle streams). */
const PING_EVERY_MS = 5000;
const PING = `event: ping\ndata: {"type":"ping"}\n\n`;

export interface AnthropicStreamOptions {
  /** Upstream model, for when the upstream's first event names none. */
  model: string;
  requestId?: string;
  /** Input tokens for message_start when the upstream's start reports none (OpenAI-wire, Ollama and
   *  Gemini upstreams count usage only at the end). Real Anthropic always fills it there, and clients
   *  such as LangChain read the input count from message_start alone; message_delta still carries
   *  the upstream's own figures. Lazy: unused when the upstream's start has the count. */
  estimateInputTokens?: () => number;
}

function blockStart(index: number, block: string): string {
  return `event: content_block_start\ndata: {"type":"content_block_start","index":${index},"content_block":${block}}\n\n`;
}

function blockDelta(index: number, delta: string): string {
  return `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":${delta}}\n\n`;
}

function blockStop(index: number): string {
  return `event: content_block_stop\ndata: {"type":"content_block_stop","index":${index}}\n\n`;
}

function toolBlock(tool: ToolState): string {
  return `{"type":"tool_use","id":${JSON.stringify(toolUseId(tool.id ?? ""))},"name":${JSON.stringify(tool.name)},"input":{}}`;
}

function jsonDelta(fragment: string): string {
  return `{"type":"input_json_delta","partial_json":${JSON.stringify(fragment)}}`;
}

const TEXT_BLOCK = `{"type":"text","text":""}`;
const THINKING_BLOCK = `{"type":"thinking","thinking":"","signature":""}`;

export class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  private stopped = false;
  private open: OpenBlock | undefined;
  private nextIndex = 0;
  /** By canonical tool index. A tool starting while another tool's block is open waits its turn
   *  (Anthropic blocks cannot interleave), its fragments buffered, never dropped. */
  private tools = new Map<number, ToolState>();
  private queued: number[] = [];
  private sawTool = false;
  private startUsage: Partial<Usage> | undefined;
  private usage: Usage | undefined;
  private finish: { reason: FinishReason; stopSequence?: string } | undefined;
  /** When the stream last wrote something while holding a tool's input. */
  private lastWriteAt = 0;

  constructor(private readonly opts: AnthropicStreamOptions) {}

  encode(ev: StreamEvent): string {
    if (this.stopped) return "";
    let out = "";
    if (!this.started) {
      out += this.messageStart(ev.type === "start" ? ev : undefined);
      if (ev.type === "start") return out;
    }
    switch (ev.type) {
      case "text":
        if (ev.text === "") return out;
        if (this.open?.kind !== "text") out += this.closeBlocks() + this.openBlock("text", TEXT_BLOCK);
        return out + blockDelta(this.open!.index, `{"type":"text_delta","text":${JSON.stringify(ev.text)}}`);
      case "thinking":
        if (ev.text === "") return out;
        if (this.open?.kind !== "thinking" || this.open.signed) out += this.closeBlocks() + this.openBlock("thinking", THINKING_BLOCK);
        return out + blockDelta(this.open!.index, `{"type":"thinking_delta","thinking":${JSON.stringify(ev.text)}}`);
      case "thinking_signature":
        if (this.open?.kind !== "thinking" || this.open.signed) out += this.closeBlocks() + this.openBlock("thinking", THINKING_BLOCK);
        this.open!.signed = true;
        return out + blockDelta(this.open!.index, `{"type":"signature_delta","signature":${JSON.stringify(ev.signature)}}`);
      case "redacted_thinking": {
        out += this.closeBlocks();
        const index = this.nextIndex++;
        return out + blockStart(index, `{"type":"redacted_thinking","data":${JSON.stringify(ev.data)}}`) + blockStop(index);
      }
      case "tool_call_start":
        return out + this.toolStart(ev.index, ev.id, ev.name);
      case "tool_call_delta":
        return out + this.toolDelta(ev.index, ev.arguments);
      case "usage":
        this.usage = ev.usage;
        return this.finish ? out + this.finishFrames() : out;
      case "finish":
        this.finish = { reason: ev.reason, stopSequence: ev.stopSequence };
        out += this.closeBlocks();
        // Hold message_delta until the usage arrives (or the stream ends): it carries the numbers.
        return this.usage ? out + this.finishFrames() : out;
      default:
        return out;
    }
  }

  end(): string {
    if (this.stopped) return "";
    const out = this.started ? "" : this.messageStart(undefined);
    this.finish ??= { reason: this.sawTool ? "tool_calls" : "stop" };
    return out + this.finishFrames();
  }

  error(err: GatewayError): string {
    this.stopped = true;
    return sseFrame(JSON.stringify(anthropicErrorBody(err, this.opts.requestId)), "error");
  }

  private messageStart(start: Extract<StreamEvent, { type: "start" }> | undefined): string {
    this.started = true;
    let usage = start?.usage;
    if (usage?.inputTokens === undefined && this.opts.estimateInputTokens) usage = { ...usage, inputTokens: this.opts.estimateInputTokens() };
    this.startUsage = usage;
    const message = {
      id: messageId(start?.id),
      type: "message",
      role: "assistant",
      model: start?.model || this.opts.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: anthropicUsage(usage),
    };
    return sseFrame(JSON.stringify({ type: "message_start", message }), "message_start");
  }

  private openBlock(kind: OpenBlock["kind"], block: string, toolIndex?: number): string {
    const index = this.nextIndex++;
    this.open = { kind, index, toolIndex };
    return blockStart(index, block);
  }

  /** Closes the open block, then emits every waiting tool whole: something else comes next. */
  private closeBlocks(): string {
    let out = "";
    if (this.open) {
      if (this.open.toolIndex !== undefined) {
        const tool = this.tools.get(this.open.toolIndex)!;
        out += this.toolInputDelta(this.open.index, tool);
        tool.state = "closed";
      }
      out += blockStop(this.open.index);
      this.open = undefined;
    }
    if (this.queued.length === 0) return out;
    // Fragments whose tool has not started yet stay queued: no name to give their block.
    const waiting: number[] = [];
    for (const toolIndex of this.queued) {
      const tool = this.tools.get(toolIndex)!;
      if (tool.name === undefined) {
        waiting.push(toolIndex);
        continue;
      }
      tool.state = "closed";
      const index = this.nextIndex++;
      out += blockStart(index, toolBlock(tool));
      out += this.toolInputDelta(index, tool);
      out += blockStop(index);
    }
    this.queued = waiting;
    return out;
  }

  private toolStart(toolIndex: number, id: string, name: string): string {
    this.sawTool = true;
    const known = this.tools.get(toolIndex);
    if (known?.name !== undefined) return ""; // a repeated start: the block already exists
    if (this.open?.kind === "tool") {
      if (known) {
        known.id = id;
        known.name = name;
      } else {
        this.tools.set(toolIndex, { state: "queued", id, name, args: "", sent: 0 });
        this.queued.push(toolIndex);
      }
      return "";
    }
    if (known) this.queued.splice(this.queued.indexOf(toolIndex), 1);
    let out = this.closeBlocks();
    const tool: ToolState = { state: "open", id, name, args: "", sent: 0, check: new JsonObjectPrefix() };
    this.tools.set(toolIndex, tool);
    out += this.openBlock("tool", toolBlock(tool), toolIndex);
    this.lastWriteAt = Date.now();
    // Fragments that arrived before their start.
    return out + this.streamInput(tool, known?.args ?? "");
  }

  /** An open tool block's next fragment: sent while the input can still become a JSON object, held after. */
  private streamInput(tool: ToolState, fragment: string): string {
    if (fragment === "") return "";
    tool.args += fragment;
    const now = Date.now();
    if (tool.check?.push(fragment)) {
      tool.sent = tool.args.length;
      this.lastWriteAt = now;
      return blockDelta(this.open!.index, jsonDelta(fragment));
    }
    tool.check = undefined;
    if (now - this.lastWriteAt < PING_EVERY_MS) return "";
    this.lastWriteAt = now;
    return PING;
  }

  /** What is left of the tool's input, once the whole is known to be a JSON object (else this
   *  throws, and the stream ends with the error naming the tool). */
  private toolInputDelta(index: number, tool: ToolState): string {
    toolInput(tool.name ?? "", tool.args);
    const rest = tool.args.slice(tool.sent);
    tool.sent = tool.args.length;
    return rest.trim() === "" ? "" : blockDelta(index, jsonDelta(rest));
  }

  private toolDelta(toolIndex: number, fragment: string): string {
    if (fragment === "") return "";
    const tool = this.tools.get(toolIndex);
    if (!tool) {
      this.tools.set(toolIndex, { state: "queued", args: fragment, sent: 0 });
      this.queued.push(toolIndex);
      return "";
    }
    if (tool.state === "open") return this.streamInput(tool, fragment);
    // A closed block cannot be reopened on Anthropic's wire; a fragment arriving that late is lost.
    if (tool.state === "queued") tool.args += fragment;
    return "";
  }

  private finishFrames(): string {
    const closing = this.closeBlocks(); // content may have followed the finish event
    this.stopped = true;
    const { stop_reason, stop_sequence } = stopReason(this.finish!.reason, this.finish!.stopSequence);
    const usage = anthropicUsage(this.usage ?? this.startUsage);
    const delta = { type: "message_delta", delta: { stop_reason, stop_sequence }, usage };
    return closing + sseFrame(JSON.stringify(delta), "message_delta") + `event: message_stop\ndata: {"type":"message_stop"}\n\n`;
  }
}
