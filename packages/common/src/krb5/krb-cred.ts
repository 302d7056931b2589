/** RFC 4120 §5.8.1 KRB_CRED, EncKrbCredPart and KrbCredInfo. */
import { Int32, KerberosFlagsSchema, KerberosTimeSchema, Microseconds, UInt32, codec, field, optional, seq, seqOf, Nonce } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import { EncryptedDataSchema, EncryptionKeySchema, HostAddressSchema, HostAddressesSchema, PrincipalNameSchema, RealmSchema } from './basic-types.js';
import { TicketsSchema } from './ticket.js';
import type { EncKrbCredPart, KrbCred, KrbCredInfo } from './types.js';

/**
 *   KRB-CRED        ::= [APPLICATION 22] SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (22),
 *           tickets         [2] SEQUENCE OF Ticket,
 *           enc-part        [3] EncryptedData -- EncKrbCredPart
 *   }
 */
export const KrbCredSchema = seq(
  'KRB-CRED',
  [
    field('pvno', 0, Int32),
    field('msg-type', 1, Int32, { equals: ApplicationTag.KRB_CRED }),
    field('tickets', 2, TicketsSchema),
    field('enc-part', 3, EncryptedDataSchema),
  ],
  ApplicationTag.KRB_CRED,
);

/**
 *   KrbCredInfo     ::= SEQUENCE {
 *           key             [0] EncryptionKey,
 *           prealm          [1] Realm OPTIONAL,
 *           pname           [2] PrincipalName OPTIONAL,
 *           flags           [3] TicketFlags OPTIONAL,
 *           authtime        [4] KerberosTime OPTIONAL,
 *           starttime       [5] KerberosTime OPTIONAL,
 *           endtime         [6] KerberosTime OPTIONAL,
 *           renew-till      [7] KerberosTime OPTIONAL,
 *           srealm          [8] Realm OPTIONAL,
 *           sname           [9] PrincipalName OPTIONAL,
 *           caddr           [10] HostAddresses OPTIONAL
 *   }
 */
export const KrbCredInfoSchema = seq('KrbCredInfo', [
  field('key', 0, EncryptionKeySchema),
  optional('prealm', 1, RealmSchema),
  optional('pname', 2, PrincipalNameSchema),
  optional('flags', 3, KerberosFlagsSchema),
  optional('authtime', 4, KerberosTimeSchema),
  optional('starttime', 5, KerberosTimeSchema),
  optional('endtime', 6, KerberosTimeSchema),
  optional('renew-till', 7, KerberosTimeSchema),
  optional('srealm', 8, RealmSchema),
  optional('sname', 9, PrincipalNameSchema),
  optional('caddr', 10, HostAddressesSchema),
]);

/**
 *   EncKrbCredPart  ::= [APPLICATION 29] SEQUENCE {
 *           ticket-info     [0] SEQUENCE OF KrbCredInfo,
 *           nonce           [1] UInt32 OPTIONAL,
 *           timestamp       [2] KerberosTime OPTIONAL,
 *           usec            [3] Microseconds OPTIONAL,
 *           s-address       [4] HostAddress OPTIONAL,
 *           r-address       [5] HostAddress OPTIONAL
 *   }
 */
export const EncKrbCredPartSchema = seq(
  'EncKrbCredPart',
  [
    field('ticket-info', 0, seqOf(KrbCredInfoSchema)),
    optional('nonce', 1, Nonce),
    optional('timestamp', 2, KerberosTimeSchema),
    optional('usec', 3, Microseconds),
    optional('s-address', 4, HostAddressSchema),
    optional('r-address', 5, HostAddressSchema),
  ],
  ApplicationTag.EncKrbCredPart,
);

const krbCred = codec<KrbCred>(KrbCredSchema, 'KRB-CRED');
export const encodeKrbCred = krbCred.encode;
export const decodeKrbCred = krbCred.decode;

const encKrbCredPart = codec<EncKrbCredPart>(EncKrbCredPartSchema, 'EncKrbCredPart');
export const encodeEncKrbCredPart = encKrbCredPart.encode;
export const decodeEncKrbCredPart = encKrbCredPart.decode;

const krbCredInfo = codec<KrbCredInfo>(KrbCredInfoSchema, 'KrbCredInfo');
export const encodeKrbCredInfo = krbCredInfo.encode;
export const decodeKrbCredInfo = krbCredInfo.decode;
