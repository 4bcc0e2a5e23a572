import { GatewayError } from "./errors";
import type { ChatResponse, StreamEvent, TextPart, ThinkingPart, ToolCallPart, Usage } from "./types";

/** Builds a whole answer from its events, so stream and non-stream answers cannot drift apart. */
export class ResponseFolder {
  id = "";
  model = "";
  content: (TextPart | ThinkingPart | ToolCallPart)[] = [];
  finishReason: ChatResponse["finishReason"] | undefined;
  stopSequence: string | undefined;
  usage: Usage | undefined;
  startUsage: Partial<Usage> | undefined;
  error: GatewayError | undefined;
  private toolsByIndex = new Map<number, ToolCallPart>();

  push(ev: StreamEvent): void {
    switch (ev.type) {
      case "start":
        if (ev.id) this.id = ev.id;
        if (ev.model) this.model = ev.model;
        if (ev.usage) this.startUsage = ev.usage;
        return;
      case "text": {
        const last = this.content.at(-1);
        if (last?.type === "text") last.text += ev.text;
        else this.content.push({ type: "text", text: ev.text });
        return;
      }
      case "thinking": {
        const last = this.content.at(-1);
        if (last?.type === "thinking" && !last.signature && !last.redacted) last.text += ev.text;
        else this.content.push({ type: "thinking", text: ev.text });
        return;
      }
      case "thinking_signature": {
        const last = this.content.at(-1);
        if (last?.type === "thinking") last.signature = ev.signature;
        else this.content.push({ type: "thinking", text: "", signature: ev.signature });
        return;
      }
      case "redacted_thinking":
        this.content.push({ type: "thinking", text: "", redacted: ev.data });
        return;
      case "tool_call_start": {
        const part: ToolCallPart = { type: "tool_call", id: ev.id, name: ev.name, arguments: "" };
        if (ev.signature) part.signature = ev.signature;
        this.toolsByIndex.set(ev.index, part);
        this.content.push(part);
        return;
      }
      case "tool_call_delta": {
        const part = this.toolsByIndex.get(ev.index);
        if (part) part.arguments += ev.arguments;
        return;
      }
      case "usage":
        this.usage = ev.usage;
        return;
      case "finish":
        this.finishReason = ev.reason;
        this.stopSequence = ev.stopSequence;
        return;
      case "error":
        this.error = ev.error;
        return;
    }
  }

  result(): ChatResponse {
    for (const part of this.content) if (part.type === "tool_call" && part.arguments === "") part.arguments = "{}";
    const hasTools = this.content.some((p) => p.type === "tool_call");
    return {
      id: this.id,
      model: this.model,
      content: this.content,
      finishReason: this.finishReason ?? (hasTools ? "tool_calls" : "stop"),
      stopSequence: this.stopSequence,
      usage: this.usage ?? {
        inputTokens: this.startUsage?.inputTokens ?? 0,
        outputTokens: this.startUsage?.outputTokens ?? 0,
      },
    };
  }
}

/** Folds a complete event list; throws the stream's error event if there is one. */
export function foldEvents(events: Iterable<StreamEvent>): ChatResponse {
  const folder = new ResponseFolder();
  for (const ev of events) folder.push(ev);
  if (folder.error) throw folder.error;
  return folder.result();
}

/** The events of a whole answer, for upstreams that answered in one piece. */
export function responseToEvents(res: ChatResponse): StreamEvent[] {
  const events: StreamEvent[] = [{ type: "start", id: res.id, model: res.model }];
  let toolIndex = 0;
  for (const part of res.content) {
    if (part.type === "text") events.push({ type: "text", text: part.text });
    else if (part.type === "thinking") {
      if (part.redacted) events.push({ type: "redacted_thinking", data: part.redacted });
      else {
        events.push({ type: "thinking", text: part.text });
        if (part.signature) events.push({ type: "thinking_signature", signature: part.signature });
      }
    } else {
      const index = toolIndex++;
      events.push({ type: "tool_call_start", index, id: part.id, name: part.name, signature: part.signature });
      events.push({ type: "tool_call_delta", index, arguments: part.arguments });
    }
  }
  events.push({ type: "finish", reason: res.finishReason, stopSequence: res.stopSequence });
  events.push({ type: "usage", usage: res.usage });
  return events;
}

/** A whole answer whose events are all known (the router's bookkeeping done): consumers that know
 *  it read `events` without awaiting each one; others iterate it like any answer. */
export class SettledAnswer implements AsyncIterable<StreamEvent> {
  constructor(readonly events: readonly StreamEvent[]) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<StreamEvent> {
    yield* this.events;
  }
}
