/** The EncryptionKey/EncryptedData/Checksum layer, error codes, limits and CF2. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { codeOf } from './testing/errors.js';
import {
  decryptData, defaultSalt, encryptData, getEnctype, krbFxCf2, makeChecksum, MAX_S2K_ITERATIONS, prfPlus, randomKeyFor,
  s2kparamsFor, stringToKey, verifyChecksum,
} from './index.js';
import { BoundedCache, DerivedKeyCache } from './key-cache.js';
import { derivedKeyCacheSizes as sha1Sizes } from './rfc3962.js';
import { derivedKeyCacheSizes as sha2Sizes } from './rfc8009.js';

describe('encryptData / decryptData', () => {
  it('round-trips and carries etype and kvno', () => {
    const key = randomKeyFor(18);
    const ed = encryptData(key, 2, new Uint8Array([1, 2, 3]), 5);
    expect(ed.etype).toBe(18);
    expect(ed.kvno).toBe(5);
    expect(encryptData(key, 2, new Uint8Array(0)).kvno).toBeUndefined();
    expect(decryptData(key, 2, ed)).toEqual(new Uint8Array([1, 2, 3]));
  });
  it('etype of data ≠ etype of key is KRB_AP_ERR_BADKEYVER; an unsupported etype is ETYPE_NOSUPP; a bad MAC is BAD_INTEGRITY', () => {
    const k18 = randomKeyFor(18);
    const ed = encryptData(randomKeyFor(17), 3, new Uint8Array(10));
    expect(codeOf(() => decryptData(k18, 3, ed))).toBe(ErrorCode.KRB_AP_ERR_BADKEYVER);
    expect(codeOf(() => decryptData(k18, 3, { etype: 23, cipher: new Uint8Array(40) }))).toBe(ErrorCode.KDC_ERR_ETYPE_NOSUPP);
    expect(codeOf(() => decryptData(k18, 3, { etype: 18, cipher: new Uint8Array(40) }))).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
    expect(codeOf(() => encryptData({ keytype: 23, keyvalue: new Uint8Array(16) }, 1, new Uint8Array(1)))).toBe(ErrorCode.KDC_ERR_ETYPE_NOSUPP);
  });
});

describe('hostile EncryptedData and Checksum values', () => {
  it('decryptData and verifyChecksum only ever throw KrbError (any etype, cksumtype, bytes)', () => {
    const keys = [17, 18, 19, 20].map(randomKeyFor);
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
        fc.constantFrom(17, 18, 19, 20, 23, 1, 0, -1),
        fc.uint8Array({ maxLength: 100 }),
        fc.nat(3),
        (usage, etype, bytes, k) => {
          const key = keys[k]!;
          for (const f of [
            () => decryptData(key, usage, { etype, cipher: bytes }),
            () => decryptData(key, 3, { etype, cipher: bytes }),
            () => verifyChecksum(key, 6, bytes, { cksumtype: etype, checksum: bytes }),
          ]) {
            try {
              const r = f();
              expect(typeof r === 'boolean').toBe(true); // only a checksum may come back (false)
            } catch (e) {
              expect(e).toBeInstanceOf(KrbError);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('makeChecksum / verifyChecksum', () => {
  const key = randomKeyFor(18);
  const data = new TextEncoder().encode('req-body');
  it('makes the keyed checksum of the key’s enctype and verifies it', () => {
    const c = makeChecksum(key, 6, data);
    expect(c.cksumtype).toBe(16);
    expect(verifyChecksum(key, 6, data, c)).toBe(true);
    expect(verifyChecksum(key, 6, new Uint8Array(3), c)).toBe(false);
    expect(makeChecksum(randomKeyFor(20), 6, data).checksum.length).toBe(24);
  });
  it('never accepts unkeyed checksums (CRC32, MD5, SHA1): KDC_ERR_SUMTYPE_NOSUPP', () => {
    for (const t of [1, 2, 7, 10, 14, 0x8003, -138]) {
      expect(codeOf(() => verifyChecksum(key, 6, data, { cksumtype: t, checksum: new Uint8Array(16) }))).toBe(
        ErrorCode.KDC_ERR_SUMTYPE_NOSUPP,
      );
    }
  });
  it('refuses a keyed type of another enctype: KRB_AP_ERR_INAPP_CKSUM', () => {
    const c = makeChecksum(randomKeyFor(17), 6, data);
    expect(c.cksumtype).toBe(15);
    expect(codeOf(() => verifyChecksum(key, 6, data, c))).toBe(ErrorCode.KRB_AP_ERR_INAPP_CKSUM);
  });
});

describe('string-to-key parameters', () => {
  it('rejects malformed s2kparams and hostile iteration counts with KDC_ERR_PREAUTH_FAILED, quickly', () => {
    for (const params of [new Uint8Array(3), new Uint8Array(5), s2kparamsFor(MAX_S2K_ITERATIONS + 1), s2kparamsFor(0xffffffff), s2kparamsFor(0)]) {
      for (const etype of [17, 18, 19, 20]) {
        expect(codeOf(() => stringToKey(etype, 'pw', 'salt', params))).toBe(ErrorCode.KDC_ERR_PREAUTH_FAILED);
      }
    }
  });
  it('accepts a small explicit count', () => {
    expect(stringToKey(18, 'pw', 'salt', s2kparamsFor(1)).keyvalue.length).toBe(32);
  });
  it('default salt is realm ‖ components', () => {
    expect(defaultSalt({ realm: 'LAB.TEST', name: { nameType: 1, nameString: ['alice'] } })).toBe('LAB.TESTalice');
    expect(defaultSalt({ realm: 'LAB.TEST', name: { nameType: 3, nameString: ['pop', 'localhost'] } })).toBe('LAB.TESTpoplocalhost');
  });
});

describe('random keys', () => {
  it('are fresh, of the enctype’s size, and separate buffers', () => {
    const a = randomKeyFor(18);
    const b = randomKeyFor(18);
    expect(a.keyvalue.length).toBe(32);
    expect(randomKeyFor(19).keyvalue.length).toBe(16);
    expect(a.keyvalue).not.toEqual(b.keyvalue);
    expect(a.keyvalue.buffer).not.toBe(b.keyvalue.buffer);
  });
});

describe('PRF+ and KRB-FX-CF2 (RFC 6113 §5.1)', () => {
  it('PRF+ is PRF(1‖s) ‖ PRF(2‖s) … cut to length', () => {
    const enc = getEnctype(18);
    const key = enc.randomKey();
    const s = new Uint8Array([7, 7]);
    const out = prfPlus(enc, key, s, 40);
    expect(out.length).toBe(40);
    expect(out.subarray(0, 16)).toEqual(enc.prf(key, new Uint8Array([1, 7, 7])));
    expect(out.subarray(16, 32)).toEqual(enc.prf(key, new Uint8Array([2, 7, 7])));
    expect(out.subarray(32, 40)).toEqual(enc.prf(key, new Uint8Array([3, 7, 7])).subarray(0, 8));
  });
  it('CF2 yields a key of the first key’s enctype, and is symmetric only when swapped consistently', () => {
    const k1 = randomKeyFor(17);
    const k2 = randomKeyFor(20);
    const r = krbFxCf2(k1, k2, 'a', 'b');
    expect(r.keytype).toBe(17);
    expect(r.keyvalue.length).toBe(16);
    expect(krbFxCf2(k1, k2, 'a', 'b')).toEqual(r);
    expect(krbFxCf2(k1, k2, 'b', 'a')).not.toEqual(r);
  });
});

describe('BoundedCache', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const c = new BoundedCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now most recent
    c.set('c', 3);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
  });
  it('keeps the derived-key caches bounded under key churn', () => {
    const enc = getEnctype(18);
    const sha2 = getEnctype(20);
    for (let i = 0; i < 3000; i++) {
      enc.checksum(enc.randomKey(), 1, new Uint8Array(1));
      enc.encrypt(enc.randomKey(), 1, new Uint8Array(1));
      sha2.encrypt(sha2.randomKey(), 1, new Uint8Array(1));
    }
    for (const n of [...sha1Sizes(), ...sha2Sizes()]) expect(n).toBeLessThanOrEqual(1024);
    // An evicted key re-derives to the same usage keys.
    const key = new Uint8Array(32).fill(1);
    const c1 = enc.checksum(key, 1, new Uint8Array(1));
    for (let i = 0; i < 1100; i++) enc.checksum(enc.randomKey(), 1, new Uint8Array(1));
    expect(enc.checksum(key, 1, new Uint8Array(1))).toEqual(c1);
  });
});

describe('DerivedKeyCache', () => {
  it('holds at most max values even when the evicted base keys live on (cached tickets\' session keys)', () => {
    const c = new DerivedKeyCache<object>(16);
    const keys = Array.from({ length: 500 }, (_, i) => new Uint8Array(32).fill(i & 255).map((b, j) => b ^ (j === 0 ? i >> 8 : 0)));
    for (const k of keys) for (let slot = 0; slot < 3; slot++) c.set(k, slot, { k, slot });
    expect(c.size).toBeLessThanOrEqual(16);
    // Every key is still alive here, and still reachable from the cache's WeakMap: none may pin its old values.
    const byObject = (c as unknown as { byObject: WeakMap<Uint8Array, { values: Map<number, object> }> }).byObject;
    const pinned = keys.reduce((n, k) => n + (byObject.get(k)?.values.size ?? 0), 0);
    expect(pinned).toBeLessThanOrEqual(16);
    expect(c.get(keys[0]!, 0)).toBeUndefined();
    expect(c.get(keys[499]!, 2)).toEqual({ k: keys[499], slot: 2 });
  });

  it('finds a key by object or by equal bytes, and never serves a key rewritten in place', () => {
    const c = new DerivedKeyCache<string>(8);
    const k = new Uint8Array(32).fill(3);
    c.set(k, 1, 'a');
    expect(c.get(k, 1)).toBe('a');
    expect(c.get(new Uint8Array(32).fill(3), 1)).toBe('a');
    expect(c.get(k, 2)).toBeUndefined();
    k[0] = 4;
    expect(c.get(k, 1)).toBeUndefined();
    k[0] = 3;
    expect(c.get(k, 1)).toBe('a');
  });
  it('holds at most max values, dropping the least recently used base keys', () => {
    const c = new DerivedKeyCache<number>(4);
    const hot = new Uint8Array(16).fill(9);
    c.set(hot, 0, 0);
    for (let i = 0; i < 100; i++) {
      c.get(hot, 0);
      c.set(new Uint8Array(16).fill(i), 0, i);
      c.set(new Uint8Array(16).fill(i), 1, i);
      expect(c.size).toBeLessThanOrEqual(4);
    }
    expect(c.get(new Uint8Array(16).fill(99), 1)).toBe(99);
    expect(c.get(new Uint8Array(16).fill(0), 0)).toBeUndefined();
  });
  it('admit() keeps a base key only from its second offer on (a one-shot key never enters)', () => {
    const c = new DerivedKeyCache<number>(64);
    const once = Array.from({ length: 50 }, (_, i) => new Uint8Array(32).fill(i + 1));
    for (const k of once) c.admit(k, 0, 1);
    expect(c.size).toBe(0);
    const hot = new Uint8Array(32).fill(200);
    c.admit(hot, 0, 7);
    expect(c.get(hot, 0)).toBeUndefined();
    // Seen before (another object with the same bytes counts): kept now, and its other slots at once.
    c.admit(new Uint8Array(32).fill(200), 0, 7);
    expect(c.get(hot, 0)).toBe(7);
    c.admit(hot, 1, 8);
    expect(c.get(hot, 1)).toBe(8);
    // Thousands of one-shot keys later (the doorkeeper cleared twice) the cache is still bounded, and a key in use stays.
    let admitted = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = new Uint8Array(randomBytes(32));
      c.admit(k, 0, i);
      if (c.get(k, 0) !== undefined) admitted++;
      if (i % 8 === 0) expect(c.get(hot, 1)).toBe(8);
    }
    expect(c.size).toBeLessThanOrEqual(64);
    // Only the doorkeeper's false positives get in (under 1.4 % of keys).
    expect(admitted).toBeLessThan(200);
  });
  it('one-shot keys (a TGS-REQ subkey each) do not displace the keys in use', () => {
    const enc = getEnctype(18);
    const service = enc.randomKey();
    const pt = new Uint8Array(40);
    enc.encrypt(service, 2, pt);
    enc.encrypt(service, 2, pt);
    const before = sha1Sizes()[0]!;
    for (let i = 0; i < 3000; i++) enc.encrypt(enc.randomKey(), 9, pt);
    // Without the doorkeeper each would take an entry (up to the bound, 1024); its false positives are a few dozen.
    expect(sha1Sizes()[0]).toBeLessThanOrEqual(before + 60);
    // Still derived correctly every time (one-shot keys are derived, not cached).
    const k = enc.randomKey();
    expect(enc.decrypt(k, 9, enc.encrypt(k, 9, pt))).toEqual(pt);
  });
  it('a crypto operation with a key rewritten in place uses the new key', () => {
    const enc = getEnctype(18);
    const key = enc.randomKey();
    const other = enc.randomKey();
    const ct = enc.encrypt(key, 7, new Uint8Array([1, 2, 3]));
    key.set(other);
    expect(() => enc.decrypt(key, 7, ct)).toThrow();
    expect(enc.decrypt(other, 7, enc.encrypt(key, 7, new Uint8Array([4])))).toEqual(new Uint8Array([4]));
  });
});
