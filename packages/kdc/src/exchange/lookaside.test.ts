/** The lookaside's entry queue against a plain model: growth, wrap-around, superseded entries, the entry cap. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lookaside } from './lookaside.js';

describe('Lookaside entry queue', () => {
  it('answers exactly like a map of the last maxEntries distinct requests (no expiry, ample ring)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.boolean()), { maxLength: 3000 }), fc.integer({ min: 1, max: 200 }), (ops, maxEntries) => {
        const la = new Lookaside({ maxEntries, maxBytes: 1 << 20 });
        const model = new Map<number, number>();
        let version = 0;
        for (const [r, isPut] of ops) {
          const req = Uint8Array.of(0x6c, r & 0xff, r >> 8, 1, 2, 3, 4);
          if (isPut) {
            version++;
            la.put(req, Uint8Array.of(version & 0xff, version >> 8), 0);
            model.delete(r);
            model.set(r, version);
            while (model.size > maxEntries) model.delete(model.keys().next().value!);
          } else {
            const got = la.get(req, 1);
            const want = model.get(r);
            // (These 301 requests have distinct hashes; a collision could only turn a hit into a miss.)
            expect(got).toEqual(want === undefined ? undefined : Uint8Array.of(want & 0xff, want >> 8));
          }
          expect(la.size).toBeLessThanOrEqual(maxEntries);
        }
        // The newest entry is always there.
        const last = [...model].at(-1);
        if (last) expect(la.get(Uint8Array.of(0x6c, last[0] & 0xff, last[0] >> 8, 1, 2, 3, 4), 1)).toEqual(Uint8Array.of(last[1] & 0xff, last[1] >> 8));
      }),
      { numRuns: 60 },
    );
  });
});
