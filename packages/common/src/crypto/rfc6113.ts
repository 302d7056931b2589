/**
 * RFC 6113 §5.1: PRF+ and KRB-FX-CF2, which FAST uses to make the armor key
 * and the strengthened reply key from two keys.
 */
import type { EncryptionKey } from '../krb5/types.js';
import { getEnctype } from './registry.js';
import type { Enctype } from './enctype.js';

/**
 * PRF+(key, s) = pseudo-random(key, 1 ‖ s) ‖ pseudo-random(key, 2 ‖ s) ‖ …,
 * the counter one byte, cut to `length` bytes.
 */
export function prfPlus(enc: Enctype, key: Uint8Array, input: Uint8Array, length: number): Uint8Array {
  const rounds = Math.ceil(length / enc.prfSize);
  if (rounds > 255) throw new RangeError('PRF+ output too long');
  const out = new Uint8Array(rounds * enc.prfSize);
  const buf = new Uint8Array(1 + input.length);
  buf.set(input, 1);
  for (let i = 1; i <= rounds; i++) {
    buf[0] = i;
    out.set(enc.prf(key, buf), (i - 1) * enc.prfSize);
  }
  return out.subarray(0, length);
}

/**
 * KRB-FX-CF2(protocol-key1, protocol-key2, pepper1, pepper2) =
 * random-to-key(PRF+(key1, pepper1) XOR PRF+(key2, pepper2)), in key1's
 * enctype, each PRF+ cut to that enctype's key-generation seed length
 * (the key size for AES).
 */
export function krbFxCf2(key1: EncryptionKey, key2: EncryptionKey, pepper1: string | Uint8Array, pepper2: string | Uint8Array): EncryptionKey {
  const enc1 = getEnctype(key1.keytype);
  const enc2 = getEnctype(key2.keytype);
  const te = new TextEncoder();
  const p1 = typeof pepper1 === 'string' ? te.encode(pepper1) : pepper1;
  const p2 = typeof pepper2 === 'string' ? te.encode(pepper2) : pepper2;
  const a = prfPlus(enc1, key1.keyvalue, p1, enc1.keySize);
  const b = prfPlus(enc2, key2.keyvalue, p2, enc1.keySize);
  const x = new Uint8Array(enc1.keySize);
  for (let i = 0; i < x.length; i++) x[i] = a[i]! ^ b[i]!;
  return { keytype: enc1.etype, keyvalue: enc1.randomToKey(x) };
}
