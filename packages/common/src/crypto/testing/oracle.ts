/**
 * Test-only reference implementations of the Kerberos AES profiles written
 * directly from RFC 3961/3962/8009 over @noble/ciphers and @noble/hashes,
 * so the node:crypto code is checked against an independent AES, HMAC and
 * PBKDF2. Deliberately naive: block-by-block CBC, no caching.
 */
import { ecb } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';

const aesBlock = (key: Uint8Array, block: Uint8Array): Uint8Array => ecb(key, { disablePadding: true }).encrypt(block);

/** CBC-CTS per RFC 3962 §5, written as the RFC 2040 §8 steps: CBC, then swap and truncate. */
export function oracleCtsEncrypt(key: Uint8Array, iv: Uint8Array, p: Uint8Array): Uint8Array {
  const n = p.length;
  const blocks = Math.ceil(n / 16);
  const padded = new Uint8Array(blocks * 16);
  padded.set(p);
  const c = new Uint8Array(padded.length);
  let prev = iv;
  for (let b = 0; b < blocks; b++) {
    const x = padded.slice(b * 16, b * 16 + 16).map((v, i) => v ^ prev[i]!);
    prev = aesBlock(key, x);
    c.set(prev, b * 16);
  }
  if (blocks === 1) return c;
  const out = new Uint8Array(n);
  out.set(c.subarray(0, (blocks - 2) * 16));
  out.set(c.subarray((blocks - 1) * 16), (blocks - 2) * 16);
  out.set(c.subarray((blocks - 2) * 16, (blocks - 2) * 16 + (n - (blocks - 1) * 16)), (blocks - 1) * 16);
  return out;
}

/** DK for AES (RFC 3961 §5.1), given the constant already n-folded to one block. */
export function oracleDk(key: Uint8Array, folded: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length);
  let block = folded;
  for (let off = 0; off < key.length; off += 16) {
    block = aesBlock(key, block);
    out.set(block.subarray(0, Math.min(16, key.length - off)), off);
  }
  return out;
}

export function oracleKdf(hash: 'sha256' | 'sha384', key: Uint8Array, label: Uint8Array, bytes: number): Uint8Array {
  const msg = new Uint8Array(4 + label.length + 1 + 4);
  msg.set([0, 0, 0, 1]);
  msg.set(label, 4);
  new DataView(msg.buffer).setUint32(5 + label.length, bytes * 8);
  return hmac(hash === 'sha256' ? sha256 : sha384, key, msg).subarray(0, bytes);
}

export function oraclePbkdf2(hash: 'sha1' | 'sha256' | 'sha384', pw: Uint8Array, salt: Uint8Array, c: number, dkLen: number): Uint8Array {
  return pbkdf2(hash === 'sha1' ? sha1 : hash === 'sha256' ? sha256 : sha384, pw, salt, { c, dkLen });
}

/** RFC 3962 encryption: CTS(Ke, conf ‖ p) ‖ HMAC-SHA1(Ki, conf ‖ p)[0..12]. */
export function oracleEncrypt3962(ke: Uint8Array, ki: Uint8Array, conf: Uint8Array, p: Uint8Array): Uint8Array {
  const data = new Uint8Array(16 + p.length);
  data.set(conf);
  data.set(p, 16);
  const c = oracleCtsEncrypt(ke, new Uint8Array(16), data);
  const mac = hmac(sha1, ki, data).subarray(0, 12);
  return new Uint8Array([...c, ...mac]);
}

/** RFC 8009 encryption: C = CTS(Ke, conf ‖ p); C ‖ HMAC(Ki, IV ‖ C)[0..macLen]. */
export function oracleEncrypt8009(hash: 'sha256' | 'sha384', ke: Uint8Array, ki: Uint8Array, conf: Uint8Array, p: Uint8Array, macLen: number): Uint8Array {
  const data = new Uint8Array(16 + p.length);
  data.set(conf);
  data.set(p, 16);
  const iv = new Uint8Array(16);
  const c = oracleCtsEncrypt(ke, iv, data);
  const mac = hmac(hash === 'sha256' ? sha256 : sha384, ki, new Uint8Array([...iv, ...c])).subarray(0, macLen);
  return new Uint8Array([...c, ...mac]);
}

export function oracleHmac(hash: 'sha1' | 'sha256' | 'sha384', key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(hash === 'sha1' ? sha1 : hash === 'sha256' ? sha256 : sha384, key, data);
}
