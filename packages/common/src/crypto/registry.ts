/**
 * The enctype registry by number, MIT's names and aliases, and krb5.conf
 * enctype lists (permitted_enctypes, default_tkt_enctypes, …).
 *
 * Only the AES families exist here. DES, 3DES and RC4 are never implemented
 * (RFC 6649, RFC 8429 deprecate them); their numbers get names for display
 * but getEnctype() refuses them with KDC_ERR_ETYPE_NOSUPP.
 */
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { EncType } from '../krb5/constants.js';
import type { Enctype } from './enctype.js';
import { aes128CtsHmacSha196, aes256CtsHmacSha196 } from './rfc3962.js';
import { aes128CtsHmacSha256128, aes256CtsHmacSha384192 } from './rfc8009.js';

const registry = new Map<number, Enctype>(
  [aes256CtsHmacSha196, aes128CtsHmacSha196, aes256CtsHmacSha384192, aes128CtsHmacSha256128].map((e) => [e.etype, e]),
);

/** MIT krb5 1.20's default permitted_enctypes, restricted to what exists here, in its order. */
export const DEFAULT_ENCTYPES: readonly number[] = Object.freeze([
  EncType.AES256_CTS_HMAC_SHA1_96,
  EncType.AES128_CTS_HMAC_SHA1_96,
  EncType.AES256_CTS_HMAC_SHA384_192,
  EncType.AES128_CTS_HMAC_SHA256_128,
]);

export function isSupportedEnctype(etype: number): boolean {
  return registry.has(etype);
}

/** The implementation of an enctype; KrbError KDC_ERR_ETYPE_NOSUPP if there is none. */
export function getEnctype(etype: number): Enctype {
  const e = registry.get(etype);
  if (e === undefined) {
    throw new KrbError(ErrorCode.KDC_ERR_ETYPE_NOSUPP, `Encryption type ${enctypeName(etype)} is not supported`);
  }
  return e;
}

/** MIT's canonical names (lib/crypto/krb/etypes.c), supported or not, for display. */
const canonicalNames: Readonly<Record<number, string>> = {
  1: 'des-cbc-crc',
  2: 'des-cbc-md4',
  3: 'des-cbc-md5',
  5: 'des3-cbc-raw',
  7: 'des3-hmac-sha1',
  16: 'des3-cbc-sha1',
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'arcfour-hmac',
  24: 'arcfour-hmac-exp',
  25: 'camellia128-cts-cmac',
  26: 'camellia256-cts-cmac',
};

/** Every name MIT accepts for an enctype (case-insensitive), supported or not. */
const aliases: Readonly<Record<string, number>> = {
  'des-cbc-crc': 1,
  'des-cbc-md4': 2,
  'des-cbc-md5': 3,
  'des3-cbc-raw': 5,
  'des3-hmac-sha1': 7,
  'des3-cbc-sha1': 16,
  'des3-cbc-sha1-kd': 16,
  'des3-hmac-sha1-kd': 16,
  'aes128-cts-hmac-sha1-96': 17,
  'aes128-cts': 17,
  'aes128-sha1': 17,
  'aes256-cts-hmac-sha1-96': 18,
  'aes256-cts': 18,
  'aes256-sha1': 18,
  'aes128-cts-hmac-sha256-128': 19,
  'aes128-sha2': 19,
  'aes256-cts-hmac-sha384-192': 20,
  'aes256-sha2': 20,
  'arcfour-hmac': 23,
  'rc4-hmac': 23,
  'arcfour-hmac-md5': 23,
  'arcfour-hmac-exp': 24,
  'rc4-hmac-exp': 24,
  'arcfour-hmac-md5-exp': 24,
  'camellia128-cts-cmac': 25,
  'camellia128-cts': 25,
  'camellia256-cts-cmac': 26,
  'camellia256-cts': 26,
};

/** Families MIT expands in enctype lists (krb5int_parse_enctype_list). */
const families: Readonly<Record<string, readonly number[]>> = {
  aes: [18, 17, 20, 19],
  'aes-sha1': [18, 17],
  'aes-sha2': [20, 19],
  des: [1, 2, 3],
  des3: [16],
  rc4: [23],
  camellia: [26, 25],
};

/** MIT's canonical name, or `etype N` for a number it does not know. */
export function enctypeName(etype: number): string {
  return canonicalNames[etype] ?? `etype ${etype}`;
}

/** The enctype a name (or alias) stands for, supported or not; undefined if unknown. */
export function enctypeFromName(name: string): number | undefined {
  return aliases[name.trim().toLowerCase()];
}

/**
 * Parse a krb5.conf enctype list such as "aes256-cts aes128-cts" or
 * "DEFAULT -aes128-sha2": names separated by spaces or commas, family names,
 * the DEFAULT keyword, "-name" to remove and "+name" to add. As in MIT,
 * unknown names are ignored; so are enctypes not implemented here (DES, 3DES,
 * RC4, Camellia), so the result only holds numbers getEnctype() accepts.
 */
export function enctypesFromList(list: string): number[] {
  let out: number[] = [];
  for (const raw of list.split(/[\s,]+/)) {
    if (raw === '') continue;
    let tok = raw;
    let remove = false;
    if (tok.startsWith('-')) {
      remove = true;
      tok = tok.slice(1);
    } else if (tok.startsWith('+')) {
      tok = tok.slice(1);
    }
    const lower = tok.toLowerCase();
    let etypes: readonly number[];
    if (lower === 'default') etypes = DEFAULT_ENCTYPES;
    else if (families[lower] !== undefined) etypes = families[lower]!;
    else {
      const e = aliases[lower] ?? (/^\d+$/.test(tok) ? Number(tok) : undefined);
      etypes = e === undefined ? [] : [e];
    }
    for (const e of etypes) {
      if (remove) out = out.filter((x) => x !== e);
      else if (isSupportedEnctype(e) && !out.includes(e)) out.push(e);
    }
  }
  return out;
}
