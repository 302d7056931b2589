/**
 * A bounded least-recently-used cache for derived usage keys (RFC 3961 §5.3
 * Ke/Ki/Kc). Deriving a usage key costs one or more AES or HMAC operations
 * plus OpenSSL context set-up, far more than the message it protects, so the
 * hot paths (KDC, GSS wrap) look keys up in a DerivedKeyCache by (enctype,
 * usage, key bytes). BoundedCache is the plain LRU map for the rest.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      // Refresh recency: Map iterates in insertion order.
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(k: string, v: V): void {
    if (this.map.has(k)) this.map.delete(k);
    else if (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(k, v);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}

/** One base key's derived keys, by slot (see DerivedKeyCache). */
interface KeyEntry<V> {
  /** A private copy of the base key: what the derived values were made from. */
  readonly bytes: Uint8Array;
  readonly hash: number;
  readonly values: Map<number, V>;
  /** Insertion tick when last placed at the young end of the age order. */
  stamp: number;
  live: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** FNV-1a over the key bytes (keys are 16 or 32 bytes: cheaper than any string). */
function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** The doorkeeper: 2^16 bits (8 KiB), cleared after 4096 keys (false positives: at most 1.4 %, 0.5 % on average). */
const DOOR_BITS = 1 << 16;
const DOOR_MASK = DOOR_BITS - 1;
const DOOR_KEYS = 4096;

/**
 * Derived usage keys (RFC 3961 §5.3 Ke/Ki/Kc) by (base key, slot), where
 * the slot numbers (enctype, usage, kind). The same base key usually comes
 * back as the same Uint8Array object (the KDC holds principal keys in
 * memory; a decoded ticket's session key is cached with the ticket), so the
 * object leads to its entry through a WeakMap with no string built and no
 * hashing; the bytes are still compared, so a caller that rewrites a key in
 * place gets keys derived from the new bytes. Another object with the same
 * bytes is found through a 32-bit hash of the bytes. At most `max` derived
 * values are held; past that the base keys least recently used go first.
 * Callers that derive on a miss store with admit(), which skips keys seen
 * only once.
 */
export class DerivedKeyCache<V> {
  private readonly byObject = new WeakMap<Uint8Array, KeyEntry<V>>();
  private readonly byHash = new Map<number, KeyEntry<V>[]>();
  /** Base keys, oldest first (Set order is insertion order). */
  private readonly age = new Set<KeyEntry<V>>();
  private count = 0;
  private tick = 0;
  /** The doorkeeper's bits (see admit). */
  private readonly door = new Uint32Array(DOOR_BITS / 32);
  private doorCount = 0;

  constructor(private readonly max: number) {}

  /** Number of derived values held. */
  get size(): number {
    return this.count;
  }

  /**
   * Keep v only if this base key was offered before, or already has an
   * entry (a doorkeeper, as in TinyLFU): a key used for one message, such
   * as the subkey of a TGS-REQ's authenticator, never enters the cache, so
   * it costs no entry and evicts none of the keys in use (principal keys,
   * cached tickets' session keys), which enter on their second use.
   */
  admit(key: Uint8Array, slot: number, v: V): void {
    if (!(key instanceof Uint8Array)) return;
    if (this.entry(key, false) === undefined && !this.seenBefore(hashBytes(key))) return;
    this.set(key, slot, v);
  }

  /**
   * Record a key hash in the doorkeeper, a Bloom filter (two bits per key,
   * cleared after DOOR_KEYS insertions, so one-shot keys cannot fill it);
   * true if both bits were already set: offered before (or, rarely, a
   * false positive, which only means an entry made early).
   */
  private seenBefore(h: number): boolean {
    const a = h & DOOR_MASK;
    const b = (h >>> 16 ^ Math.imul(h, 0x9e3779b1) >>> 7) & DOOR_MASK;
    const door = this.door;
    const was = (door[a >>> 5]! >>> (a & 31)) & (door[b >>> 5]! >>> (b & 31)) & 1;
    if (was) return true;
    door[a >>> 5]! |= 1 << (a & 31);
    door[b >>> 5]! |= 1 << (b & 31);
    if (++this.doorCount >= DOOR_KEYS) {
      door.fill(0);
      this.doorCount = 0;
    }
    return false;
  }

  get(key: Uint8Array, slot: number): V | undefined {
    const e = this.entry(key, false);
    if (e === undefined) return undefined;
    const v = e.values.get(slot);
    // Refresh recency now and then, not on every hit: a re-insertion costs more than the lookup.
    if (v !== undefined && this.tick - e.stamp > this.max >> 2) {
      this.age.delete(e);
      this.age.add(e);
      e.stamp = this.tick;
    }
    return v;
  }

  set(key: Uint8Array, slot: number, v: V): void {
    const e = this.entry(key, true);
    if (e === undefined) return;
    if (!e.values.has(slot)) this.count++;
    e.values.set(slot, v);
    this.tick++;
    while (this.count > this.max) {
      const oldest = this.age.values().next().value!;
      if (oldest !== e) this.evict(oldest);
      else if (this.age.size > 1) {
        // The key just used goes to the young end; the others go first.
        this.age.delete(e);
        this.age.add(e);
        e.stamp = this.tick;
      } else {
        // One key holding more than max values: drop its oldest ones.
        for (const k of e.values.keys()) {
          if (k === slot) continue;
          e.values.delete(k);
          this.count--;
          break;
        }
      }
    }
  }

  clear(): void {
    for (const e of this.age) {
      e.live = false;
      e.values.clear();
    }
    this.age.clear();
    this.byHash.clear();
    this.count = 0;
  }

  private entry(key: Uint8Array, create: boolean): KeyEntry<V> | undefined {
    if (!(key instanceof Uint8Array)) return undefined;
    const known = this.byObject.get(key);
    if (known !== undefined && known.live && sameBytes(known.bytes, key)) return known;
    const hash = hashBytes(key);
    const bucket = this.byHash.get(hash);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (sameBytes(e.bytes, key)) {
          this.byObject.set(key, e);
          return e;
        }
      }
    }
    if (!create) return undefined;
    const e: KeyEntry<V> = { bytes: new Uint8Array(key), hash, values: new Map(), stamp: this.tick, live: true };
    if (bucket !== undefined) bucket.push(e);
    else this.byHash.set(hash, [e]);
    this.age.add(e);
    this.byObject.set(key, e);
    return e;
  }

  private evict(e: KeyEntry<V>): void {
    e.live = false;
    this.age.delete(e);
    this.count -= e.values.size;
    // byObject still maps a base key that lives on (a cached ticket's session
    // key, a principal key) to this entry: drop the derived values now, or
    // each such key keeps its AES contexts (OpenSSL memory) past the bound.
    e.values.clear();
    const bucket = this.byHash.get(e.hash);
    if (bucket !== undefined) {
      const i = bucket.indexOf(e);
      if (i >= 0) bucket.splice(i, 1);
      if (bucket.length === 0) this.byHash.delete(e.hash);
    }
  }
}

/** Slot number for (enctype, usage, kind): usage is a uint32, so this stays a safe integer. */
export function derivedSlot(etype: number, usage: number, kind: number): number {
  return (usage * 4 + kind) * 64 + (etype & 63);
}
