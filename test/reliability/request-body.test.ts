import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { readJsonBody } from "../../src/inbound/http";

// Reading a client's body is where a misbehaving client meets lmrelay first: a body that stops
// arriving, a connection dropped half-way, a body larger than allowed with or without a declared
// length. Each ends in a clear 4xx, never a hang (lmrelay turns Bun's idle timeout off per request).

const enc = new TextEncoder();

/** A request whose body sends `parts` and then, unless `end`, neither ends nor errors. */
function requestWith(parts: string[], opts: { end?: boolean; fail?: boolean; declared?: number } = {}): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(enc.encode(p));
      if (opts.fail) controller.error(new Error("The connection was closed."));
      else if (opts.end) controller.close();
    },
  });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.declared !== undefined) headers["content-length"] = String(opts.declared);
  return new Request("http://localhost/v1/chat/completions", { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return e as GatewayError;
  }
  throw new Error("expected a failure");
}

describe("readJsonBody against misbehaving clients", () => {
  test("a chunked body that stops arriving: 408 after the stall limit, not a hang", async () => {
    const started = performance.now();
    const err = await failure(readJsonBody(requestWith(['{"model":', '"x"']), 1_000_000, 200));
    expect(err.status).toBe(408);
    expect(err.message).toStartWith("lmrelay: the request body stopped arriving");
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("a declared body that stops arriving: 408 as well", async () => {
    const err = await failure(readJsonBody(requestWith(['{"model":'], { declared: 500 }), 1_000_000, 200));
    expect(err.status).toBe(408);
  });

  test("each chunk restarts the stall clock: a slow but steady body is read whole", async () => {
    const chunks = ['{"model":"echo",', '"messages":[', '{"role":"user","content":"hi"}', "]}"];
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = chunks.shift();
        if (next === undefined) return controller.close();
        await Bun.sleep(120);
        controller.enqueue(enc.encode(next));
      },
    });
    const req = new Request("http://localhost/x", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(await readJsonBody(req, 1_000_000, 200)).toEqual({ model: "echo", messages: [{ role: "user", content: "hi" }] });
  });

  test("a connection dropped mid-body: a 499 client error, not an internal one", async () => {
    const err = await failure(readJsonBody(requestWith(['{"model":'], { fail: true }), 1_000_000, 5_000));
    expect(err.status).toBe(499);
    expect(err.kind).toBe("invalid_request");
  });

  test("too large, declared or counted while reading: 413 without reading it all", async () => {
    expect((await failure(readJsonBody(requestWith(["{}"], { declared: 2_000_000, end: true }), 1_000_000))).status).toBe(413);
    const big = Array.from({ length: 40 }, () => "x".repeat(64 * 1024));
    expect((await failure(readJsonBody(requestWith(big, { end: true }), 1_000_000))).status).toBe(413);
  });

  test("empty, blank and broken bodies: 400 with a reason", async () => {
    for (const text of ["", "   \n", "{", "\u0000"]) {
      const err = await failure(readJsonBody(requestWith([text], { end: true }), 1_000_000));
      expect(err.status).toBe(400);
    }
  });
});
