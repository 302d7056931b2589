/**
 * Session keys for issued tickets. AES random-to-key is the identity (RFC
 * 3962 §6, RFC 8009 §5), so a key is keySize bytes from the CSPRNG. On this
 * class of VM one getrandom-backed randomBytes() call costs ~20 µs, more than
 * the rest of a TGS exchange's crypto, so the KDC fills a pool once per
 * hundred keys and copies each key out into its own buffer; bytes are never
 * handed out twice.
 */
import { randomFillSync } from 'node:crypto';
import { getEnctype } from '@kpop/common';
import type { EncryptionKey } from '@kpop/common';

const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let offset = 0;

export function newSessionKey(etype: number): EncryptionKey {
  const size = getEnctype(etype).keySize;
  if (offset + size > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const keyvalue = pool.slice(offset, offset + size);
  // Wipe what was handed out, so the pool never holds a live key.
  pool.fill(0, offset, offset + size);
  offset += size;
  return { keytype: etype, keyvalue };
}
