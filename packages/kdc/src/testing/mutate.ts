/**
 * Hostile-input generators shared by the fuzz tests (test/kdc-fuzz.test.ts)
 * and `pnpm bench reliability`: a seeded xorshift32, and mutations of genuine
 * DER messages (bit flips, truncations, splices, length lies, insertions,
 * overwritten runs), so a failure reproduces from its seed.
 */

/** xorshift32: small, seeded, good enough to pick mutations. r(n) is in 0..n-1. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** DER length positions: the byte after each plausible tag byte. */
function lengthPositions(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < b.length; i++) if ((b[i]! & 0x1f) !== 0x1f && (b[i]! >= 0x30 || b[i]! <= 0x1f)) out.push(i + 1);
  return out;
}

/** A function making one mutated copy of one of `captures` per call, its choices drawn from `r`. */
export function derMutator(captures: readonly Uint8Array[]): (r: (n: number) => number) => Uint8Array {
  const CAPTURES = captures;
  const LENGTHS = CAPTURES.map(lengthPositions);
  return function mutate(r: (n: number) => number): Uint8Array {
    const which = r(CAPTURES.length);
    const src = CAPTURES[which]!;
    const b = Uint8Array.from(src);
    switch (r(6)) {
      case 0: {
        // bit flips
        const flips = 1 + r(8);
        for (let i = 0; i < flips; i++) b[r(b.length)]! ^= 1 << r(8);
        return b;
      }
      case 1:
        return b.subarray(0, r(b.length));
      case 2: {
        // splice: the head of one capture, the tail of another
        const other = CAPTURES[r(CAPTURES.length)]!;
        const cut = r(b.length);
        const from = r(other.length);
        const out = new Uint8Array(cut + other.length - from);
        out.set(b.subarray(0, cut));
        out.set(other.subarray(from), cut);
        return out;
      }
      case 3: {
        // length lies: a DER length byte made longer, shorter, long-form or huge
        const pos = LENGTHS[which]!;
        const lies = 1 + r(3);
        for (let i = 0; i < lies; i++) {
          const p = pos[r(pos.length)]!;
          const choice = r(4);
          b[p] = choice === 0 ? (b[p]! + 1 + r(4)) & 0xff : choice === 1 ? Math.max(0, b[p]! - 1 - r(4)) : choice === 2 ? 0x84 : 0x80 | r(128);
        }
        return b;
      }
      case 4: {
        // random bytes inserted
        const at = r(b.length);
        const n = 1 + r(16);
        const out = new Uint8Array(b.length + n);
        out.set(b.subarray(0, at));
        for (let i = 0; i < n; i++) out[at + i] = r(256);
        out.set(b.subarray(at), at + n);
        return out;
      }
      default: {
        // a byte run overwritten with one value (0x00, 0xff, 0x80...)
        const at = r(b.length);
        const v = [0, 0xff, 0x80, 0x7f][r(4)]!;
        b.fill(v, at, Math.min(b.length, at + 1 + r(8)));
        return b;
      }
    }
  };
}
