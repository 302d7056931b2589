import { describe, expect, it } from 'vitest';
import { CrlfEncoder, crlfSize } from './crlf.js';
import { toCrlf } from '../imap/folder.js';

/** Deterministic bytes rich in CR and LF, so every boundary case comes up. */
function sample(seed: number, n: number): Buffer {
  let x = seed;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const r = x % 8;
    out[i] = r < 3 ? 0x0a : r < 5 ? 0x0d : 0x61 + r;
  }
  return out;
}

describe('CrlfEncoder', () => {
  it('gives the bytes of toCrlf and the size crlfSize counts, however the input is cut', () => {
    for (let seed = 1; seed < 200; seed++) {
      const data = sample(seed, seed % 50);
      const parts: Buffer[] = [];
      const enc = new CrlfEncoder();
      for (let i = 0; i < data.length; ) {
        const step = 1 + ((seed * (i + 7)) % 5);
        parts.push(enc.push(data.subarray(i, i + step)));
        i += step;
      }
      parts.push(enc.end());
      const out = Buffer.concat(parts);
      expect(out.equals(toCrlf(data)), `seed ${seed}`).toBe(true);
      expect(out.length).toBe(crlfSize(data));
    }
  });

  it('continues from the middle of a file given the octet before', () => {
    const data = Buffer.from('a\r\nb\nc\r\n\nd');
    for (let cut = 1; cut < data.length; cut++) {
      const tail = new CrlfEncoder(data[cut - 1]!);
      const rest = Buffer.concat([tail.push(data.subarray(cut)), tail.end()]);
      const head = new CrlfEncoder().push(Buffer.from(data.subarray(0, cut)));
      expect(Buffer.concat([head, rest]).equals(toCrlf(data)), `cut at ${cut}`).toBe(true);
    }
  });
});
