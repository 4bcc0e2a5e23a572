import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../../src/core/errors";
import { fetchImageAsBase64, isPublicAddress, sniffImageType } from "../../src/upstream/images";

// The image fetcher runs requests on a client's behalf: every refusal is tested, and the positive
// path only against a local server with `allowPrivate`.

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2b1d0c00000000049454e44ae426082", "hex");
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);

let server: ReturnType<typeof Bun.serve>;
let base: string;
let hits = 0;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      hits++;
      const path = new URL(req.url).pathname;
      switch (path) {
        case "/cat.png":
          return new Response(PNG, { headers: { "content-type": "image/png" } });
        case "/untyped":
          // Bun adds a content type to a Blob/Buffer body; an explicit empty stream body has none.
          return new Response(new ReadableStream({ start: (c) => (c.enqueue(JPEG), c.close()) }));
        case "/octet":
          return new Response(PNG, { headers: { "content-type": "application/octet-stream" } });
        case "/octet-text":
          return new Response("hello", { headers: { "content-type": "application/octet-stream" } });
        case "/page.html":
          return new Response("<html></html>", { headers: { "content-type": "text/html" } });
        case "/logo.svg":
          return new Response("<svg/>", { headers: { "content-type": "image/svg+xml" } });
        case "/missing.png":
          return new Response("nope", { status: 404 });
        case "/empty.png":
          return new Response(new Uint8Array(0), { headers: { "content-type": "image/png" } });
        case "/big-declared.png":
          return new Response(new Uint8Array(5000), { headers: { "content-type": "image/png" } });
        case "/big-chunked.png": {
          let sent = 0;
          return new Response(
            new ReadableStream({
              pull(c) {
                if (sent >= 10) return c.close();
                sent++;
                c.enqueue(new Uint8Array(1000));
              },
            }),
            { headers: { "content-type": "image/png" } },
          );
        }
        case "/slow.png":
          await Bun.sleep(2_000);
          return new Response(PNG, { headers: { "content-type": "image/png" } });
        case "/redirect":
          return new Response(null, { status: 302, headers: { location: "/cat.png" } });
        case "/loop":
          return new Response(null, { status: 302, headers: { location: "/loop" } });
        case "/to-file":
          return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
      }
      return new Response("not found", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.stop(true));

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect(e.kind).toBe("invalid_request");
    expect(e.status).toBe(400);
    expect(e.message).toStartWith("lmrelay: could not fetch image ");
    return e;
  }
  throw new Error("expected a refusal");
}

describe("fetchImageAsBase64: downloads (local server, allowPrivate)", () => {
  const open = { allowPrivate: true };

  test("an image with its content type", async () => {
    expect(await fetchImageAsBase64(`${base}/cat.png`, open)).toEqual({ mediaType: "image/png", data: PNG.toString("base64") });
  });

  test("no content type: sniffed from the bytes", async () => {
    expect(await fetchImageAsBase64(`${base}/untyped`, open)).toEqual({ mediaType: "image/jpeg", data: JPEG.toString("base64") });
  });

  test("generic octet-stream: sniffed from the bytes", async () => {
    expect((await fetchImageAsBase64(`${base}/octet`, open)).mediaType).toBe("image/png");
  });

  test("redirects are followed", async () => {
    expect((await fetchImageAsBase64(`${base}/redirect`, open)).data).toBe(PNG.toString("base64"));
  });
});

describe("fetchImageAsBase64: refusals", () => {
  test("loopback, private and localhost addresses without allowPrivate", async () => {
    expect((await refusal(fetchImageAsBase64(`${base}/cat.png`))).message).toContain("not a public address");
    await refusal(fetchImageAsBase64(`http://localhost:${server.port}/cat.png`));
    await refusal(fetchImageAsBase64(`http://[::1]:${server.port}/cat.png`));
    await refusal(fetchImageAsBase64("http://169.254.169.254/latest/meta-data/"));
    await refusal(fetchImageAsBase64("http://10.1.2.3/a.png"));
    await refusal(fetchImageAsBase64("http://[::ffff:127.0.0.1]/a.png"));
    // WHATWG URL parsing normalises numeric hosts: 2130706433 is 127.0.0.1.
    await refusal(fetchImageAsBase64("http://2130706433/a.png"));
  });

  test("no request reaches a private server when refused", async () => {
    const before = hits;
    await refusal(fetchImageAsBase64(`${base}/cat.png`));
    await refusal(fetchImageAsBase64(`http://localhost:${server.port}/cat.png`));
    expect(hits).toBe(before);
    await fetchImageAsBase64(`${base}/cat.png`, { allowPrivate: true });
    expect(hits).toBe(before + 1);
  });

  test("schemes other than http, https and data", async () => {
    for (const url of ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://example.com/", "javascript:alert(1)"])
      expect((await refusal(fetchImageAsBase64(url))).message).toContain("not allowed");
  });

  test("a redirect to a forbidden scheme is checked like the first hop", async () => {
    expect((await refusal(fetchImageAsBase64(`${base}/to-file`, { allowPrivate: true }))).message).toContain("file:");
  });

  test("too many redirects", async () => {
    expect((await refusal(fetchImageAsBase64(`${base}/loop`, { allowPrivate: true }))).message).toContain("redirects");
  });

  test("credentials in the URL", async () => {
    await refusal(fetchImageAsBase64(`http://user:pw@127.0.0.1:${server.port}/cat.png`, { allowPrivate: true }));
  });

  test("not a URL", async () => {
    await refusal(fetchImageAsBase64("not a url"));
  });

  test("HTTP errors", async () => {
    expect((await refusal(fetchImageAsBase64(`${base}/missing.png`, { allowPrivate: true }))).message).toContain("HTTP 404");
  });

  test("content that is not an image", async () => {
    expect((await refusal(fetchImageAsBase64(`${base}/page.html`, { allowPrivate: true }))).message).toContain("text/html");
    expect((await refusal(fetchImageAsBase64(`${base}/octet-text`, { allowPrivate: true }))).message).toContain("not a recognised image");
    expect((await refusal(fetchImageAsBase64(`${base}/logo.svg`, { allowPrivate: true }))).message).toContain("SVG");
    await refusal(fetchImageAsBase64(`${base}/empty.png`, { allowPrivate: true }));
  });

  test("the byte cap, declared or counted while reading", async () => {
    expect((await refusal(fetchImageAsBase64(`${base}/big-declared.png`, { allowPrivate: true, maxBytes: 4000 }))).message).toContain(
      "larger than 4000 bytes",
    );
    expect((await refusal(fetchImageAsBase64(`${base}/big-chunked.png`, { allowPrivate: true, maxBytes: 4000 }))).message).toContain(
      "larger than 4000 bytes",
    );
  });

  test("the timeout", async () => {
    const started = performance.now();
    expect((await refusal(fetchImageAsBase64(`${base}/slow.png`, { allowPrivate: true, timeoutMs: 150 }))).message).toContain("150 ms");
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test("the caller's signal", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    expect((await refusal(fetchImageAsBase64(`${base}/slow.png`, { allowPrivate: true, signal: ac.signal }))).message).toContain("cancelled");
  });

  test("the message never shows the query string (signed URLs carry secrets)", async () => {
    const e = await refusal(fetchImageAsBase64(`${base}/missing.png?X-Amz-Signature=secret123`, { allowPrivate: true }));
    expect(e.message).not.toContain("secret123");
    expect(e.message).toContain("/missing.png");
  });
});

describe("fetchImageAsBase64: data URIs", () => {
  test("base64 payload passed through, type from the URI", async () => {
    const data = PNG.toString("base64");
    expect(await fetchImageAsBase64(`data:image/png;base64,${data}`)).toEqual({ mediaType: "image/png", data });
  });

  test("no type: sniffed", async () => {
    expect((await fetchImageAsBase64(`data:;base64,${JPEG.toString("base64")}`)).mediaType).toBe("image/jpeg");
  });

  test("percent-encoded payload", async () => {
    const encoded = Array.from(PNG, (b) => `%${b.toString(16).padStart(2, "0")}`).join("");
    expect(await fetchImageAsBase64(`data:image/png,${encoded}`)).toEqual({ mediaType: "image/png", data: PNG.toString("base64") });
  });

  test("refusals: not an image, bad base64, too big, no comma, empty", async () => {
    expect((await refusal(fetchImageAsBase64("data:text/plain;base64,aGVsbG8="))).message).toContain("text/plain");
    await refusal(fetchImageAsBase64("data:image/png;base64,@@@@"));
    await refusal(fetchImageAsBase64(`data:image/png;base64,${PNG.toString("base64")}`, { maxBytes: 10 }));
    await refusal(fetchImageAsBase64("data:image/png;base64"));
    await refusal(fetchImageAsBase64("data:image/png;base64,"));
    expect((await refusal(fetchImageAsBase64("data:image/png;base64,@@@@"))).message).toContain("(data URI)");
  });
});

describe("isPublicAddress", () => {
  test.each([
    ["8.8.8.8", true],
    ["1.1.1.1", true],
    ["172.15.255.255", true],
    ["172.32.0.1", true],
    ["100.63.255.255", true],
    ["0.0.0.0", false],
    ["10.0.0.1", false],
    ["100.64.0.1", false],
    ["127.0.0.1", false],
    ["127.255.255.254", false],
    ["169.254.169.254", false],
    ["172.16.0.1", false],
    ["172.31.255.255", false],
    ["192.0.0.8", false],
    ["192.0.2.1", false],
    ["192.168.1.1", false],
    ["198.18.0.1", false],
    ["198.51.100.7", false],
    ["203.0.113.9", false],
    ["224.0.0.251", false],
    ["255.255.255.255", false],
    ["2606:4700:4700::1111", true],
    ["2001:4860:4860::8888", true],
    ["::", false],
    ["::1", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:7f00:1", false],
    ["::ffff:8.8.8.8", true],
    ["::127.0.0.1", false],
    ["64:ff9b::a00:1", false],
    ["64:ff9b::808:808", true],
    ["fc00::1", false],
    ["fd12:3456::1", false],
    ["fe80::1", false],
    ["fe80::1%eth0", false],
    ["fec0::1", false],
    ["ff02::1", false],
    ["2001:db8::1", false],
    ["2001:0:4136:e378::1", false],
    ["2002:c0a8:0101::1", false],
    ["2002:0808:0808::1", true],
    ["100::1", false],
    ["localhost", false],
    ["", false],
  ])("%s → %p", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe("sniffImageType", () => {
  test.each([
    [PNG, "image/png"],
    [JPEG, "image/jpeg"],
    [Buffer.from("GIF89a......"), "image/gif"],
    [Buffer.from("RIFF\0\0\0\0WEBPVP8 "), "image/webp"],
    [Buffer.from("\0\0\0\x1cftypavif"), "image/avif"],
    [Buffer.from("<html>"), undefined],
    [new Uint8Array(0), undefined],
  ])("%#", (bytes, type) => {
    expect(sniffImageType(bytes)).toBe(type);
  });
});
