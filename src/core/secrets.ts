// Bun's own hashing and the global crypto object, not node:crypto: importing node:crypto loads
// Bun's Node stream modules, ≈ 15 ms of start-up that nothing else on the way to serving pays.

/** The only form in which a secret may be shown or stored: a short, stable, one-way fingerprint. */
export function fingerprint(secret: string): string {
  return `fp:${Bun.SHA256.hash(secret, "hex").slice(0, 10)}`;
}

/** Constant-time comparison of a presented key with a configured one. Hashing first makes the
 *  inputs equal in length; Bun's one-shot SHA-256 is ~9× cheaper than a node:crypto Hash object,
 *  which matters because every request compares its key with every client's. */
export function secretEquals(presented: string, expected: string): boolean {
  return crypto.timingSafeEqual(Bun.SHA256.hash(presented) as Uint8Array, Bun.SHA256.hash(expected) as Uint8Array);
}
