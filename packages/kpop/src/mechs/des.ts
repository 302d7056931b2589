/**
 * Single DES (FIPS 46-3) for NTLMv1 only (MS-NLMP §6, DESL). OpenSSL 3's
 * default provider has no `des-ecb`, but 3DES-EDE with K1 = K2 = K3 is
 * E(K, D(K, E(K, x))) = E(K, x): single DES.
 */
import { createCipheriv } from 'node:crypto';

/** Expand 7 key bytes (56 bits) into 8 DES key bytes, parity bits low (MS-NLMP §6 / RFC 3961 style). */
export function expandDesKey(k7: Uint8Array): Buffer {
  if (k7.length !== 7) throw new RangeError('DES key material must be 7 bytes');
  const out = Buffer.alloc(8);
  let bits = 0n;
  for (const b of k7) bits = (bits << 8n) | BigInt(b);
  for (let i = 0; i < 8; i++) {
    const seven = Number((bits >> BigInt(49 - 7 * i)) & 0x7fn);
    let v = seven << 1;
    // odd parity in the low bit (DES ignores it; set it anyway as FIPS says).
    let ones = 0;
    for (let t = seven; t; t >>= 1) ones += t & 1;
    if (ones % 2 === 0) v |= 1;
    out[i] = v;
  }
  return out;
}

/** DES-ECB encryption of one 8-byte block under an 8-byte key. */
export function desEncryptBlock(key8: Uint8Array, block: Uint8Array): Buffer {
  if (key8.length !== 8 || block.length !== 8) throw new RangeError('DES takes an 8-byte key and an 8-byte block');
  const k = Buffer.concat([key8, key8, key8]);
  const c = createCipheriv('des-ede3-ecb', k, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}
