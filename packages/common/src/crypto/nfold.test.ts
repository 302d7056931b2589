import { describe, expect, it } from 'vitest';
import { nfold } from './nfold.js';
import { nfoldVectors } from './vectors/rfc3961.js';

describe('n-fold (RFC 3961 §5.1)', () => {
  for (const v of nfoldVectors) {
    it(`${v.bits}-fold("${v.input}") matches RFC 3961 appendix A.1`, () => {
      const out = nfold(new TextEncoder().encode(v.input), v.bits / 8);
      expect(Buffer.from(out).toString('hex')).toBe(v.out);
    });
  }
  it('rejects empty input', () => {
    expect(() => nfold(new Uint8Array(0), 16)).toThrow(RangeError);
  });
});
