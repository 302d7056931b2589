/**
 * An in-memory replay cache (RFC 4120 §3.2.3: the server "MUST utilize a
 * replay cache to remember any authenticator presented within the allowable
 * clock skew").
 *
 * What it keys on decides what it refuses. RFC 4120's "server name, client
 * name, time and microsecond fields" key refuses two *genuine* authenticators
 * that happen to share client and timestamp: libkrb5 makes the microseconds
 * unique only within one process, so two clients of the same principal (two
 * fetchmail or python3-gssapi processes, two kvno) collide now and then, and
 * under load that was our soak's false KRB_AP_ERR_REPEAT. MIT 1.18's replay
 * cache (src/lib/krb5/rcache/rc_file2.c) keys on a hash of the authenticator
 * ciphertext only: a replay is the same bytes; a second authenticator, even
 * with the same fields, has a fresh confounder and so other bytes. An
 * attacker without the session key cannot re-encrypt, so nothing is lost.
 *
 * Entries live until the skew check alone would refuse the authenticator.
 * The cache is bounded by a count: past it the oldest entries go first (they
 * are the nearest to expiry), and `evicted` counts how often that happened,
 * so a server that sees it can be given a larger bound.
 */
import { createHash } from 'node:crypto';

/** The tag of an authenticator: the first 16 bytes of SHA-256 of its ciphertext (MIT's tag), as a one-byte string. */
export function replayTag(authenticatorCipher: Uint8Array): string {
  return createHash('sha256').update(authenticatorCipher).digest().subarray(0, 16).toString('latin1');
}

export class ReplayCache {
  private readonly entries = new Map<string, number>();
  /**
   * Insertion order, for expiry and the bound (a ring of parallel columns):
   * iterating the Map from its front would walk every deleted slot V8 has
   * not compacted yet, a cost paid on every store.
   */
  private tags: (string | undefined)[] = [];
  private expiries: Float64Array = new Float64Array(0);
  private head = 0;
  private tail = 0;
  /** Unexpired entries dropped because the bound was reached. */
  evicted = 0;

  constructor(readonly maxEntries = 500_000) {
    if (!(maxEntries >= 1)) throw new RangeError('ReplayCache: maxEntries must be at least 1');
  }

  /** Record tag; false if it was already there and not expired (a replay). */
  checkAndStore(tag: string, expiresAt: number, now: number): boolean {
    this.prune(now);
    const prev = this.entries.get(tag);
    if (prev !== undefined && prev > now) return false;
    while (this.entries.size >= this.maxEntries) this.dropOldest(now);
    this.entries.set(tag, expiresAt);
    this.push(tag, expiresAt);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private push(tag: string, expiresAt: number): void {
    const cap = this.tags.length;
    if (this.tail - this.head >= cap) this.resize(Math.max(1024, cap * 2));
    const i = this.tail++ % this.tags.length;
    this.tags[i] = tag;
    this.expiries[i] = expiresAt;
  }

  /** Drops expired entries from the old end; later ones that expired earlier (a client clock behind) wait their turn. */
  private prune(now: number): void {
    const cap = this.tags.length;
    while (this.head < this.tail) {
      const i = this.head % cap;
      if (this.expiries[i]! > now) break;
      this.forget(i);
    }
    // Keep the ring from holding many times the live entries after a burst.
    if (cap > 4096 && this.tail - this.head < cap / 8) this.resize(Math.max(1024, cap >> 1));
  }

  private dropOldest(now: number): void {
    const i = this.head % this.tags.length;
    if (this.expiries[i]! > now && this.entries.get(this.tags[i]!) === this.expiries[i]) this.evicted++;
    this.forget(i);
  }

  private forget(i: number): void {
    const tag = this.tags[i]!;
    // The Map may hold a newer entry under the same tag (re-stored after expiry): leave that.
    if (this.entries.get(tag) === this.expiries[i]) this.entries.delete(tag);
    this.tags[i] = undefined;
    this.head++;
  }

  /** Copies the live entries, oldest first, into a ring of n slots (grow when full, shrink after a burst). */
  private resize(n: number): void {
    const cap = this.tags.length;
    const tags: (string | undefined)[] = new Array(n);
    const exp = new Float64Array(n);
    for (let s = this.head, i = 0; s < this.tail; s++, i++) {
      tags[i] = this.tags[s % cap];
      exp[i] = this.expiries[s % cap]!;
    }
    this.tail -= this.head;
    this.head = 0;
    this.tags = tags;
    this.expiries = exp;
  }
}
