/**
 * Deterministic damage to kpasswd requests (RFC 3244 framing, then DER):
 * bit flips, truncation, extension, length fields that lie or agree, other
 * versions, cut slices, huge DER lengths, and plain junk. Shared by the fuzz
 * test and bench/kpasswd.
 */
/** xorshift32: the same mutations on every run. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export function mutate(seed: Uint8Array, r: () => number): Uint8Array {
  const b = Buffer.from(seed);
  const int = (n: number) => Math.floor(r() * n);
  switch (int(9)) {
    case 0: { // flip bits
      for (let i = 0, n = 1 + int(8); i < n; i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    case 1: return b.subarray(0, int(b.length)); // truncate
    case 2: return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]); // extend
    case 3: { // fix up the length so the header check passes, then damage the body
      for (let i = 0, n = 1 + int(4); i < n; i++) b[6 + int(b.length - 6)] = int(256);
      b.writeUInt16BE(b.length, 0);
      return b;
    }
    case 4: { // a wrong AP-REQ length with a correct message length
      b.writeUInt16BE(int(0x10000), 4);
      return b;
    }
    case 5: { // another version
      b.writeUInt16BE(int(0x10000), 2);
      return b;
    }
    case 6: { // cut out a slice and fix the lengths
      const at = 6 + int(b.length - 6);
      const out = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(32))]);
      out.writeUInt16BE(out.length & 0xffff, 0);
      return out;
    }
    case 7: { // DER length bytes set large
      const at = 6 + int(b.length - 6);
      b[at] = 0x84;
      b.writeUInt16BE(b.length, 0);
      return b;
    }
    default: return Buffer.from(Array.from({ length: int(300) }, () => int(256))); // junk
  }
}

