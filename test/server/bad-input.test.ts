import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestGateway, startGateway } from "../helpers/gateway";

// Issue 2: client mistakes get 400/404/413 in the caller's protocol shape with a `lmrelay: `
// message and an x-request-id — never a 500 or a hang.

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ server: { maxBodyBytes: 64 * 1024 }, providers: { echo: { type: "echo", models: ["echo-1"] } } });
});
afterAll(() => gw.stop());

type Shape = "openai" | "anthropic" | "ollama";
const ENDPOINTS: { path: string; shape: Shape; headers?: Record<string, string> }[] = [
  { path: "/v1/chat/completions", shape: "openai" },
  { path: "/v1/completions", shape: "openai" },
  { path: "/v1/embeddings", shape: "openai" },
  { path: "/v1/messages", shape: "anthropic" },
  { path: "/anthropic/v1/messages", shape: "anthropic" },
  { path: "/v1/messages/count_tokens", shape: "anthropic" },
  { path: "/api/chat", shape: "ollama" },
  { path: "/api/generate", shape: "ollama" },
  { path: "/api/embed", shape: "ollama" },
  { path: "/api/embeddings", shape: "ollama" },
];

function messageOf(shape: Shape, body: any): string {
  if (shape === "openai") return body.error.message;
  if (shape === "anthropic") {
    expect(body.type).toBe("error");
    return body.error.message;
  }
  expect(typeof body.error).toBe("string");
  return body.error;
}

async function expectError(res: Response, status: number, shape: Shape): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get("x-request-id")).toBeTruthy();
  const msg = messageOf(shape, await res.json());
  expect(msg.startsWith("lmrelay: ")).toBe(true);
  return msg;
}

describe.each(ENDPOINTS)("$path", ({ path, shape }) => {
  test("malformed JSON → 400", async () => {
    const res = await fetch(gw.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(await expectError(res, 400, shape)).toContain("not valid JSON");
  });

  test("empty body → 400", async () => {
    const res = await fetch(gw.url + path, { method: "POST" });
    await expectError(res, 400, shape);
  });

  test("JSON that is not an object, or lacks model → 400", async () => {
    for (const body of ["[]", "42", '"text"', "null", "{}"]) {
      const res = await fetch(gw.url + path, { method: "POST", body });
      await expectError(res, 400, shape);
    }
  });

  test("body over server.maxBodyBytes (declared length) → 413", async () => {
    const big = JSON.stringify({ model: "echo-1", pad: "x".repeat(100 * 1024) });
    const res = await fetch(gw.url + path, { method: "POST", body: big });
    expect(await expectError(res, 413, shape)).toContain("exceeds");
  });

  test("body over the limit sent chunked (no length) → 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(gw.url + path, { method: "POST", body, duplex: "half" } as RequestInit);
    await expectError(res, 413, shape);
  });
});

describe("unknown paths answer 404 in the protocol their prefix implies", () => {
  test.each([
    ["/v1/nope", "openai"],
    ["/api/nope", "ollama"],
    ["/anthropic/v1/nope", "anthropic"],
  ] as const)("%s", async (path, shape) => {
    const res = await fetch(gw.url + path, { method: "POST", body: "{}" });
    expect(await expectError(res, 404, shape)).toContain(path);
  });
});

test("an unknown model → 404 naming it, with the nearest known names", async () => {
  const res = await fetch(gw.url + "/v1/chat/completions", {
    method: "POST",
    body: JSON.stringify({ model: "echo-2", messages: [{ role: "user", content: "hi" }] }),
  });
  const msg = await expectError(res, 404, "openai");
  expect(msg).toContain('"echo-2"');
  expect(msg).toContain("echo/echo-1");
});

test("/healthz answers without auth or upstream", async () => {
  const res = await fetch(gw.url + "/healthz");
  expect(res.status).toBe(200);
  expect(((await res.json()) as any).status).toBe("ok");
});

test("every answer carries x-request-id, including health, metrics and models", async () => {
  for (const path of ["/healthz", "/metrics", "/v1/models", "/api/tags", "/api/version", "/"]) {
    const res = await fetch(gw.url + path);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    await res.arrayBuffer();
  }
});
