import {
  applyFault,
  chunkedBody,
  fakeControls,
  type FakeReply,
  type FakeState,
  type FakeUpstream,
  record,
} from "./common";

// A fake Cohere API (v2 chat and embed, v1 models) on 127.0.0.1, speaking the exact wire format:
// snake_case JSON, SSE events framed `event: <type>\ndata: {...}\n\n` with `type` inside the data,
// `tool_plan` before tool calls, `message-end` carrying finish_reason and usage.

export interface CohereFakeReply extends FakeReply {
  /** Reasoning text, sent as a `thinking` content block when the request enables `thinking`. */
  thinking?: string;
  /** Overrides the tool plan the fake says before tool calls. */
  toolPlan?: string;
}

export interface CohereFakeOptions {
  /** Accepted API keys (default `["cohere-test-key"]`). */
  keys?: string[];
  models?: string[];
}

export interface CohereFake extends FakeUpstream {
  reply(r: CohereFakeReply): void;
}

const json = (body: unknown, status = 200, headers?: Record<string, string>) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const cohereError = (status: number, message: string) => json({ id: crypto.randomUUID(), message }, status);

/** Splits after each run of whitespace, so the pieces concatenate back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Rejects what the real API rejects (the errors gateways hit in the wild). */
function validateChat(body: any): string | undefined {
  if (!body || typeof body !== "object") return "invalid request: body must be a JSON object";
  if (typeof body.model !== "string" || !body.model) return "invalid request: model must be specified";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "invalid request: messages must not be empty";
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i];
    if (m?.role === "system" && i !== 0) return "invalid request: system turn must be the first in the list";
    if (!["system", "user", "assistant", "tool"].includes(m?.role)) return `invalid request: unknown role ${JSON.stringify(m?.role)}`;
    const empty = m.content === undefined || m.content === "" || (Array.isArray(m.content) && m.content.length === 0);
    if (m.role === "assistant" ? empty && !m.tool_calls?.length : empty) return "invalid request: message must not be empty in a turn";
    if (m.role === "tool" && typeof m.tool_call_id !== "string") return "invalid request: tool message must have a tool_call_id";
  }
  if (body.tool_choice !== undefined && !["REQUIRED", "NONE"].includes(body.tool_choice))
    return `invalid request: tool_choice must be one of REQUIRED, NONE`;
  if (body.p !== undefined && (body.p < 0.01 || body.p > 0.99)) return "invalid request: p must be between 0.01 and 0.99";
  return undefined;
}

interface Answer {
  id: string;
  thinking?: string;
  text: string;
  toolPlan?: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: { billed_units: { input_tokens: number; output_tokens: number }; tokens: { input_tokens: number; output_tokens: number }; cached_tokens: number };
}

function buildAnswer(r: CohereFakeReply, body: any): Answer {
  const toolCalls = (r.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `${c.name}_${i}fake${Math.random().toString(36).slice(2, 8)}`,
    name: c.name,
    arguments: JSON.stringify(c.arguments),
  }));
  const hasTools = toolCalls.length > 0;
  const input = r.usage?.input ?? 12;
  const output = r.usage?.output ?? 5;
  return {
    id: crypto.randomUUID(),
    thinking: body.thinking?.type === "enabled" ? r.thinking : undefined,
    text: hasTools ? (r.text ?? "") : (r.text ?? "Hello from cohere fake"),
    toolPlan: hasTools ? (r.toolPlan ?? `I will call ${toolCalls.map((c) => c.name).join(", ")}.`) : undefined,
    toolCalls,
    finishReason: r.finishReason ?? (hasTools ? "TOOL_CALL" : "COMPLETE"),
    usage: {
      // billed units exclude the system template, so they are smaller than the real token counts
      billed_units: { input_tokens: Math.max(0, input - 10), output_tokens: output },
      tokens: { input_tokens: input, output_tokens: output },
      cached_tokens: r.usage?.cached ?? 0,
    },
  };
}

function chatJson(a: Answer): unknown {
  const content: unknown[] = [];
  if (a.thinking) content.push({ type: "thinking", thinking: a.thinking });
  if (a.text) content.push({ type: "text", text: a.text });
  const message: Record<string, unknown> = { role: "assistant" };
  if (a.toolPlan !== undefined) message.tool_plan = a.toolPlan;
  if (a.toolCalls.length)
    message.tool_calls = a.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  message.content = content;
  message.citations = [];
  return { id: a.id, finish_reason: a.finishReason, message, usage: a.usage };
}

function frame(ev: Record<string, unknown>): string {
  return `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
}

function chatStreamChunks(a: Answer): string[] {
  const out: string[] = [
    frame({ id: a.id, type: "message-start", delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } } }),
  ];
  let index = 0;
  const block = (kind: "thinking" | "text", text: string) => {
    out.push(frame({ type: "content-start", index, delta: { message: { content: { type: kind, [kind]: "" } } } }));
    for (const p of pieces(text)) out.push(frame({ type: "content-delta", index, delta: { message: { content: { [kind]: p } } } }));
    out.push(frame({ type: "content-end", index }));
    index++;
  };
  if (a.thinking) block("thinking", a.thinking);
  if (a.toolPlan) for (const p of pieces(a.toolPlan)) out.push(frame({ type: "tool-plan-delta", delta: { message: { tool_plan: p } } }));
  if (a.text) block("text", a.text);
  a.toolCalls.forEach((c, i) => {
    out.push(
      frame({
        type: "tool-call-start",
        index: i,
        delta: { message: { tool_calls: { id: c.id, type: "function", function: { name: c.name, arguments: "" } } } },
      }),
    );
    // Arguments arrive in fragments, like the real API's token-by-token deltas.
    const mid = Math.ceil(c.arguments.length / 2);
    for (const part of [c.arguments.slice(0, mid), c.arguments.slice(mid)])
      if (part) out.push(frame({ type: "tool-call-delta", index: i, delta: { message: { tool_calls: { function: { arguments: part } } } } }));
    out.push(frame({ type: "tool-call-end", index: i }));
  });
  out.push(frame({ id: a.id, type: "message-end", delta: { finish_reason: a.finishReason, usage: a.usage } }));
  return out;
}

function embedAnswer(body: any): Response {
  if (typeof body?.model !== "string") return cohereError(400, "invalid request: model must be specified");
  if (!Array.isArray(body.texts) || body.texts.length === 0) return cohereError(400, "invalid request: texts must not be empty");
  if (body.texts.length > 96) return cohereError(400, "invalid request: texts cannot have more than 96 elements");
  if (typeof body.input_type !== "string") return cohereError(400, "invalid request: input_type is required for embed models v3 and higher");
  const dims: number = body.output_dimension ?? 8;
  // Deterministic vectors: character statistics of each text.
  const vectors = (body.texts as string[]).map((s) => {
    const v = new Array<number>(dims).fill(0);
    for (let i = 0; i < s.length; i++) v[i % dims]! += s.charCodeAt(i) / 128;
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  });
  const tokens = (body.texts as string[]).reduce((n, s) => n + pieces(s).length, 0);
  const types: string[] = body.embedding_types ?? ["float"];
  const embeddings: Record<string, unknown> = {};
  if (types.includes("float")) embeddings.float = vectors;
  return json({
    id: crypto.randomUUID(),
    embeddings,
    texts: body.texts,
    meta: { api_version: { version: "2" }, billed_units: { input_tokens: tokens } },
    response_type: "embeddings_by_type",
  });
}

function modelsAnswer(models: string[], url: URL): Response {
  const size = Number(url.searchParams.get("page_size") ?? "20") || 20;
  const start = Number(url.searchParams.get("page_token") ?? "0") || 0;
  const page = models.slice(start, start + size).map((name) => {
    const endpoints = name.startsWith("embed") ? ["embed"] : name.startsWith("rerank") ? ["rerank"] : ["chat"];
    return { name, endpoints, finetuned: false, context_length: 128000, features: [], is_deprecated: false, default_endpoints: [] };
  });
  const body: Record<string, unknown> = { models: page };
  if (start + size < models.length) body.next_page_token = String(start + size);
  return json(body);
}

export async function startCohereFake(opts: CohereFakeOptions = {}): Promise<CohereFake> {
  const keys = new Set(opts.keys ?? ["cohere-test-key"]);
  const state: FakeState & { replyWith: CohereFakeReply } = { requests: [], faults: [], replyWith: {} };
  const fake = {
    models: opts.models ?? ["command-a-03-2025", "command-r-plus-08-2024", "embed-v4.0", "rerank-v3.5"],
  } as CohereFake;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const rec = await record(req);
      state.requests.push(rec);
      const fault = await applyFault(state);
      if (fault instanceof Response) return fault;
      const cutAfter = fault?.cutAfter;

      const auth = req.headers.get("authorization") ?? "";
      if (!auth.startsWith("Bearer ") || !keys.has(auth.slice(7))) return cohereError(401, "invalid api token");

      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/v2/chat") {
        const problem = validateChat(rec.body);
        if (problem) return cohereError(400, problem);
        const answer = buildAnswer(state.replyWith, rec.body);
        if (rec.body.stream === true) {
          return new Response(chunkedBody(chatStreamChunks(answer), { delayMs: state.replyWith.chunkDelayMs, cutAfter }), {
            headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
          });
        }
        const text = JSON.stringify(chatJson(answer));
        if (cutAfter !== undefined) {
          const size = Math.ceil(text.length / 4);
          const parts = [0, 1, 2, 3].map((i) => text.slice(i * size, (i + 1) * size));
          return new Response(chunkedBody(parts, { cutAfter }), { headers: { "content-type": "application/json" } });
        }
        return new Response(text, { headers: { "content-type": "application/json" } });
      }
      if (req.method === "POST" && url.pathname === "/v2/embed") return embedAnswer(rec.body);
      if (req.method === "GET" && url.pathname === "/v1/models") return modelsAnswer(fake.models, url);
      return cohereError(404, `path ${url.pathname} not found`);
    },
  });

  return Object.assign(fake, fakeControls<CohereFakeReply>(server, state));
}
