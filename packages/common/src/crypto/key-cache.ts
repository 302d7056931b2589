/**
 * A bounded least-recently-used cache for derived usage keys (RFC 3961 §5.3
 * Ke/Ki/Kc). Deriving a usage key costs one or more AES or HMAC operations
 * plus OpenSSL context set-up, far more than the message it protects, so the
 * hot paths (KDC, GSS wrap) look keys up here by (enctype, usage, key bytes).
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

/** Cache key for (enctype, usage, kind, key bytes). */
export function cacheKey(etype: number, usage: number, kind: string, key: Uint8Array): string {
  return `${etype}:${usage}:${kind}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`;
}
