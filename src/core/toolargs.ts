import { type GatewayError, lmrelayError } from "./errors";
import type { StreamEvent } from "./types";

// Tool-call arguments are JSON text canonically (OpenAI's own form, which can carry anything a
// model wrote). Anthropic `input`, Ollama `arguments` and Gemini `args` are objects. Text that is
// not a JSON object is never replaced by `{}` — the tool would run with no arguments as if the model
// had asked for that. Where the target format cannot carry the text, the caller gets an error that
// names the tool; stream and non-stream answers both use this one rule.

/** The arguments as an object; `{}` for empty text (no arguments), undefined when the text is not a
 *  JSON object (broken JSON, an array, a bare value). */
export function toolArgumentsObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const t = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return JSON.stringify(t);
}

/** An answer's tool call that the client's format cannot carry: the upstream's answer is broken (502). */
export function answerToolArgumentsError(name: string, text: string, where: string): GatewayError {
  return lmrelayError("upstream_error", `the model called tool "${name}" with arguments that are not a JSON object (${where} must be an object): ${excerpt(text)}`, {
    status: 502,
    code: "invalid_tool_arguments",
  });
}

/** A tool call in the conversation that the upstream's format cannot carry: the request is at fault (400). */
export function requestToolArgumentsError(name: string, text: string, where: string): GatewayError {
  return lmrelayError("invalid_request", `tool call "${name}" in the conversation has arguments that are not a JSON object (${where} must be an object): ${excerpt(text)}`, {
    code: "invalid_tool_arguments",
  });
}

/** The whole-answer check (RequestContext.checkAnswer) of a client format whose tool arguments are
 *  objects: the same refusal its encoder would make, known before the answer is recorded. */
export function objectToolArguments(where: string): (events: readonly StreamEvent[]) => GatewayError | undefined {
  return (events) => {
    let calls: Map<number, { name: string; text: string }> | undefined;
    for (const ev of events) {
      if (ev.type === "tool_call_start") (calls ??= new Map()).set(ev.index, { name: ev.name, text: "" });
      else if (ev.type === "tool_call_delta") {
        const call = calls?.get(ev.index);
        if (call) call.text += ev.arguments;
      }
    }
    if (calls) for (const { name, text } of calls.values()) if (!toolArgumentsObject(text)) return answerToolArgumentsError(name, text, where);
    return undefined;
  };
}
