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
  // 30 bits: a small integer in V8, so the Map keeps no boxed number per key.
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/**
 * The entries, oldest first, as columns in typed arrays around a circle:
 * no object per request, so nothing for the garbage collector to copy and
 * promote while an entry waits out its TTL. Entry number `seq` (monotonic)
 * lives at seq % capacity; the circle doubles when full, up to its cap.
 */
class EntryQueue {
  hash: Int32Array;
  start: Float64Array;
  expires: Float64Array;
  reqLen: Int32Array;
  repLen: Int32Array;
  head = 0;
  tail = 0;

  constructor(private capacity: number, private readonly maxCapacity: number) {
    this.hash = new Int32Array(capacity);
    this.start = new Float64Array(capacity);
    this.expires = new Float64Array(capacity);
    this.reqLen = new Int32Array(capacity);
    this.repLen = new Int32Array(capacity);
  }

  get length(): number {
    return this.tail - this.head;
  }

  get full(): boolean {
    return this.length >= this.maxCapacity;
  }

  at(seq: number): number {
    return seq % this.capacity;
  }

  push(hash: number, start: number, reqLen: number, repLen: number, expires: number): number {
    if (this.length >= this.capacity) this.grow();
    const seq = this.tail++;
    const i = seq % this.capacity;
    this.hash[i] = hash;
    this.start[i] = start;
    this.reqLen[i] = reqLen;
    this.repLen[i] = repLen;
    this.expires[i] = expires;
    return seq;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = Math.min(old * 2, this.maxCapacity);
    const move = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      for (let seq = this.head; seq < this.tail; seq++) b[seq % cap] = a[seq % old]!;
      return b;
    };
    this.hash = move(this.hash, (n) => new Int32Array(n));
    this.start = move(this.start, (n) => new Float64Array(n));
    this.expires = move(this.expires, (n) => new Float64Array(n));
    this.reqLen = move(this.reqLen, (n) => new Int32Array(n));
    this.repLen = move(this.repLen, (n) => new Int32Array(n));
    this.capacity = cap;
  }
}

export class Lookaside {
  private readonly ring: Uint8Array;
  private written = 0;
  /** Request hash (30 bits, so a small integer key) to the seq of the newest entry with it. */
  private readonly index = new Map<number, number>();
  /**
   * Entries oldest first, for trimming (some superseded: index no longer
   * points at them). Not the Map's own order: iterating a Map from its start
   * walks every deleted slot V8 has not compacted yet, which made each put
   * cost ~8 µs under load.
   */
  private readonly queue: EntryQueue;
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
    const cap = Math.max(2, 2 * this.maxEntries);
    this.queue = new EntryQueue(Math.min(1024, cap), cap);
  }

  get size(): number {
    return this.index.size;
  }

  /** The reply sent to a byte-identical request, if still held. */
  get(request: Uint8Array, nowMs = performance.now()): Uint8Array | undefined {
    const h = hashRequest(request);
    this.lastRequest = request;
    this.lastHash = h;
    const seq = this.index.get(h);
    if (seq === undefined) return undefined;
    const q = this.queue;
    const i = q.at(seq);
    const start = q.start[i]!;
    const reqLen = q.reqLen[i]!;
    if (q.expires[i]! <= nowMs || this.written - start > this.ring.length || reqLen !== request.length) return undefined;
    const at = start % this.ring.length;
    const stored = this.ring.subarray(at, at + reqLen);
    for (let k = 0; k < stored.length; k++) if (stored[k] !== request[k]) return undefined;
    this.hits++;
    // A copy: the ring may be overwritten while the reply is still queued.
    return this.ring.slice(at + reqLen, at + reqLen + q.repLen[i]!);
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
    const q = this.queue;
    if (q.full) this.dropOldest();
    this.index.set(h, q.push(h, this.written, request.length, reply.length, nowMs + this.ttlMs));
    this.written += n;
    // Trim the oldest entries: over the cap, expired, or overwritten by the ring.
    while (q.head < q.tail) {
      const i = q.at(q.head);
      const current = this.index.get(q.hash[i]!) === q.head;
      if (current && this.index.size <= this.maxEntries && q.expires[i]! > nowMs && this.written - q.start[i]! <= size) break;
      this.dropOldest();
    }
  }

  private dropOldest(): void {
    const q = this.queue;
    const h = q.hash[q.at(q.head)]!;
    if (this.index.get(h) === q.head) this.index.delete(h);
    q.head++;
  }
}
