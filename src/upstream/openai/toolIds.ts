// Some servers accept only their own tool-call id shape (Mistral: exactly 9 alphanumerics) and
// reject ids minted elsewhere (`call_…`, `toolu_…`). Ids are rewritten through one map per request
// so a call and its result stay paired, and the upstream's echoes are mapped back.

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NINE_ALNUM = /^[a-zA-Z0-9]{9}$/;

function base62x9(seed: string): string {
  let n = BigInt.asUintN(64, BigInt(Bun.hash(seed)));
  let out = "";
  for (let i = 0; i < 9; i++) {
    out += ALPHABET[Number(n % 62n)];
    n /= 62n;
  }
  return out;
}

export class NineCharToolIds {
  private toUpstreamMap = new Map<string, string>();
  private toClientMap = new Map<string, string>();

  /** The same input id always maps to the same 9-char id (also across requests). */
  toUpstream(id: string): string {
    const known = this.toUpstreamMap.get(id);
    if (known !== undefined) return known;
    let mapped = NINE_ALNUM.test(id) ? id : base62x9(id);
    for (let salt = 1; this.toClientMap.has(mapped); salt++) mapped = base62x9(`${id}#${salt}`);
    this.toUpstreamMap.set(id, mapped);
    this.toClientMap.set(mapped, id);
    return mapped;
  }

  /** An id from the answer: the client's original when it was one of ours, else unchanged. */
  toClient(id: string): string {
    return this.toClientMap.get(id) ?? id;
  }
}
