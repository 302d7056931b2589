/** The lookaside cache on its own: hits, misses, TTL, ring wrap-around, size caps. */
import { describe, expect, it } from 'vitest';
import { Lookaside } from '@kpop/kdc';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('Lookaside', () => {
  it('returns the stored reply for byte-identical requests only', () => {
    const la = new Lookaside();
    const req = Uint8Array.from([0x6a, 1, 2, 3, 4]);
    la.put(req, bytes(50, 9), 0);
    expect(la.get(Uint8Array.from(req), 1)).toEqual(bytes(50, 9));
    expect(la.get(Uint8Array.from([0x6a, 1, 2, 3, 5]), 1)).toBeUndefined();
    expect(la.get(Uint8Array.from([0x6a, 1, 2, 3]), 1)).toBeUndefined();
    expect(la.hits).toBe(1);
  });

  it('forgets after the TTL', () => {
    const la = new Lookaside({ ttlSeconds: 2 });
    la.put(bytes(10, 1), bytes(10, 2), 0);
    expect(la.get(bytes(10, 1), 1999)).toBeDefined();
    expect(la.get(bytes(10, 1), 2001)).toBeUndefined();
  });

  it('entries overwritten by the ring are misses, never wrong replies', () => {
    const la = new Lookaside({ maxBytes: 4096 });
    for (let i = 0; i < 100; i++) la.put(Uint8Array.from([i, 0, 0, 0]), bytes(100, i), 0);
    // Only the last ~39 fit in 4 KiB.
    expect(la.get(Uint8Array.from([0, 0, 0, 0]), 1)).toBeUndefined();
    for (let i = 70; i < 100; i++) expect(la.get(Uint8Array.from([i, 0, 0, 0]), 1)).toEqual(bytes(100, i));
    expect(la.size).toBeLessThanOrEqual(41);
  });

  it('a returned reply is a copy that later writes cannot change', () => {
    const la = new Lookaside({ maxBytes: 1024 });
    la.put(bytes(8, 1), bytes(8, 2), 0);
    const r = la.get(bytes(8, 1), 0)!;
    for (let i = 0; i < 100; i++) la.put(Uint8Array.from([i, 9, 9, 9, 9, 9, 9, 9]), bytes(40, 7), 0);
    expect(r).toEqual(bytes(8, 2));
  });

  it('caps the number of entries and skips entries too large to keep', () => {
    const la = new Lookaside({ maxEntries: 10 });
    for (let i = 0; i < 50; i++) la.put(Uint8Array.from([i, 1]), bytes(4, i), 0);
    expect(la.size).toBe(10);
    const small = new Lookaside({ maxBytes: 1600 });
    small.put(bytes(50, 1), bytes(100, 1), 0);
    expect(small.get(bytes(50, 1), 0)).toBeUndefined();
  });
});
