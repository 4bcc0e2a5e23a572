// A "public" image host for the URL-image cells. lmrelay refuses to download images from private
// addresses (SSRF guard) and the config has no switch to allow them, so the cells use a public
// address literal and, only while such a cell runs, route fetches for that one origin to a local
// server. Nothing leaves 127.0.0.1; every other fetch goes through untouched.

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2b1d0c00000000049454e44ae426082",
  "hex",
);
export const PNG_BASE64 = PNG.toString("base64");

const PUBLIC_ORIGIN = "http://93.184.216.34";
export const IMAGE_URL = `${PUBLIC_ORIGIN}/matrix/cat.png`;

export interface ImageHost {
  hits: number;
  /** Runs `fn` with fetches to the public image origin answered by the local server. */
  serving<T>(fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export function startImageHost(): ImageHost {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      host.hits++;
      return new URL(req.url).pathname === "/matrix/cat.png"
        ? new Response(PNG, { headers: { "content-type": "image/png" } })
        : new Response("not found", { status: 404 });
    },
  });
  const local = `http://127.0.0.1:${server.port}`;
  const host: ImageHost = {
    hits: 0,
    async serving(fn) {
      const original = globalThis.fetch;
      const routed = (input: string | URL | Request, init?: RequestInit) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        if (!url.startsWith(`${PUBLIC_ORIGIN}/`)) return original(input, init);
        return original(local + url.slice(PUBLIC_ORIGIN.length), init);
      };
      globalThis.fetch = Object.assign(routed, original);
      try {
        return await fn();
      } finally {
        globalThis.fetch = original;
      }
    },
    stop: () => server.stop(true),
  };
  return host;
}
