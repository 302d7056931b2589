/**
 * A token bucket per client address: `ratePerSec` requests a second on
 * average, `burst` at once. One Map lookup and a little arithmetic per
 * request, so it can run before any decoding, crypto or database work.
 */
export interface RateLimit {
  /** Sustained requests per second per address; 0 turns the limit off. */
  ratePerSec: number;
  /** Requests an idle address may send at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class AddressBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(readonly limit: RateLimit, private readonly now: () => number = () => performance.now(), private readonly maxEntries = 100_000) {
    this.perMs = limit.ratePerSec / 1000;
  }

  get enabled(): boolean {
    return this.limit.ratePerSec > 0;
  }

  /** Spend one token of `key`'s bucket; false when it is empty (drop the request). */
  take(key: string): boolean {
    if (this.perMs <= 0) return true;
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxEntries) this.shrink();
      b = { tokens: this.limit.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.limit.burst, b.tokens + (t - b.at) * this.perMs);
      b.at = t;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * Too many addresses (a flood with spoofed sources): forget the refilled
   * buckets, and if that is not enough the oldest tenth, so memory stays
   * bounded whatever the sources.
   */
  private shrink(): void {
    this.sweep();
    if (this.buckets.size < this.maxEntries) return;
    let n = Math.ceil(this.maxEntries / 10);
    for (const k of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(k);
    }
  }

  /** Forget buckets that have refilled (they would start full anyway). */
  sweep(): void {
    const t = this.now();
    for (const [k, b] of this.buckets) if (b.tokens + (t - b.at) * this.perMs >= this.limit.burst) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }
}
