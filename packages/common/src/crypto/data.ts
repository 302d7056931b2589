/**
 * Convenience over the RFC 4120 §5.2.9 structures: EncryptionKey,
 * EncryptedData and Checksum. This is what the messages layer calls.
 */
import { ErrorCode, KrbError } from '../krb5/errors.js';
import type { Checksum, EncryptedData, EncryptionKey } from '../krb5/types.js';
import { enctypeForChecksumType } from './checksum-types.js';
import { enctypeName, getEnctype } from './registry.js';

export function encryptData(key: EncryptionKey, usage: number, plaintext: Uint8Array, kvno?: number): EncryptedData {
  const cipher = getEnctype(key.keytype).encrypt(key.keyvalue, usage, plaintext);
  return kvno === undefined ? { etype: key.keytype, cipher } : { etype: key.keytype, kvno, cipher };
}

/**
 * Decrypt an EncryptedData. An etype we do not implement is
 * KDC_ERR_ETYPE_NOSUPP; one that differs from the key's means the sender used
 * another key than the one we hold (KRB_AP_ERR_BADKEYVER, MIT's answer when
 * no key of that enctype is on hand); a bad MAC is KRB_AP_ERR_BAD_INTEGRITY.
 */
export function decryptData(key: EncryptionKey, usage: number, data: EncryptedData): Uint8Array {
  const enc = getEnctype(data.etype);
  if (data.etype !== key.keytype) {
    throw new KrbError(
      ErrorCode.KRB_AP_ERR_BADKEYVER,
      `Data is encrypted with ${enctypeName(data.etype)} but the key is ${enctypeName(key.keytype)}`,
    );
  }
  return enc.decrypt(key.keyvalue, usage, data.cipher);
}

/** The keyed checksum of the key's enctype (RFC 3961 §4 get_mic). */
export function makeChecksum(key: EncryptionKey, usage: number, data: Uint8Array): Checksum {
  const enc = getEnctype(key.keytype);
  return { cksumtype: enc.checksumType, checksum: enc.checksum(key.keyvalue, usage, data) };
}

/**
 * Verify a Checksum with a key. false when the MAC does not match; a
 * KrbError when the checksum type cannot be checked with this key at all:
 * KDC_ERR_SUMTYPE_NOSUPP for an unknown or unkeyed type,
 * KRB_AP_ERR_INAPP_CKSUM for a keyed type of another enctype (see
 * checksum-types.ts for why unkeyed checksums are never accepted).
 */
export function verifyChecksum(key: EncryptionKey, usage: number, data: Uint8Array, c: Checksum): boolean {
  const enc = enctypeForChecksumType(c.cksumtype);
  if (enc.etype !== key.keytype) {
    throw new KrbError(
      ErrorCode.KRB_AP_ERR_INAPP_CKSUM,
      `Checksum type ${c.cksumtype} does not go with a ${enctypeName(key.keytype)} key`,
    );
  }
  return enc.verifyChecksum(key.keyvalue, usage, data, c.checksum);
}

/** A fresh random key of an enctype, e.g. a session key. */
export function randomKeyFor(etype: number): EncryptionKey {
  return { keytype: etype, keyvalue: getEnctype(etype).randomKey() };
}

/** string-to-key as an EncryptionKey. */
export function stringToKey(etype: number, password: string | Uint8Array, salt: string | Uint8Array, s2kparams?: Uint8Array): EncryptionKey {
  return { keytype: etype, keyvalue: getEnctype(etype).stringToKey(password, salt, s2kparams) };
}
