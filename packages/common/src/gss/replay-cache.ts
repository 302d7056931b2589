/**
 * An in-memory replay cache (RFC 4120 §3.2.3: the server "MUST utilize a
 * replay cache to remember any authenticator presented within the allowable
 * clock skew"). Entries are tags of authenticators (MIT 1.14+ keys its cache
 * by a hash of the authenticator ciphertext) with the time after which the
 * skew check alone rejects them, so nothing needs remembering past that.
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();

  constructor(private readonly maxEntries = 1_000_000) {}

  /** Record tag; false if it was already there and not expired (a replay). */
  checkAndStore(tag: string, expiresAt: number, now: number): boolean {
    const prev = this.entries.get(tag);
    if (prev !== undefined && prev > now) return false;
    this.prune(now);
    this.entries.delete(tag);
    this.entries.set(tag, expiresAt);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    // Insertion order is roughly expiry order: drop from the front.
    for (const [tag, exp] of this.entries) {
      if (exp > now && this.entries.size < this.maxEntries) break;
      this.entries.delete(tag);
    }
  }
}
