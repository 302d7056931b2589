/** RFC 4120 §5.6.1 KRB_SAFE. */
import { Int32, KerberosTimeSchema, Microseconds, OctetString, SeqNumber, codec, field, optional, seq } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import { ChecksumSchema, HostAddressSchema } from './basic-types.js';
import type { KrbSafe } from './types.js';

/**
 *   KRB-SAFE-BODY   ::= SEQUENCE {
 *           user-data       [0] OCTET STRING,
 *           timestamp       [1] KerberosTime OPTIONAL,
 *           usec            [2] Microseconds OPTIONAL,
 *           seq-number      [3] UInt32 OPTIONAL,
 *           s-address       [4] HostAddress,
 *           r-address       [5] HostAddress OPTIONAL
 *   }
 *
 * EncKrbPrivPart (krb-priv.ts) has the same fields.
 */
export const KrbSafeBodySchema = seq('KRB-SAFE-BODY', [
  field('user-data', 0, OctetString),
  optional('timestamp', 1, KerberosTimeSchema),
  optional('usec', 2, Microseconds),
  optional('seq-number', 3, SeqNumber),
  field('s-address', 4, HostAddressSchema),
  optional('r-address', 5, HostAddressSchema),
]);

/**
 *   KRB-SAFE        ::= [APPLICATION 20] SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (20),
 *           safe-body       [2] KRB-SAFE-BODY,
 *           cksum           [3] Checksum
 *   }
 */
export const KrbSafeSchema = seq(
  'KRB-SAFE',
  [
    field('pvno', 0, Int32),
    field('msg-type', 1, Int32, { equals: ApplicationTag.KRB_SAFE }),
    field('safe-body', 2, KrbSafeBodySchema),
    field('cksum', 3, ChecksumSchema),
  ],
  ApplicationTag.KRB_SAFE,
);

const krbSafe = codec<KrbSafe>(KrbSafeSchema, 'KRB-SAFE');
export const encodeKrbSafe = krbSafe.encode;
export const decodeKrbSafe = krbSafe.decode;

const krbSafeBody = codec<KrbSafe['safeBody']>(KrbSafeBodySchema, 'KRB-SAFE-BODY');
/** The bytes the KRB-SAFE checksum covers (RFC 4120 §3.4.1, usage 15). */
export const encodeKrbSafeBody = krbSafeBody.encode;
export const decodeKrbSafeBody = krbSafeBody.decode;
