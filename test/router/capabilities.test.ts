import { describe, expect, test } from "bun:test";
import type { LmrelayConfig } from "../../src/config/define";
import { resolveConfig } from "../../src/config/resolve";
import { type ErrorKind, GatewayError } from "../../src/core/errors";
import type { ChatRequest } from "../../src/core/types";
import { HealthTracker } from "../../src/health/tracker";
import { CapabilityBook, capabilityError, requestNeeds, withoutThinking } from "../../src/router/capabilities";
import type { AttemptRecord } from "../../src/router/explain";
import { exhaustedError, policyFor } from "../../src/router/failover";
import { planCandidates } from "../../src/router/plan";
import { geminiCapabilities } from "../../src/upstream/gemini/adapter";
import { ollamaCapabilities } from "../../src/upstream/ollama";
import type { ModelCapabilities } from "../../src/upstream/types";
import { unsupportedCapability } from "../../src/upstream/unsupported";

// Capability-aware routing without the network: the refusal phrasings real upstreams use, the
// error class they get, what a request needs, what the book knows, planning's filter, and the
// error a client gets when nothing can take its request.

describe("refusals that name a missing capability", () => {
  test.each([
    ['"llama3.2" does not support tools', "tools"],
    ["registry.ollama.ai/library/deepseek-r1:latest does not support tools", "tools"],
    ["deepseek-reasoner does not support Function Calling", "tools"],
    ["Invalid request content: The model does not support tool use or function calling but tools or tool_choice have been specified on the request.", "tools"],
    ["tool calling is not supported with this model", "tools"],
    ["deepinfra error: Tool calling is not supported for model: mistralai/Mistral-Small-24B-Instruct-2501", "tools"],
    ["Unsupported parameter: 'tools' is not supported with this model.", "tools"],
    ["Function calling is not enabled for models/gemma-3-12b-it", "tools"],
    ["No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing", "tools"],
    ["No endpoints found that support the provided 'tool_choice' value. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing", "tools"],
    ['"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set', "tools"],
    ["Unsupported param: tools", "tools"],
    ["Invalid content type. image_url is only supported by certain models.", "images"],
    ["No endpoints found that support image input", "images"],
    ["Image input modality is not enabled for models/gemma-3-1b-it", "images"],
    ["facebook/opt-125m is not a multimodal model None", "images"],
    ["image input is not supported - hint: if this is unexpected, you may need to provide the mmproj", "images"],
    ["image input is not supported by this server", "images"],
    ["Model does not support images. Please use a model that does.", "images"],
    ["Model do not support image input.", "images"],
    ["'claude-3-5-haiku-20241022' does not support thinking.", "thinking"],
    ['"llama3.2" does not support thinking', "thinking"],
    ["Unsupported parameter: 'reasoning_effort' is not supported with this model.", "thinking"],
    ['"llama3.2" does not support embeddings', "embeddings"],
  ])("%s → %s", (message, capability) => expect(unsupportedCapability(`p: ${message}`)).toBe(capability as never));

  test.each([
    "Unsupported value: 'messages[0].role' does not support 'system' with this model.",
    "Function calling mode `ANY` is not enabled for api version v1beta",
    "Function calling with a response mime type: 'application/json' is unsupported",
    "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.",
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
    '"llama3.2" does not support chat',
    "think value \"high\" is not supported for this model",
    "max_tokens: Field required",
    "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`.",
  ])("not a capability: %s", (message) => expect(unsupportedCapability(`p: ${message}`)).toBeUndefined());
});

const err = (kind: ErrorKind, status: number, message: string, code?: string) => new GatewayError(kind, `p: ${message}`, { status, code, provider: "p" });

describe("error class", () => {
  test("a refusal naming a capability moves to the next candidate and names it", () => {
    expect(policyFor(err("invalid_request", 400, '"gemma3" does not support tools'))).toEqual({ cls: "capability", action: "next", health: "reachable", capability: "tools" });
    expect(policyFor(err("not_found", 404, "No endpoints found that support image input")).capability).toBe("images");
    expect(policyFor(err("invalid_request", 405, "Tool calling is not supported for model: x")).capability).toBe("tools");
    expect(policyFor(err("upstream_error", 500, "image input is not supported by this server")).cls).toBe("capability");
  });

  test("other classes keep precedence; other 400s stay client errors", () => {
    expect(policyFor(err("rate_limited", 429, "does not support tools")).cls).toBe("rate_limited");
    expect(policyFor(err("context_length", 400, "prompt is too long")).cls).toBe("context_length");
    expect(policyFor(err("upstream_error", 502, "does not support tools", "connection_error")).cls).toBe("connection");
    expect(policyFor(err("invalid_request", 400, "messages: at least one message is required"))).toEqual({ cls: "client_error", action: "fail", health: "reachable" });
  });
});

const chat = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "m", system: [], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: false, ...extra });
const image = { type: "image" as const, source: { kind: "url" as const, url: "https://example.com/a.png" } };

describe("what a request needs", () => {
  test("tools, images (tool results too); not thinking", () => {
    expect(requestNeeds(chat())).toEqual([]);
    expect(requestNeeds(chat({ tools: [{ name: "f", parameters: { type: "object" } }] }))).toEqual(["tools"]);
    expect(requestNeeds(chat({ messages: [{ role: "user", content: [{ type: "text", text: "look" }, image] }] }))).toEqual(["images"]);
    const inResult = chat({ messages: [{ role: "user", content: [{ type: "tool_result", toolCallId: "t", content: [image] }] }] });
    expect(requestNeeds(inResult)).toEqual(["images"]);
    // Thinking is not a need: a model without it gets the request without it (withoutThinking).
    expect(requestNeeds(chat({ reasoning: { enabled: true, effort: "low" } }))).toEqual([]);
    expect(requestNeeds(chat({ reasoning: { enabled: false } }))).toEqual([]);
  });

  test("a model known not to think gets the request without its thinking, named", () => {
    const thinks = chat({ reasoning: { enabled: true, effort: "high" } });
    expect(withoutThinking(thinks, { thinking: false }, "llama3.2")).toEqual({ req: { ...thinks, reasoning: undefined, original: undefined }, adjusted: "thinking dropped (llama3.2 has none)" });
    expect(withoutThinking(thinks, { thinking: true }, "qwen3").req).toBe(thinks);
    expect(withoutThinking(thinks, undefined, "unknown").req).toBe(thinks);
    expect(withoutThinking(chat(), { thinking: false }, "llama3.2").adjusted).toBeUndefined();
  });
});

function book(declared: Record<string, ModelCapabilities> = {}) {
  return new CapabilityBook({ capabilities: (p, m) => declared[`${p}/${m}`] });
}

describe("the capability book", () => {
  test("declared, then learned on top; unknown means allowed", () => {
    const b = book({ "local/llava": { images: true, tools: false } });
    expect(b.missing("local", "llava", ["images"])).toBeUndefined();
    expect(b.missing("local", "llava", ["images", "tools"])).toBe("tools");
    expect(b.missing("local", "other", ["tools"])).toBeUndefined();
    b.learn("local", "llava", "images", false);
    expect(b.of("local", "llava")).toEqual({ images: false, tools: false });
    b.learn("local", "llava", "tools", true);
    expect(b.missing("local", "llava", ["tools"])).toBeUndefined();
    b.clear();
    expect(b.of("local", "llava")).toEqual({ images: true, tools: false });
  });

  test("nothing needed: nothing is looked up", () => {
    expect(book({ "a/m": { tools: false } }).missing("a", "m", [])).toBeUndefined();
  });
});

describe("planning", () => {
  const providers: LmrelayConfig["providers"] = {
    a: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: ["m"] },
    b: { type: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", models: ["m"] },
  };
  const config = resolveConfig({ providers });
  const candidates = [...config.providers.values()].map((provider) => ({ provider, model: "m" }));
  const plan = (b: CapabilityBook, needs: ("tools" | "images")[]) =>
    planCandidates({ config, health: new HealthTracker(config), candidates, need: "chat", promptTokens: 1, needs, capabilities: b });

  test("a candidate known to lack a needed capability is skipped with its reason; the others carry what is known", () => {
    const b = book({ "a/m": { tools: false, images: true } });
    const p = plan(b, ["tools"]);
    expect(p.candidates.map((c) => c.provider.id)).toEqual(["b"]);
    expect(p.skipped).toEqual([{ outcome: "skipped", provider: "a", model: "m", status: 0, reason: "capability: tools", until: undefined }]);
    const images = plan(b, ["images"]);
    expect(images.candidates.map((c) => [c.provider.id, c.capabilities])).toEqual([
      ["a", { tools: false, images: true }],
      ["b", undefined],
    ]);
  });
});

const skip = (provider: string, reason: string, until?: number): AttemptRecord => ({ outcome: "skipped", provider, model: "m", status: 0, reason, until });
const failed = (provider: string, reason: string, status = 400): AttemptRecord => ({ outcome: "failed", provider, model: "m", status, reason, error: `${provider}: no` });

describe("when nothing can take the request", () => {
  test("every candidate filtered or refused for a capability: 400 naming it, in lmrelay's words", () => {
    const e = exhaustedError([skip("a", "capability: tools"), failed("b", "capability: tools")], undefined, false);
    expect(e.status).toBe(400);
    expect(e.kind).toBe("invalid_request");
    expect(e.param).toBe("tools");
    expect(e.message).toStartWith("lmrelay: no model for this request supports tools: a/m: skipped, capability: tools; b/m: 400 b: no");
    expect(capabilityError([skip("a", "capability: images"), skip("b", "capability: thinking")])!.message).toContain("supports images and thinking");
    expect(capabilityError([skip("a", "client allow-list"), skip("b", "capability: embeddings"), skip("c", "no embeddings")])!.param).toBe("model");
  });

  test("a lone refusal keeps the upstream's own answer; a cooldown or another failure keeps the usual statuses", () => {
    const own = err("invalid_request", 400, '"gemma3" does not support tools');
    expect(exhaustedError([failed("a", "capability: tools")], own, false)).toBe(own);
    expect(capabilityError([skip("a", "capability: tools"), skip("b", "rate-limited (429)", Date.now() + 1000)])).toBeUndefined();
    expect(exhaustedError([skip("a", "capability: tools"), skip("b", "rate-limited (429)", Date.now() + 1000)], undefined, false).status).toBe(503);
    expect(exhaustedError([failed("a", "capability: tools"), failed("b", "server_error", 500)], undefined, false).status).toBe(502);
    expect(exhaustedError([skip("a", "capability: tools"), failed("b", "capability: tools")], undefined, true).status).toBe(504);
  });
});

describe("capabilities in model lists", () => {
  test("Ollama `capabilities`: present ones are known, absent ones known missing; no list, nothing known", () => {
    expect(ollamaCapabilities(["completion", "tools"])).toEqual({ tools: true, images: false, embeddings: false, thinking: false });
    expect(ollamaCapabilities(["completion", "vision", "thinking"])).toEqual({ tools: false, images: true, embeddings: false, thinking: true });
    expect(ollamaCapabilities(["embedding"])).toEqual({ tools: false, images: false, embeddings: true, thinking: false });
    expect(ollamaCapabilities(undefined)).toBeUndefined();
    expect(ollamaCapabilities([])).toBeUndefined();
  });

  test("Gemini: embeddings from supportedGenerationMethods, thinking from `thinking`", () => {
    expect(geminiCapabilities({ supportedGenerationMethods: ["generateContent", "countTokens"], thinking: true })).toEqual({ embeddings: false, thinking: true });
    expect(geminiCapabilities({ supportedGenerationMethods: ["embedContent"] })).toEqual({ embeddings: true });
    expect(geminiCapabilities({})).toBeUndefined();
  });
});
