/**
 * The lookaside cache (MIT kdc/replay.c): a byte-identical retransmission
 * within a short window gets the reply already sent, not a second ticket
 * (clients retransmit over UDP, RFC 4120 §7.2.1, and retry over TCP after
 * KRB_ERR_RESPONSE_TOO_BIG with the same bytes).
 *
 * Every request is remembered, so the cache must cost next to nothing on
 * the hot path and to the garbage collector: requests and replies are copied
 * into one ring buffer (no per-entry ArrayBuffer or long string key), and a
 * Map from a 32-bit FNV-1a hash of the request points at the newest entry
 * with that hash. A hit compares the stored request byte for byte, so a hash
 * collision is only a miss. Entries expire after the TTL or when the ring
 * wraps over them; the Map is capped and trimmed oldest first.
 */

export interface LookasideOptions {
  /** Seconds a reply stays (MIT: 2 minutes). */
  ttlSeconds?: number;
  /** Bytes of requests and replies kept (the ring size). */
  maxBytes?: number;
  /** Entries indexed at most. */
  maxEntries?: number;
}

interface Entry {
  /** Position in the ring's byte stream (monotonic; the data is at start % size). */
  start: number;
  reqLen: number;
  repLen: number;
  expires: number;
}

function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

export class Lookaside {
  private readonly ring: Uint8Array;
  private written = 0;
  private readonly index = new Map<number, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  hits = 0;

  constructor(opts: LookasideOptions = {}) {
    this.ttlMs = (opts.ttlSeconds ?? 120) * 1000;
    this.ring = new Uint8Array(opts.maxBytes ?? 16 * 1024 * 1024);
    this.maxEntries = opts.maxEntries ?? 65536;
  }

  get size(): number {
    return this.index.size;
  }

  /** The reply sent to a byte-identical request, if still held. */
  get(request: Uint8Array, nowMs = performance.now()): Uint8Array | undefined {
    const h = fnv1a(request);
    const e = this.index.get(h);
    if (!e) return undefined;
    if (e.expires <= nowMs || this.written - e.start > this.ring.length || e.reqLen !== request.length) return undefined;
    const at = e.start % this.ring.length;
    const stored = this.ring.subarray(at, at + e.reqLen);
    for (let i = 0; i < stored.length; i++) if (stored[i] !== request[i]) return undefined;
    this.hits++;
    // A copy: the ring may be overwritten while the reply is still queued.
    return this.ring.slice(at + e.reqLen, at + e.reqLen + e.repLen);
  }

  put(request: Uint8Array, reply: Uint8Array, nowMs = performance.now()): void {
    const n = request.length + reply.length;
    const size = this.ring.length;
    if (n > size / 16) return; // Too large to be worth keeping.
    let at = this.written % size;
    if (at + n > size) {
      // Never wrap inside an entry: skip the tail of the ring.
      this.written += size - at;
      at = 0;
    }
    this.ring.set(request, at);
    this.ring.set(reply, at + request.length);
    const h = fnv1a(request);
    this.index.delete(h); // Re-insert: Map order is age order.
    this.index.set(h, { start: this.written, reqLen: request.length, repLen: reply.length, expires: nowMs + this.ttlMs });
    this.written += n;
    // Trim the oldest entries: over the cap, expired, or overwritten by the ring.
    for (const [k, e] of this.index) {
      if (this.index.size <= this.maxEntries && e.expires > nowMs && this.written - e.start <= size) break;
      this.index.delete(k);
    }
  }
}
