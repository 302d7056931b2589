/**
 * n-fold, RFC 3961 §5.1: stretch or shrink a byte string to n bits by
 * replicating it, each copy rotated 13 bits further right than the one
 * before, up to the least common multiple of the two lengths, then adding
 * the n-bit pieces with one's-complement (end-around carry) addition.
 *
 * Only used on the short usage constants and "kerberos" during key
 * derivation, so it works bit by bit for clarity and memoises its results.
 */
import { BoundedCache } from './key-cache.js';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** n-fold results of the usage constants, which recur for every new key. */
const memo = new BoundedCache<Uint8Array>(512);

/** n-fold(input) to outBytes bytes; memoised for short inputs (the RFC 3961 §5.3 constants). */
export function nfold(input: Uint8Array, outBytes: number): Uint8Array {
  if (input.length > 32) return computeNfold(input, outBytes);
  const id = `${outBytes}:${Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('hex')}`;
  let r = memo.get(id);
  if (r === undefined) {
    r = computeNfold(input, outBytes);
    memo.set(id, r);
  }
  return r.slice();
}

function computeNfold(input: Uint8Array, outBytes: number): Uint8Array {
  if (input.length === 0 || outBytes <= 0) throw new RangeError('n-fold needs a non-empty input and a positive output length');
  const inBits = input.length * 8;
  const outBits = outBytes * 8;
  const total = (inBits / gcd(inBits, outBits)) * outBits;
  const bitOf = (i: number): number => (input[i >>> 3]! >>> (7 - (i & 7))) & 1;

  // The replicated string, as bytes: copy j is the input rotated right by 13·j bits.
  const rep = new Uint8Array(total / 8);
  for (let pos = 0; pos < total; pos++) {
    const j = Math.floor(pos / inBits);
    const i = pos % inBits;
    const src = (((i - 13 * j) % inBits) + inBits) % inBits;
    if (bitOf(src)) rep[pos >>> 3]! |= 0x80 >>> (pos & 7);
  }

  // One's-complement sum of the outBytes-sized pieces, big-endian.
  const sum = new Uint8Array(outBytes);
  let carry = 0;
  for (let off = 0; off < rep.length; off += outBytes) {
    carry = 0;
    for (let k = outBytes - 1; k >= 0; k--) {
      const v = sum[k]! + rep[off + k]! + carry;
      sum[k] = v & 0xff;
      carry = v >>> 8;
    }
    // End-around carry: add it back at the least significant end.
    while (carry) {
      for (let k = outBytes - 1; k >= 0 && carry; k--) {
        const v = sum[k]! + carry;
        sum[k] = v & 0xff;
        carry = v >>> 8;
      }
    }
  }
  return sum;
}
