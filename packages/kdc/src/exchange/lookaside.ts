/**
 * The lookaside cache (MIT kdc/replay.c): a byte-identical retransmission
 * within a short window gets the reply already sent, not a second ticket
 * (RFC 4120 §3.1.2 notes clients retransmit over UDP). Bounded by entries
 * and by bytes; the oldest entries go first.
 */
/** Longest request kept in the cache (bytes). */
export const MAX_KEYED_REQUEST = 8192;

export interface LookasideOptions {
  /** Seconds a reply stays (MIT: 2 minutes). */
  ttlSeconds?: number;
  maxEntries?: number;
  maxBytes?: number;
}

interface Entry {
  reply: Uint8Array;
  expires: number;
}

export class Lookaside {
  private readonly map = new Map<string, Entry>();
  private bytes = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  hits = 0;

  constructor(opts: LookasideOptions = {}) {
    this.ttlMs = (opts.ttlSeconds ?? 120) * 1000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  }

  /**
   * The request bytes themselves as a latin1 string: equal keys are
   * byte-identical requests, and building one costs a fraction of a hash
   * (a SHA-256 per request was a tenth of a TGS exchange). Requests longer
   * than MAX_KEYED_REQUEST are not cached (undefined): V8 stops hashing very
   * long strings, and no retransmitted KDC request is that large.
   */
  static key(request: Uint8Array): string | undefined {
    if (request.length > MAX_KEYED_REQUEST) return undefined;
    return Buffer.from(request.buffer, request.byteOffset, request.byteLength).toString('latin1');
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string, nowMs = performance.now()): Uint8Array | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= nowMs) {
      this.delete(key, e);
      return undefined;
    }
    this.hits++;
    return e.reply;
  }

  put(key: string, reply: Uint8Array, nowMs = performance.now()): void {
    const old = this.map.get(key);
    if (old) this.delete(key, old);
    this.map.set(key, { reply, expires: nowMs + this.ttlMs });
    this.bytes += reply.length + key.length;
    // Map iteration is insertion order: the first entries are the oldest.
    for (const [k, e] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes && e.expires > nowMs) break;
      this.delete(k, e);
    }
  }

  private delete(key: string, e: Entry): void {
    this.map.delete(key);
    this.bytes -= e.reply.length + key.length;
  }
}
