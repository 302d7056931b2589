/** RFC 8009 Appendix A vectors, plus behaviour of the aes-sha2 enctypes. */
import { describe, expect, it } from 'vitest';
import { KrbError } from '../krb5/errors.js';
import { KC, KE, KI, s2kparamsFor, usageConstant } from './rfc3961.js';
import { aes128CtsHmacSha256128, aes256CtsHmacSha384192, kdfHmacSha2 } from './rfc8009.js';
import * as v from './vectors/rfc8009.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const byEtype = { 19: aes128CtsHmacSha256128, 20: aes256CtsHmacSha384192 } as const;
const baseKey = { 19: hex(v.baseKey19), 20: hex(v.baseKey20) } as const;

describe('RFC 8009 appendix A', () => {
  it('string-to-key (32768 iterations, enctype name in the salt)', () => {
    expect(toHex(aes128CtsHmacSha256128.stringToKey(v.s2k.password, hex(v.s2k.salt), s2kparamsFor(32768)))).toBe(v.s2k.key19);
    expect(toHex(aes256CtsHmacSha384192.stringToKey(v.s2k.password, hex(v.s2k.salt), s2kparamsFor(32768)))).toBe(v.s2k.key20);
    // 32768 is the default.
    expect(toHex(aes128CtsHmacSha256128.stringToKey(v.s2k.password, hex(v.s2k.salt)))).toBe(v.s2k.key19);
  });
  for (const etype of [19, 20] as const) {
    const enc = byEtype[etype];
    it(`${enc.name}: key derivation Kc, Ke, Ki for usage 2`, () => {
      const hash = etype === 19 ? 'sha256' : 'sha384';
      const macLen = enc.checksumSize;
      expect(toHex(kdfHmacSha2(hash, baseKey[etype], usageConstant(2, KC), macLen))).toBe(v.derived[etype].kc);
      expect(toHex(kdfHmacSha2(hash, baseKey[etype], usageConstant(2, KE), enc.keySize))).toBe(v.derived[etype].ke);
      expect(toHex(kdfHmacSha2(hash, baseKey[etype], usageConstant(2, KI), macLen))).toBe(v.derived[etype].ki);
    });
    it(`${enc.name}: checksum with usage 2`, () => {
      expect(toHex(enc.checksum(baseKey[etype], 2, hex(v.checksumMessage)))).toBe(v.checksums[etype]);
      expect(enc.verifyChecksum(baseKey[etype], 2, hex(v.checksumMessage), hex(v.checksums[etype]))).toBe(true);
    });
    it(`${enc.name}: PRF("test")`, () => {
      expect(toHex(enc.prf(baseKey[etype], hex(v.prfInput)))).toBe(v.prfOutputs[etype]);
    });
  }
  for (const e of v.encryptions) {
    const enc = byEtype[e.etype];
    it(`${enc.name}: sample encryption of ${e.plaintext.length / 2} bytes, and its decryption`, () => {
      const c = enc.encrypt(baseKey[e.etype], 2, hex(e.plaintext), hex(e.confounder));
      expect(toHex(c)).toBe(e.ciphertext);
      expect(toHex(enc.decrypt(baseKey[e.etype], 2, hex(e.ciphertext)))).toBe(e.plaintext);
    });
  }
});

describe('aes-sha2 enctypes', () => {
  for (const enc of [aes128CtsHmacSha256128, aes256CtsHmacSha384192]) {
    it(`${enc.name}: round trip, overhead ${enc.overhead}, tamper detection`, () => {
      const key = enc.randomKey();
      const p = new Uint8Array(77).map((_, i) => i);
      const c = enc.encrypt(key, 12, p);
      expect(c.length).toBe(77 + enc.overhead);
      expect(enc.decrypt(key, 12, c)).toEqual(p);
      for (const i of [0, 16, 50, c.length - 1]) {
        const bad = c.slice();
        bad[i]! ^= 0x80;
        expect(() => enc.decrypt(key, 12, bad)).toThrow(KrbError);
      }
      expect(() => enc.decrypt(key, 13, c)).toThrow(KrbError);
      expect(() => enc.decrypt(key, 12, c.subarray(0, enc.overhead - 1))).toThrow(KrbError);
    });
  }
});
