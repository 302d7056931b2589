/**
 * Random bytes for confounders, from a pooled CSPRNG buffer: one
 * randomFillSync per 256 confounders instead of one syscall each. Slices
 * handed out are never reused (a new pool is allocated when one runs out).
 */
import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

export function pooledRandom(n: number): Buffer {
  if (n > POOL_SIZE / 4) return randomBytes(n);
  if (offset + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

/** Fresh key material: never from the shared pool, so a key has its own buffer. */
export function freshRandom(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}
