import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import OpenAI from "openai";
import type { RecordedRequest } from "../fakes/common";
import { startGateway, type TestGateway } from "../helpers/gateway";
import type { UpstreamFixture, WireName } from "./types";
import { startFixture } from "./upstreams";

// Embeddings (issue 3): the OpenAI and Ollama clients (the protocols that have embeddings) × every
// upstream with an embeddings API. Each upstream's inspector reads the texts and the dimension
// request as they reached it; the two clients must read the same vectors for the same text.

type Json = Record<string, any>;

interface EmbedInspector {
  model: string;
  isEmbed(r: RecordedRequest): boolean;
  read(r: RecordedRequest): { texts: string[]; dimensions?: number };
}

const INSPECTORS: Partial<Record<WireName, EmbedInspector>> = {
  openai: {
    model: "text-embedding-3-small",
    isEmbed: (r) => r.path === "/v1/embeddings",
    read: ({ body }) => ({ texts: [body.input].flat(), dimensions: body.dimensions }),
  },
  azure: {
    model: "text-embedding-3-small",
    isEmbed: (r) => r.path === "/openai/deployments/matrix-embed/embeddings" && r.url.includes("api-version="),
    read: ({ body }) => ({ texts: [body.input].flat(), dimensions: body.dimensions }),
  },
  gemini: {
    model: "gemini-embedding-001",
    isEmbed: (r) => /:(batchEmbedContents|embedContent)$/.test(r.path),
    read: ({ body }) => {
      const requests: Json[] = body.requests ?? [body];
      return { texts: requests.map((q) => q.content.parts.map((p: Json) => p.text).join("")), dimensions: requests[0]!.outputDimensionality };
    },
  },
  cohere: {
    model: "embed-v4.0",
    isEmbed: (r) => r.path === "/v2/embed",
    read: ({ body }) => ({ texts: body.texts, dimensions: body.output_dimension }),
  },
  ollama: {
    model: "all-minilm",
    isEmbed: (r) => r.path === "/api/embed",
    read: ({ body }) => ({ texts: [body.input].flat(), dimensions: body.dimensions }),
  },
};

const TEXTS = ["The quick brown fox", "jumps over the lazy dog"];

/** Float32 is what travels as base64: compare at its precision. */
function expectSameVectors(a: number[][], b: number[][]): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    expect(v.length).toBe(b[i]!.length);
    v.forEach((x, j) => expect(x).toBeCloseTo(b[i]![j]!, 5));
  });
}

for (const [wire, inspector] of Object.entries(INSPECTORS) as [WireName, EmbedInspector][]) {
  describe(`embeddings → ${wire}`, () => {
    let up: UpstreamFixture;
    let gw: TestGateway;
    let openai: OpenAI;
    let ollama: Ollama;
    const model = `up/${inspector.model}`;
    const lastEmbed = () => inspector.read(up.fake.requests.filter(inspector.isEmbed).at(-1)!);

    beforeAll(async () => {
      up = await startFixture(wire);
      gw = await startGateway({ providers: { up: up.provider }, routing: { maxAttempts: 1 } });
      openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "matrix", maxRetries: 0 });
      ollama = new Ollama({ host: gw.url });
    });
    afterAll(async () => {
      await gw?.stop();
      await up?.fake.stop();
    });

    test("OpenAI client (SDK default base64) and Ollama client read the same vectors", async () => {
      const viaOpenAI = await openai.embeddings.create({ model, input: TEXTS });
      expect(lastEmbed().texts).toEqual(TEXTS);
      expect(viaOpenAI.object).toBe("list");
      expect(viaOpenAI.data.map((d) => d.index)).toEqual([0, 1]);
      const viaOllama = await ollama.embed({ model, input: TEXTS });
      expect(lastEmbed().texts).toEqual(TEXTS);
      expect(viaOllama.embeddings).toHaveLength(2);
      expectSameVectors(
        viaOpenAI.data.map((d) => d.embedding),
        viaOllama.embeddings,
      );
      // Different texts, different vectors: the answer is per input, in order.
      expect(viaOllama.embeddings[0]).not.toEqual(viaOllama.embeddings[1]);
      expect(viaOpenAI.usage.prompt_tokens).toBe(viaOllama.prompt_eval_count);
    });

    test("float encoding and a requested dimension reach the upstream's own field", async () => {
      const res = await openai.embeddings.create({ model, input: "one text", dimensions: 4, encoding_format: "float" });
      expect(lastEmbed()).toEqual({ texts: ["one text"], dimensions: 4 });
      expect(res.data).toHaveLength(1);
      expect(res.data[0]!.embedding).toHaveLength(4);
      const viaOllama = await ollama.embed({ model, input: "one text", dimensions: 4 });
      expect(lastEmbed()).toEqual({ texts: ["one text"], dimensions: 4 });
      expectSameVectors([res.data[0]!.embedding], viaOllama.embeddings);
    });

    test("Ollama's legacy /api/embeddings (one prompt)", async () => {
      const res = await ollama.embeddings({ model, prompt: "legacy prompt" });
      expect(lastEmbed().texts).toEqual(["legacy prompt"]);
      const again = await openai.embeddings.create({ model, input: "legacy prompt", encoding_format: "float" });
      expectSameVectors([res.embedding], [again.data[0]!.embedding]);
    });
  });
}

test("Anthropic has no embeddings API: an embeddings request for a Claude model is refused clearly", async () => {
  const up = await startFixture("anthropic");
  const gw = await startGateway({ providers: { up: up.provider } });
  try {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "matrix", maxRetries: 0 });
    const err = (await openai.embeddings.create({ model: `up/${up.model}`, input: "x" }).catch((e) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(400);
    expect(err.message).toContain("lmrelay: ");
    expect(up.fake.requests).toHaveLength(0);
  } finally {
    await gw.stop();
    await up.fake.stop();
  }
});
