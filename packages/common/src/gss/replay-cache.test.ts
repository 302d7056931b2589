/** ReplayCache: same tag refused until it expires, bounded by count (oldest first), no growth in steady state. */
import { describe, expect, it } from 'vitest';
import { ReplayCache, replayTag } from './replay-cache.js';

describe('ReplayCache', () => {
  it('refuses a tag seen before it expires, accepts it again after', () => {
    const rc = new ReplayCache();
    expect(rc.checkAndStore('a', 1000, 0)).toBe(true);
    expect(rc.checkAndStore('a', 1000, 999)).toBe(false);
    expect(rc.checkAndStore('a', 3000, 1000)).toBe(true);
    expect(rc.checkAndStore('a', 3000, 2000)).toBe(false);
  });

  it('tags differ for different ciphertexts and are MIT-sized (16 bytes)', () => {
    const a = replayTag(Uint8Array.of(1, 2, 3));
    expect(a.length).toBe(16);
    expect(replayTag(Uint8Array.of(1, 2, 3))).toBe(a);
    expect(replayTag(Uint8Array.of(1, 2, 4))).not.toBe(a);
  });

  it('holds only unexpired entries: a steady load of 10/s with a 300 s window stays at ~3,000', () => {
    const rc = new ReplayCache();
    let max = 0;
    for (let t = 0; t < 3_600_000; t += 100) {
      expect(rc.checkAndStore(`t${t}`, t + 301_000, t)).toBe(true);
      max = Math.max(max, rc.size);
    }
    expect(max).toBeLessThanOrEqual(3011);
    expect(rc.size).toBeGreaterThanOrEqual(3000);
    expect(rc.evicted).toBe(0);
  });

  it('an entry that expires early behind a later one is still dropped in time, and never refuses a fresh tag', () => {
    const rc = new ReplayCache();
    rc.checkAndStore('late', 10_000, 0);
    rc.checkAndStore('early', 100, 0);
    expect(rc.checkAndStore('early', 5_000, 200)).toBe(true);
    expect(rc.checkAndStore('early', 5_000, 300)).toBe(false);
    expect(rc.checkAndStore('late', 20_000, 10_001)).toBe(true);
    expect(rc.checkAndStore('x', 30_000, 10_002)).toBe(true);
    // Everything but 'late' (re-stored), and 'x' has expired by now.
    expect(rc.size).toBe(2);
  });

  it('is bounded: past maxEntries the oldest go first and are counted', () => {
    const rc = new ReplayCache(1000);
    for (let i = 0; i < 5000; i++) expect(rc.checkAndStore(`k${i}`, 1e12, i)).toBe(true);
    expect(rc.size).toBe(1000);
    expect(rc.evicted).toBe(4000);
    // The newest 1000 are still refused; the evicted oldest are not.
    expect(rc.checkAndStore('k4999', 1e12, 5000)).toBe(false);
    expect(rc.checkAndStore('k4000', 1e12, 5000)).toBe(false);
    expect(rc.checkAndStore('k0', 1e12, 5000)).toBe(true);
    expect(rc.size).toBe(1000);
  });
});
