// Kerberos crypto: RFC 3961 framework, RFC 3962 aes-sha1, RFC 8009 aes-sha2, RFC 6113 CF2.
export type { Enctype } from './enctype.js';
export { nfold } from './nfold.js';
export { deriveKey, deriveRandom, MAX_S2K_ITERATIONS, s2kparamsFor } from './rfc3961.js';
export { AesSha1Enctype, aes128CtsHmacSha196, aes256CtsHmacSha196 } from './rfc3962.js';
export { AesSha2Enctype, aes128CtsHmacSha256128, aes256CtsHmacSha384192, kdfHmacSha2 } from './rfc8009.js';
export { DEFAULT_ENCTYPES, enctypeFromName, enctypeName, enctypesFromList, getEnctype, isSupportedEnctype } from './registry.js';
export { enctypeForChecksumType, isSupportedChecksumType } from './checksum-types.js';
export { decryptData, encryptData, makeChecksum, randomKeyFor, stringToKey, verifyChecksum } from './data.js';
export { defaultSalt } from './salt.js';
export { krbFxCf2, prfPlus } from './rfc6113.js';
