/** RFC 4120 §5.5.2 KRB_AP_REP and EncAPRepPart. */
import { Int32, KerberosTimeSchema, Microseconds, SeqNumber, codec, field, optional, seq } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import { EncryptedDataSchema, EncryptionKeySchema } from './basic-types.js';
import type { ApRep, EncApRepPart } from './types.js';

/**
 *   AP-REP          ::= [APPLICATION 15] SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (15),
 *           enc-part        [2] EncryptedData -- EncAPRepPart
 *   }
 */
export const ApRepSchema = seq(
  'AP-REP',
  [field('pvno', 0, Int32), field('msg-type', 1, Int32, { equals: ApplicationTag.AP_REP }), field('enc-part', 2, EncryptedDataSchema)],
  ApplicationTag.AP_REP,
);

/**
 *   EncAPRepPart    ::= [APPLICATION 27] SEQUENCE {
 *           ctime           [0] KerberosTime,
 *           cusec           [1] Microseconds,
 *           subkey          [2] EncryptionKey OPTIONAL,
 *           seq-number      [3] UInt32 OPTIONAL
 *   }
 */
export const EncApRepPartSchema = seq(
  'EncAPRepPart',
  [field('ctime', 0, KerberosTimeSchema), field('cusec', 1, Microseconds), optional('subkey', 2, EncryptionKeySchema), optional('seq-number', 3, SeqNumber)],
  ApplicationTag.EncAPRepPart,
);

const apRep = codec<ApRep>(ApRepSchema, 'AP-REP');
export const encodeApRep = apRep.encode;
export const decodeApRep = apRep.decode;

const encApRepPart = codec<EncApRepPart>(EncApRepPartSchema, 'EncAPRepPart');
export const encodeEncApRepPart = encApRepPart.encode;
export const decodeEncApRepPart = encApRepPart.decode;
