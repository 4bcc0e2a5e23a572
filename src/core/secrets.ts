import { createHash, timingSafeEqual } from "node:crypto";

/** The only form in which a secret may be shown or stored: a short, stable, one-way fingerprint. */
export function fingerprint(secret: string): string {
  return `fp:${createHash("sha256").update(secret).digest("hex").slice(0, 10)}`;
}

/** Constant-time comparison of a presented key with a configured one. Hashing first makes the
 *  inputs equal in length; Bun's one-shot SHA-256 is ~9× cheaper than a node:crypto Hash object,
 *  which matters because every request compares its key with every client's. */
export function secretEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(Bun.SHA256.hash(presented) as Uint8Array, Bun.SHA256.hash(expected) as Uint8Array);
}
