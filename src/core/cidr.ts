// CIDR matching for `allowNoAuthFrom` (IPv4 and IPv6). Addresses become 128-bit BigInts; IPv4 is
// mapped into ::ffff:0:0/96, so an IPv4 client seen on a dual-stack socket as `::ffff:10.0.0.5`
// matches `10.0.0.0/8`, and an IPv4 rule never matches a native IPv6 address.

const V4_MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseIPv6(input: string): bigint | undefined {
  let s = input;
  const zone = s.indexOf("%");
  if (zone !== -1) s = s.slice(0, zone);
  // A trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  let all: string[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    all = [...head, ...Array<string>(fill).fill("0"), ...rest];
  } else all = head;
  if (all.length !== 8) return undefined;
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** An address as a 128-bit number (IPv4 mapped into ::ffff:0:0/96), or undefined if it is not one. */
export function parseIp(address: string): bigint | undefined {
  const s = address.trim().replace(/^\[|\]$/g, "");
  if (s.includes(":")) return parseIPv6(s);
  const v4 = parseIPv4(s);
  return v4 === undefined ? undefined : V4_MAPPED | v4;
}

export interface Cidr {
  readonly text: string;
  readonly network: bigint;
  readonly mask: bigint;
}

/** Parses `10.0.0.0/8`, `::1/128`, or a bare address (a single host). Throws with the reason. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addr = slash === -1 ? text : text.slice(0, slash);
  const ip = parseIp(addr);
  if (ip === undefined) throw new Error(`"${text}" is not an IPv4 or IPv6 address or CIDR`);
  const v4 = !addr.includes(":");
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) throw new Error(`"${text}": the prefix length must be 0-${max}`);
    bits = Number(b);
  }
  const prefix = v4 ? 96 + bits : bits;
  const mask = prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
  return { text, network: ip & mask, mask };
}

/** One matcher for a list of CIDRs; an unparsable address never matches. */
export function compileCidrs(list: readonly string[]): (address: string | undefined) => boolean {
  if (list.length === 0) return () => false;
  const cidrs = list.map(parseCidr);
  return (address) => {
    if (!address) return false;
    const ip = parseIp(address);
    if (ip === undefined) return false;
    return cidrs.some((c) => (ip & c.mask) === c.network);
  };
}
