/**
 * The lookaside cache (MIT kdc/replay.c): a byte-identical retransmission
 * within a short window gets the reply already sent, not a second ticket
 * (clients retransmit over UDP, RFC 4120 §7.2.1, and retry over TCP after
 * KRB_ERR_RESPONSE_TOO_BIG with the same bytes).
 *
 * Every request is remembered, so the cache must cost next to nothing on
 * the hot path and to the garbage collector: requests and replies are copied
 * into one ring buffer (no per-entry ArrayBuffer or long string key), and a
 * Map from a 32-bit hash of the request points at the newest entry
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
  hash: number;
  /** Position in the ring's byte stream (monotonic; the data is at start % size). */
  start: number;
  reqLen: number;
  repLen: number;
  expires: number;
}

/**
 * A 32-bit hash of the whole request, four bytes per step (murmur3's mixing):
 * a byte-at-a-time FNV-1a cost ~2.5 µs on a TGS-REQ, a tenth of the exchange.
 * Not collision-proof and need not be: a hit is confirmed byte for byte.
 */
function hashRequest(b: Uint8Array): number {
  const n = b.length;
  let h = n ^ 0x9747b28c;
  const words = n >>> 2;
  let i = 0;
  if ((b.byteOffset & 3) === 0 && words > 0) {
    const w = new Int32Array(b.buffer, b.byteOffset, words);
    for (; i < words; i++) {
      let k = Math.imul(w[i]!, 0xcc9e2d51);
      k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
      h ^= k;
      h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
    }
    i = words * 4;
  }
  for (; i < n; i++) {
    let k = Math.imul(b[i]!, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Lookaside {
  private readonly ring: Uint8Array;
  private written = 0;
  private readonly index = new Map<number, Entry>();
  /**
   * Entries oldest first, for trimming (some superseded: index no longer
   * points at them). Not the Map's own order: iterating a Map from its start
   * walks every deleted slot V8 has not compacted yet, which made each put
   * cost ~8 µs under load.
   */
  private queue: Entry[] = [];
  private head = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** get() then put() of one request (the handler's order) hash it once. */
  private lastRequest: Uint8Array | undefined;
  private lastHash = 0;
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
    const h = hashRequest(request);
    this.lastRequest = request;
    this.lastHash = h;
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
    const h = request === this.lastRequest ? this.lastHash : hashRequest(request);
    this.lastRequest = undefined;
    const entry: Entry = { hash: h, start: this.written, reqLen: request.length, repLen: reply.length, expires: nowMs + this.ttlMs };
    this.index.set(h, entry);
    this.queue.push(entry);
    this.written += n;
    // Trim the oldest entries: over the cap, expired, or overwritten by the ring.
    const q = this.queue;
    while (this.head < q.length) {
      const e = q[this.head]!;
      const current = this.index.get(e.hash) === e;
      const keep = this.index.size <= this.maxEntries && q.length - this.head <= 2 * this.maxEntries;
      if (current && keep && e.expires > nowMs && this.written - e.start <= size) break;
      if (current) this.index.delete(e.hash);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }
}
