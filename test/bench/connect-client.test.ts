import { afterAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { ConnectClient } from "../../scripts/bench/connect-client";

// The Bun.connect experiment's HTTP/1.1 framing against a raw TCP server that writes exactly the
// bytes each case needs (RFC 9112): the numbers in the README's Performance section are only worth
// something if the client reads answers the way fetch does.

type Reply = (request: string, socket: Socket<{ got: string }>) => void;
const replies = new Map<string, Reply>();
let connections = 0;

const server: TCPSocketListener<{ got: string }> = Bun.listen<{ got: string }>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.data = { got: "" };
      connections++;
    },
    data(s, chunk) {
      s.data.got += chunk.toString("latin1");
      // One request at a time per connection: answer once its head and Content-Length body are in.
      const end = s.data.got.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(s.data.got.slice(0, end))?.[1] ?? 0);
      if (s.data.got.length < end + 4 + length) return;
      const request = s.data.got.slice(0, end + 4 + length);
      s.data.got = s.data.got.slice(end + 4 + length);
      const path = request.split(" ")[1]!.split("?")[0]!;
      replies.get(path)!(request, s);
    },
  },
});
const base = `http://127.0.0.1:${server.port}`;
const client = new ConnectClient();

afterAll(() => {
  client.close();
  server.stop(true);
});

/** Writes `parts` one per event-loop turn, so the client sees them as separate reads. */
async function trickle(s: Socket<unknown>, parts: string[]): Promise<void> {
  for (const p of parts) {
    s.write(p);
    await Bun.sleep(1);
  }
}

describe("Bun.connect experiment client", () => {
  test("sends the request line, host, headers and a Content-Length body", async () => {
    let seen = "";
    replies.set("/echo", (req, s) => {
      seen = req;
      s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    });
    const res = await client.request(`${base}/echo?x=1`, { method: "POST", headers: { authorization: "Bearer k" }, body: "{\"a\":\"é\"}" });
    expect(await res.text()).toBe("ok");
    expect(seen.startsWith(`POST /echo?x=1 HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\n`)).toBe(true);
    expect(seen).toContain("authorization: Bearer k\r\n");
    expect(seen).toContain(`content-length: ${Buffer.byteLength("{\"a\":\"é\"}")}\r\n`);
    expect(seen.endsWith(`\r\n\r\n${Buffer.from('{"a":"é"}').toString("latin1")}`)).toBe(true);
  });

  test("a chunked answer split anywhere, with extensions and trailers, then the connection is reused", async () => {
    replies.set("/chunked", (_req, s) => {
      void trickle(s, ["HTTP/1.1 200 OK\r\ntransfer-en", "coding: chunked\r\n\r\n5;ext=1\r", "\nhel", "lo\r\n6\r\n worl", "d\r\n0\r\nx-trailer: 1\r\n", "\r\n"]);
    });
    const before = connections;
    for (let i = 0; i < 3; i++) {
      const res = await client.request(`${base}/chunked`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("hello world");
    }
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  test("1xx interim answers are skipped; 204 has no body", async () => {
    replies.set("/interim", (_req, s) => {
      s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 3\r\nx-a: b\r\n\r\nnew");
    });
    replies.set("/empty", (_req, s) => {
      s.write("HTTP/1.1 204 No Content\r\n\r\n");
    });
    const res = await client.request(`${base}/interim`, { method: "POST", body: "" });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-a")).toBe("b");
    expect(await res.text()).toBe("new");
    const empty = await client.request(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe("");
  });

  test("no length: the body runs to the close; Connection: close is not pooled", async () => {
    replies.set("/eof", (_req, s) => {
      void trickle(s, ["HTTP/1.1 200 OK\r\nconnection: close\r\n\r\npart one, ", "part two"]).then(() => s.end());
    });
    client.close(); // no idle socket left from the tests before: each request below opens its own
    const before = connections;
    for (let i = 0; i < 2; i++) expect(await (await client.request(`${base}/eof`)).text()).toBe("part one, part two");
    expect(connections - before).toBe(2);
  });

  test("a body cut short, a malformed chunk and a bad status line fail; a redirect is returned, not followed", async () => {
    replies.set("/cut", (_req, s) => {
      void trickle(s, ["HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"]).then(() => s.end());
    });
    replies.set("/badchunk", (_req, s) => {
      s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nxx\r\n");
    });
    replies.set("/garbage", (_req, s) => {
      s.write("SSH-2.0-OpenSSH\r\n\r\n");
    });
    replies.set("/moved", (_req, s) => {
      s.write("HTTP/1.1 302 Found\r\nlocation: http://elsewhere.invalid/\r\ncontent-length: 0\r\n\r\n");
    });
    await expect((await client.request(`${base}/cut`)).text()).rejects.toThrow("closed before the body ended");
    await expect((await client.request(`${base}/badchunk`)).text()).rejects.toThrow("bad chunk size");
    await expect(client.request(`${base}/garbage`)).rejects.toThrow("malformed status line");
    const moved = await client.request(`${base}/moved`);
    expect(moved.status).toBe(302);
    expect(moved.headers.get("location")).toBe("http://elsewhere.invalid/");
  });

  test("an abort fails the answer and its body; a header with CR/LF is refused", async () => {
    replies.set("/hang", (_req, s) => {
      s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
    });
    const ac = new AbortController();
    const res = await client.request(`${base}/hang`, { signal: ac.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("abc");
    ac.abort(new Error("attempt timed out"));
    await expect(reader.read()).rejects.toThrow("attempt timed out");
    const before = new AbortController();
    before.abort(new Error("already"));
    await expect(client.request(`${base}/hang`, { signal: before.signal })).rejects.toThrow("already");
    await expect(client.request(`${base}/echo`, { headers: { "x-a": "b\r\nx-injected: 1" } })).rejects.toThrow("invalid header");
  });
});
