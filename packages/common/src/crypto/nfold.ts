/**
 * n-fold, RFC 3961 §5.1: stretch or shrink a byte string to n bits by
 * replicating it, each copy rotated 13 bits further right than the one
 * before, up to the least common multiple of the two lengths, then adding
 * the n-bit pieces with one's-complement (end-around carry) addition.
 *
 * Only used on the short usage constants and "kerberos" during key
 * derivation; results are memoised.
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
  const inLen = input.length;
  const inBits = inLen * 8;
  const outBits = outBytes * 8;
  const total = (inBits / gcd(inBits, outBits)) * outBits;

  // The replicated string: copy j is the input rotated right by 13·j bits,
  // built a byte at a time (bit by bit, this ran in V8's interpreter for
  // 0.2-0.3 ms per constant, paid by every kinit for the five or six
  // constants it needs). Output byte k of a rotation by r bits takes the
  // low bits of input byte k - r/8 and the high ones of the byte before it.
  const rep = new Uint8Array(total / 8);
  for (let j = 0, base = 0; base < rep.length; j++, base += inLen) {
    const r = (13 * j) % inBits;
    const byteShift = r >>> 3;
    const bitShift = r & 7;
    for (let k = 0; k < inLen; k++) {
      const hi = input[(k - byteShift + inLen) % inLen]!;
      const lo = input[(k - byteShift - 1 + 2 * inLen) % inLen]!;
      rep[base + k] = ((hi >>> bitShift) | (lo << (8 - bitShift))) & 0xff;
    }
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
