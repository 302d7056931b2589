/** RFC 4120 §5.7.1 KRB_PRIV and EncKrbPrivPart. */
import { Int32, codec, field, seq } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import { EncryptedDataSchema } from './basic-types.js';
import { KrbSafeBodySchema } from './krb-safe.js';
import type { EncKrbPrivPart, KrbPriv } from './types.js';

/**
 *   KRB-PRIV        ::= [APPLICATION 21] SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (21),
 *                           -- NOTE: there is no [2] tag
 *           enc-part        [3] EncryptedData -- EncKrbPrivPart
 *   }
 */
export const KrbPrivSchema = seq(
  'KRB-PRIV',
  [field('pvno', 0, Int32), field('msg-type', 1, Int32, { equals: ApplicationTag.KRB_PRIV }), field('enc-part', 3, EncryptedDataSchema)],
  ApplicationTag.KRB_PRIV,
);

/**
 *   EncKrbPrivPart  ::= [APPLICATION 28] SEQUENCE {
 *           user-data       [0] OCTET STRING,
 *           timestamp       [1] KerberosTime OPTIONAL,
 *           usec            [2] Microseconds OPTIONAL,
 *           seq-number      [3] UInt32 OPTIONAL,
 *           s-address       [4] HostAddress -- sender's addr --,
 *           r-address       [5] HostAddress OPTIONAL -- recip's addr
 *   }
 */
export const EncKrbPrivPartSchema = seq('EncKrbPrivPart', [...KrbSafeBodySchema.fields], ApplicationTag.EncKrbPrivPart);

const krbPriv = codec<KrbPriv>(KrbPrivSchema, 'KRB-PRIV');
export const encodeKrbPriv = krbPriv.encode;
export const decodeKrbPriv = krbPriv.decode;

const encKrbPrivPart = codec<EncKrbPrivPart>(EncKrbPrivPartSchema, 'EncKrbPrivPart');
export const encodeEncKrbPrivPart = encKrbPrivPart.encode;
export const decodeEncKrbPrivPart = encKrbPrivPart.decode;
