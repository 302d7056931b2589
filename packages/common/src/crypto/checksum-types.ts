/**
 * Checksum types, and the decision on unkeyed ones.
 *
 * Every checksum this suite makes or accepts is keyed, and its type must be
 * the one tied to the key's enctype (RFC 3961 §4: 15/16 for aes-sha1 keys
 * 17/18, 19/20 for aes-sha2 keys 19/20). Unkeyed checksums (CRC32 1, MD4 2,
 * MD5 7, SHA1 10 and 14) are NOT accepted anywhere, not even where RFC 4120
 * would tolerate them (the optional AP-REQ authenticator checksum of a
 * non-TGS exchange): an attacker can recompute them over modified data, and
 * RFC 4120 §5.2.9/§7.2.2 requires collision-proof keyed checksums for the
 * authenticator checksum over the TGS req-body. MIT 1.20 sends only keyed
 * ones. A checksum of another type is refused with KRB_AP_ERR_INAPP_CKSUM;
 * an unknown type with KDC_ERR_SUMTYPE_NOSUPP. (The GSS-API 0x8003
 * "checksum" of RFC 4121 §4.1.1 is a structure, not a checksum; gss/ reads it.)
 */
import { ChecksumType } from '../krb5/constants.js';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import type { Enctype } from './enctype.js';
import { getEnctype } from './registry.js';

const enctypeOfChecksum: Readonly<Record<number, number>> = {
  [ChecksumType.HMAC_SHA1_96_AES128]: 17,
  [ChecksumType.HMAC_SHA1_96_AES256]: 18,
  [ChecksumType.HMAC_SHA256_128_AES128]: 19,
  [ChecksumType.HMAC_SHA384_192_AES256]: 20,
};

export function isSupportedChecksumType(cksumtype: number): boolean {
  return enctypeOfChecksum[cksumtype] !== undefined;
}

/** The enctype whose keys make checksums of this type; KDC_ERR_SUMTYPE_NOSUPP for any other type. */
export function enctypeForChecksumType(cksumtype: number): Enctype {
  const etype = enctypeOfChecksum[cksumtype];
  if (etype === undefined) {
    throw new KrbError(ErrorCode.KDC_ERR_SUMTYPE_NOSUPP, `Checksum type ${cksumtype} is not supported (only keyed AES checksums are accepted)`);
  }
  return getEnctype(etype);
}
