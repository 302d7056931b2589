import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../krb5/errors.js';
import { codeOf } from './testing/errors.js';
import { DEFAULT_ENCTYPES, enctypeFromName, enctypeName, enctypesFromList, getEnctype, isSupportedEnctype } from './registry.js';

describe('enctype registry', () => {
  it('has exactly the four AES enctypes, with MIT names, key sizes and checksum types', () => {
    expect([17, 18, 19, 20].map((e) => [getEnctype(e).name, getEnctype(e).keySize, getEnctype(e).checksumType])).toEqual([
      ['aes128-cts-hmac-sha1-96', 16, 15],
      ['aes256-cts-hmac-sha1-96', 32, 16],
      ['aes128-cts-hmac-sha256-128', 16, 19],
      ['aes256-cts-hmac-sha384-192', 32, 20],
    ]);
    expect(DEFAULT_ENCTYPES).toEqual([18, 17, 20, 19]);
  });
  it('refuses DES, 3DES, RC4, Camellia and unknown numbers with KDC_ERR_ETYPE_NOSUPP', () => {
    for (const e of [0, 1, 3, 16, 23, 24, 25, 26, 99, -1]) {
      expect(isSupportedEnctype(e)).toBe(false);
      expect(codeOf(() => getEnctype(e))).toBe(ErrorCode.KDC_ERR_ETYPE_NOSUPP);
    }
    expect(() => getEnctype(23)).toThrow(/arcfour-hmac/);
  });
  it('names enctypes as MIT does, and unknown ones by number', () => {
    expect(enctypeName(18)).toBe('aes256-cts-hmac-sha1-96');
    expect(enctypeName(23)).toBe('arcfour-hmac');
    expect(enctypeName(77)).toBe('etype 77');
  });
  it('reads MIT names and aliases, case-insensitively', () => {
    expect(enctypeFromName('aes256-cts')).toBe(18);
    expect(enctypeFromName('AES256-CTS-HMAC-SHA1-96')).toBe(18);
    expect(enctypeFromName('aes128-cts')).toBe(17);
    expect(enctypeFromName('aes256-sha2')).toBe(20);
    expect(enctypeFromName('aes128-sha2')).toBe(19);
    expect(enctypeFromName('aes128-cts-hmac-sha256-128')).toBe(19);
    expect(enctypeFromName('rc4-hmac')).toBe(23);
    expect(enctypeFromName('nonsense')).toBeUndefined();
  });
});

describe('krb5.conf enctype lists', () => {
  it.each([
    ['aes256-cts aes128-cts', [18, 17]],
    ['aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96', [18, 17]],
    ['DEFAULT', [18, 17, 20, 19]],
    ['default -aes128-sha2', [18, 17, 20]],
    ['aes', [18, 17, 20, 19]],
    ['aes-sha2 aes-sha1', [20, 19, 18, 17]],
    ['des3-cbc-sha1 arcfour-hmac aes256-cts camellia', [18]],
    ['aes256-cts aes256-cts-hmac-sha1-96 +aes256-sha1', [18]],
    ['bogus-type', []],
    ['  ', []],
    ['aes -aes-sha1 18', [20, 19, 18]],
  ])('%j → %j', (list, expected) => {
    expect(enctypesFromList(list)).toEqual(expected);
  });
});
