/**
 * Differential tests: the node:crypto implementation against independent
 * reference code over @noble/ciphers and @noble/hashes (testing/oracle.ts).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KrbError } from '../krb5/errors.js';
import { AesKey } from './aes-cts.js';
import { getEnctype } from './registry.js';
import { KC, KE, KI, deriveKey, deriveRandomsFolded, foldedUsageConstants, s2kparamsFor, usageConstant } from './rfc3961.js';
import { kdfHmacSha2 } from './rfc8009.js';
import { nfold } from './nfold.js';
import {
  oracleCtsEncrypt, oracleDk, oracleEncrypt3962, oracleEncrypt8009, oracleHmac, oracleKdf, oraclePbkdf2,
} from './testing/oracle.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

describe('CBC-CTS against @noble/ciphers at every length 16..300', () => {
  for (const keyLen of [16, 32]) {
    it(`AES-${keyLen * 8}: encrypt matches, decrypt inverts`, () => {
      const key = rnd(keyLen);
      const aes = new AesKey(key);
      const iv = new Uint8Array(16);
      for (let n = 16; n <= 300; n++) {
        const p = rnd(n);
        const expected = oracleCtsEncrypt(key, iv, p);
        const got = aes.ctsEncrypt(p);
        expect(Buffer.from(got).equals(Buffer.from(expected)), `length ${n}`).toBe(true);
        expect(Buffer.from(aes.ctsDecrypt(expected)).equals(Buffer.from(p)), `decrypt length ${n}`).toBe(true);
      }
    });
  }
  it('with a non-zero IV too (the persistent CBC context re-chains correctly)', () => {
    const key = rnd(32);
    const aes = new AesKey(key);
    for (let n = 16; n <= 80; n++) {
      const iv = rnd(16);
      const p = rnd(n);
      expect(Buffer.from(aes.ctsEncrypt(p, iv)).toString('hex')).toBe(Buffer.from(oracleCtsEncrypt(key, iv, p)).toString('hex'));
      expect(Buffer.from(aes.ctsDecrypt(oracleCtsEncrypt(key, iv, p), iv)).toString('hex')).toBe(Buffer.from(p).toString('hex'));
    }
  });
});

describe('key derivation against the oracle', () => {
  it('DK (RFC 3961 §5.1) for Ke, Ki, Kc of random AES-128/256 keys and usages', () => {
    for (let i = 0; i < 40; i++) {
      const key = rnd(i % 2 ? 16 : 32);
      const usage = (i * 7919) % 1024;
      for (const kind of [KC, KE, KI]) {
        const c = usageConstant(usage, kind);
        expect(deriveKey(key, c)).toEqual(oracleDk(key, nfold(c, 16)));
      }
    }
  });
  it('the batched DR (every chain in the same ECB calls) for the cached n-folded usage constants', () => {
    for (let i = 0; i < 40; i++) {
      const key = rnd(i % 2 ? 16 : 32);
      const usage = (i * 7919) % 1024;
      const folded = foldedUsageConstants(usage);
      expect(folded).toEqual(new Uint8Array([...nfold(usageConstant(usage, KC), 16), ...nfold(usageConstant(usage, KE), 16), ...nfold(usageConstant(usage, KI), 16)]));
      const [kc, ke, ki] = deriveRandomsFolded(key, folded, key.length);
      expect(kc).toEqual(oracleDk(key, folded.subarray(0, 16)));
      expect(ke).toEqual(oracleDk(key, folded.subarray(16, 32)));
      expect(ki).toEqual(oracleDk(key, folded.subarray(32, 48)));
      // A single chain and a pair, as the enctypes ask for them.
      expect(deriveRandomsFolded(key, folded.subarray(16), key.length)).toEqual([ke, ki]);
    }
    expect(() => foldedUsageConstants(-1)).toThrow();
  });
  it('KDF-HMAC-SHA2 (RFC 8009 §3) for both hashes', () => {
    for (let i = 0; i < 40; i++) {
      const hash = i % 2 ? 'sha256' : 'sha384';
      const key = rnd(hash === 'sha256' ? 16 : 32);
      const label = usageConstant(i * 13, [KC, KE, KI][i % 3]!);
      const len = [16, 24, 32][i % 3]!;
      expect(kdfHmacSha2(hash, key, label, len)).toEqual(oracleKdf(hash, key, label, len));
    }
  });
});

describe('string-to-key against @noble/hashes pbkdf2', () => {
  const te = new TextEncoder();
  it('aes-sha1 (17, 18): DK(PBKDF2-HMAC-SHA1(pw, salt, n), "kerberos")', () => {
    for (const etype of [17, 18]) {
      const enc = getEnctype(etype);
      for (const [pw, salt, n] of [['pässwörd', 'EXAMPLE.COMuser', 7], ['x', '', 1], ['long'.repeat(40), 'R'.repeat(70), 33]] as const) {
        const tkey = oraclePbkdf2('sha1', te.encode(pw), te.encode(salt), n, enc.keySize);
        expect(enc.stringToKey(pw, salt, s2kparamsFor(n))).toEqual(oracleDk(tkey, nfold(te.encode('kerberos'), 16)));
      }
    }
  });
  it('aes-sha2 (19, 20): KDF(PBKDF2-HMAC-SHA2(pw, name ‖ 0 ‖ salt, n), "kerberos")', () => {
    for (const etype of [19, 20]) {
      const enc = getEnctype(etype);
      const hash = etype === 19 ? 'sha256' : 'sha384';
      for (const [pw, salt, n] of [['pässwörd', 'EXAMPLE.COMuser', 7], ['x', '', 1]] as const) {
        const saltp = new Uint8Array([...te.encode(enc.name), 0, ...te.encode(salt)]);
        const tkey = oraclePbkdf2(hash, te.encode(pw), saltp, n, enc.keySize);
        expect(enc.stringToKey(pw, salt, s2kparamsFor(n))).toEqual(oracleKdf(hash, tkey, te.encode('kerberos'), enc.keySize));
      }
    }
  });
});

describe('whole encryption and checksum against the oracle', () => {
  it('aes-sha1: ciphertext and checksum for assorted lengths and usages', () => {
    for (const etype of [17, 18]) {
      const enc = getEnctype(etype);
      for (let len = 0; len <= 70; len += 7) {
        const key = enc.randomKey();
        const usage = len + 1;
        const conf = rnd(16);
        const p = rnd(len);
        const ke = oracleDk(key, nfold(usageConstant(usage, KE), 16));
        const ki = oracleDk(key, nfold(usageConstant(usage, KI), 16));
        const kc = oracleDk(key, nfold(usageConstant(usage, KC), 16));
        expect(enc.encrypt(key, usage, p, conf)).toEqual(oracleEncrypt3962(ke, ki, conf, p));
        expect(enc.checksum(key, usage, p)).toEqual(oracleHmac('sha1', kc, p).subarray(0, 12));
      }
    }
  });
  it('aes-sha2: ciphertext and checksum for assorted lengths and usages', () => {
    for (const etype of [19, 20]) {
      const enc = getEnctype(etype);
      const hash = etype === 19 ? 'sha256' : 'sha384';
      for (let len = 0; len <= 70; len += 7) {
        const key = enc.randomKey();
        const usage = len + 1;
        const conf = rnd(16);
        const p = rnd(len);
        const ke = oracleKdf(hash, key, usageConstant(usage, KE), enc.keySize);
        const ki = oracleKdf(hash, key, usageConstant(usage, KI), enc.checksumSize);
        const kc = oracleKdf(hash, key, usageConstant(usage, KC), enc.checksumSize);
        expect(enc.encrypt(key, usage, p, conf)).toEqual(oracleEncrypt8009(hash, ke, ki, conf, p, enc.checksumSize));
        expect(enc.checksum(key, usage, p)).toEqual(oracleHmac(hash, kc, p).subarray(0, enc.checksumSize));
      }
    }
  });
});

describe('properties (fast-check, bounded)', () => {
  it('decrypt ∘ encrypt = id, and any single-byte change is caught', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(17, 18, 19, 20),
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 1 << 16 }),
        fc.nat(),
        (etype, p, usage, pos) => {
          const enc = getEnctype(etype);
          const key = enc.randomKey();
          const c = enc.encrypt(key, usage, p);
          expect(enc.decrypt(key, usage, c)).toEqual(p);
          const bad = c.slice();
          bad[pos % bad.length]! ^= 1 + (pos % 255);
          expect(() => enc.decrypt(key, usage, bad)).toThrow(KrbError);
        },
      ),
      { numRuns: 200 },
    );
  });
  it('decrypt never throws anything but KrbError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(17, 18, 19, 20), fc.uint8Array({ maxLength: 120 }), (etype, junk) => {
        const enc = getEnctype(etype);
        expect(() => enc.decrypt(new Uint8Array(enc.keySize), 3, junk)).toThrow(KrbError);
      }),
      { numRuns: 300 },
    );
  });
});
