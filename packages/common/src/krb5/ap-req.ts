/** RFC 4120 §5.5.1 KRB_AP_REQ and the Authenticator. */
import { Int32, KerberosFlagsSchema, KerberosTimeSchema, Microseconds, SeqNumber, codec, field, optional, seq } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import { AuthorizationDataSchema, ChecksumSchema, EncryptedDataSchema, EncryptionKeySchema, PrincipalNameSchema, RealmSchema } from './basic-types.js';
import { TicketSchema } from './ticket.js';
import type { ApReq, Authenticator } from './types.js';

/**
 *   AP-REQ          ::= [APPLICATION 14] SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (14),
 *           ap-options      [2] APOptions,
 *           ticket          [3] Ticket,
 *           authenticator   [4] EncryptedData -- Authenticator
 *   }
 */
export const ApReqSchema = seq(
  'AP-REQ',
  [
    field('pvno', 0, Int32),
    field('msg-type', 1, Int32, { equals: ApplicationTag.AP_REQ }),
    field('ap-options', 2, KerberosFlagsSchema),
    field('ticket', 3, TicketSchema),
    field('authenticator', 4, EncryptedDataSchema),
  ],
  ApplicationTag.AP_REQ,
);

/**
 *   -- Unencrypted authenticator
 *   Authenticator   ::= [APPLICATION 2] SEQUENCE  {
 *           authenticator-vno       [0] INTEGER (5),
 *           crealm                  [1] Realm,
 *           cname                   [2] PrincipalName,
 *           cksum                   [3] Checksum OPTIONAL,
 *           cusec                   [4] Microseconds,
 *           ctime                   [5] KerberosTime,
 *           subkey                  [6] EncryptionKey OPTIONAL,
 *           seq-number              [7] UInt32 OPTIONAL,
 *           authorization-data      [8] AuthorizationData OPTIONAL
 *   }
 */
export const AuthenticatorSchema = seq(
  'Authenticator',
  [
    field('authenticator-vno', 0, Int32),
    field('crealm', 1, RealmSchema),
    field('cname', 2, PrincipalNameSchema),
    optional('cksum', 3, ChecksumSchema),
    field('cusec', 4, Microseconds),
    field('ctime', 5, KerberosTimeSchema),
    optional('subkey', 6, EncryptionKeySchema),
    optional('seq-number', 7, SeqNumber),
    optional('authorization-data', 8, AuthorizationDataSchema),
  ],
  ApplicationTag.Authenticator,
);

const apReq = codec<ApReq>(ApReqSchema, 'AP-REQ');
export const encodeApReq = apReq.encode;
export const decodeApReq = apReq.decode;

const authenticator = codec<Authenticator>(AuthenticatorSchema, 'Authenticator');
export const encodeAuthenticator = authenticator.encode;
export const decodeAuthenticator = authenticator.decode;
