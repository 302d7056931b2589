/** RFC 3962 Appendix B vectors, plus behaviour of the aes-sha1 enctypes. */
import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { AesKey } from './aes-cts.js';
import { aes128CtsHmacSha196, aes256CtsHmacSha196 } from './rfc3962.js';
import { s2kparamsFor } from './rfc3961.js';
import { ctsKey, ctsVectors, s2kVectors } from './vectors/rfc3962.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('RFC 3962 appendix B string-to-key', () => {
  for (const v of s2kVectors) {
    it(`${v.iterations} iterations, salt ${v.salt.slice(0, 16)}…`, () => {
      const pw = hex(v.password);
      const salt = hex(v.salt);
      // The PBKDF2 intermediate the RFC prints.
      expect(toHex(pbkdf2Sync(pw, salt, v.iterations, 16, 'sha1'))).toBe(v.pbkdf2_128);
      expect(toHex(pbkdf2Sync(pw, salt, v.iterations, 32, 'sha1'))).toBe(v.pbkdf2_256);
      const params = s2kparamsFor(v.iterations);
      expect(toHex(aes128CtsHmacSha196.stringToKey(pw, salt, params))).toBe(v.key128);
      expect(toHex(aes256CtsHmacSha196.stringToKey(pw, salt, params))).toBe(v.key256);
    });
  }
  it('takes the pass phrase as a JS string in UTF-8 (g-clef)', () => {
    const v = s2kVectors[6]!;
    expect(toHex(aes256CtsHmacSha196.stringToKey('\u{1D11E}', 'EXAMPLE.COMpianist', s2kparamsFor(50)))).toBe(v.key256);
  });
  it('defaults to 4096 iterations', () => {
    expect(aes128CtsHmacSha196.stringToKey('password', 'ATHENA.MIT.EDUraeburn')).toEqual(
      aes128CtsHmacSha196.stringToKey('password', 'ATHENA.MIT.EDUraeburn', s2kparamsFor(4096)),
    );
  });
});

describe('RFC 3962 appendix B CBC-CTS ("chicken teriyaki", zero IV)', () => {
  const aes = new AesKey(hex(ctsKey));
  for (const v of ctsVectors) {
    it(`${v.input.length / 2}-byte input`, () => {
      expect(toHex(aes.ctsEncrypt(hex(v.input)))).toBe(v.output);
      expect(toHex(aes.ctsDecrypt(hex(v.output)))).toBe(v.input);
    });
  }
  it('interleaves encryptions under one key without leaking chaining state', () => {
    const a = hex(ctsVectors[5]!.input);
    const b = hex(ctsVectors[1]!.input);
    expect(toHex(aes.ctsEncrypt(a))).toBe(ctsVectors[5]!.output);
    expect(toHex(aes.ctsEncrypt(b))).toBe(ctsVectors[1]!.output);
    expect(toHex(aes.ctsEncrypt(a))).toBe(ctsVectors[5]!.output);
    expect(toHex(aes.ctsDecrypt(hex(ctsVectors[5]!.output)))).toBe(ctsVectors[5]!.input);
    expect(toHex(aes.ctsDecrypt(hex(ctsVectors[3]!.output)))).toBe(ctsVectors[3]!.input);
    expect(toHex(aes.ctsDecrypt(hex(ctsVectors[5]!.output)))).toBe(ctsVectors[5]!.input);
  });
  it('refuses less than one block', () => {
    expect(() => aes.ctsEncrypt(new Uint8Array(15))).toThrow(RangeError);
    expect(() => aes.ctsDecrypt(new Uint8Array(15))).toThrow(RangeError);
  });
});

describe('aes-sha1 enctypes', () => {
  for (const enc of [aes128CtsHmacSha196, aes256CtsHmacSha196]) {
    it(`${enc.name}: encrypt/decrypt round trip with 28 bytes overhead, any usage`, () => {
      const key = enc.randomKey();
      for (const len of [0, 1, 15, 16, 17, 100]) {
        const p = new Uint8Array(len).map((_, i) => i * 7);
        const c = enc.encrypt(key, 3, p);
        expect(c.length).toBe(len + 28);
        expect(enc.decrypt(key, 3, c)).toEqual(p);
      }
    });
    it(`${enc.name}: a flipped bit anywhere fails integrity`, () => {
      const key = enc.randomKey();
      const c = enc.encrypt(key, 11, new TextEncoder().encode('hello, authenticator'));
      for (let i = 0; i < c.length; i++) {
        const bad = c.slice();
        bad[i]! ^= 0x01;
        expect(() => enc.decrypt(key, 11, bad)).toThrow(KrbError);
      }
    });
    it(`${enc.name}: short ciphertext is BAD_INTEGRITY, not a crash`, () => {
      const key = enc.randomKey();
      for (const len of [0, 1, 16, 27]) {
        try {
          enc.decrypt(key, 1, new Uint8Array(len));
          expect.unreachable();
        } catch (e) {
          expect((e as KrbError).code).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
        }
      }
    });
    it(`${enc.name}: a fixed confounder makes encryption deterministic; random ones differ`, () => {
      const key = enc.randomKey();
      const conf = new Uint8Array(16).fill(9);
      const p = new Uint8Array([1, 2, 3]);
      expect(enc.encrypt(key, 2, p, conf)).toEqual(enc.encrypt(key, 2, p, conf));
      expect(enc.encrypt(key, 2, p)).not.toEqual(enc.encrypt(key, 2, p));
      expect(() => enc.encrypt(key, 2, p, new Uint8Array(8))).toThrow(RangeError);
    });
    it(`${enc.name}: rejects a key of the wrong length with a KrbError`, () => {
      expect(() => enc.encrypt(new Uint8Array(enc.keySize + 1), 1, new Uint8Array(4))).toThrow(KrbError);
      expect(() => enc.checksum(new Uint8Array(3), 1, new Uint8Array(4))).toThrow(KrbError);
    });
    it(`${enc.name}: checksums are 12 bytes, usage-bound, verified in constant time`, () => {
      const key = enc.randomKey();
      const data = new Uint8Array([5, 6, 7]);
      const mac = enc.checksum(key, 6, data);
      expect(mac.length).toBe(12);
      expect(enc.verifyChecksum(key, 6, data, mac)).toBe(true);
      expect(enc.verifyChecksum(key, 7, data, mac)).toBe(false);
      expect(enc.verifyChecksum(key, 6, data, mac.subarray(0, 11))).toBe(false);
    });
  }
});
