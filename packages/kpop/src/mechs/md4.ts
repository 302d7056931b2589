/**
 * MD4 (RFC 1320). Only for NTLM's NT hash (MS-NLMP §3.3.1): OpenSSL 3's
 * default provider, and so node:crypto, has no MD4. Never use it for
 * anything else.
 */

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** RFC 1320 §3.4, one 64-byte block into state (a, b, c, d). */
function block(state: Uint32Array, x: Uint32Array): void {
  let [a, b, c, d] = state as unknown as [number, number, number, number];
  const F = (p: number, q: number, r: number) => (p & q) | (~p & r);
  const G = (p: number, q: number, r: number) => (p & q) | (p & r) | (q & r);
  const H = (p: number, q: number, r: number) => p ^ q ^ r;
  // Round 1: [abcd k s] a = (a + F(b,c,d) + X[k]) <<< s
  for (const k of [0, 4, 8, 12]) {
    a = rotl((a + F(b, c, d) + x[k]!) | 0, 3);
    d = rotl((d + F(a, b, c) + x[k + 1]!) | 0, 7);
    c = rotl((c + F(d, a, b) + x[k + 2]!) | 0, 11);
    b = rotl((b + F(c, d, a) + x[k + 3]!) | 0, 19);
  }
  // Round 2: a = (a + G(b,c,d) + X[k] + 5A827999) <<< s
  for (const k of [0, 1, 2, 3]) {
    a = rotl((a + G(b, c, d) + x[k]! + 0x5a827999) | 0, 3);
    d = rotl((d + G(a, b, c) + x[k + 4]! + 0x5a827999) | 0, 5);
    c = rotl((c + G(d, a, b) + x[k + 8]! + 0x5a827999) | 0, 9);
    b = rotl((b + G(c, d, a) + x[k + 12]! + 0x5a827999) | 0, 13);
  }
  // Round 3: a = (a + H(b,c,d) + X[k] + 6ED9EBA1) <<< s
  for (const k of [0, 2, 1, 3]) {
    a = rotl((a + H(b, c, d) + x[k]! + 0x6ed9eba1) | 0, 3);
    d = rotl((d + H(a, b, c) + x[k + 8]! + 0x6ed9eba1) | 0, 9);
    c = rotl((c + H(d, a, b) + x[k + 4]! + 0x6ed9eba1) | 0, 11);
    b = rotl((b + H(c, d, a) + x[k + 12]! + 0x6ed9eba1) | 0, 15);
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

export function md4(msg: Uint8Array): Uint8Array {
  // §3.1–3.2: pad with 0x80, zeros to 56 mod 64, then the bit length (64-bit LE).
  const len = msg.length;
  const total = (((len + 8) >>> 6) + 1) << 6;
  const buf = new Uint8Array(total);
  buf.set(msg);
  buf[len] = 0x80;
  const view = new DataView(buf.buffer);
  view.setUint32(total - 8, (len * 8) >>> 0, true);
  view.setUint32(total - 4, Math.floor(len / 0x20000000), true);
  const state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const x = new Uint32Array(16);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = view.getUint32(off + i * 4, true);
    block(state, x);
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) ov.setUint32(i * 4, state[i]!, true);
  return out;
}
