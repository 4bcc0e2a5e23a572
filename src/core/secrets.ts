import { createHash, timingSafeEqual } from "node:crypto";

/** The only form in which a secret may be shown or stored: a short, stable, one-way fingerprint. */
export function fingerprint(secret: string): string {
  return `fp:${createHash("sha256").update(secret).digest("hex").slice(0, 10)}`;
}

/** Constant-time comparison of a presented key with a configured one. */
export function secretEquals(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
