/** RFC 4120 §5.3 Ticket and EncTicketPart. */
import { Int32, KerberosFlagsSchema, KerberosTimeSchema, codec, field, optional, seq, seqOf } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import {
  AuthorizationDataSchema,
  EncryptedDataSchema,
  EncryptionKeySchema,
  HostAddressesSchema,
  PrincipalNameSchema,
  RealmSchema,
  TransitedEncodingSchema,
} from './basic-types.js';
import type { EncTicketPart, Ticket } from './types.js';

/**
 *   Ticket          ::= [APPLICATION 1] SEQUENCE {
 *           tkt-vno         [0] INTEGER (5),
 *           realm           [1] Realm,
 *           sname           [2] PrincipalName,
 *           enc-part        [3] EncryptedData -- EncTicketPart
 *   }
 */
export const TicketSchema = seq(
  'Ticket',
  [field('tkt-vno', 0, Int32), field('realm', 1, RealmSchema), field('sname', 2, PrincipalNameSchema), field('enc-part', 3, EncryptedDataSchema)],
  ApplicationTag.Ticket,
);
export const TicketsSchema = seqOf(TicketSchema);

/**
 *   -- Encrypted part of ticket
 *   EncTicketPart   ::= [APPLICATION 3] SEQUENCE {
 *           flags                   [0] TicketFlags,
 *           key                     [1] EncryptionKey,
 *           crealm                  [2] Realm,
 *           cname                   [3] PrincipalName,
 *           transited               [4] TransitedEncoding,
 *           authtime                [5] KerberosTime,
 *           starttime               [6] KerberosTime OPTIONAL,
 *           endtime                 [7] KerberosTime,
 *           renew-till              [8] KerberosTime OPTIONAL,
 *           caddr                   [9] HostAddresses OPTIONAL,
 *           authorization-data      [10] AuthorizationData OPTIONAL
 *   }
 */
export const EncTicketPartSchema = seq(
  'EncTicketPart',
  [
    field('flags', 0, KerberosFlagsSchema),
    field('key', 1, EncryptionKeySchema),
    field('crealm', 2, RealmSchema),
    field('cname', 3, PrincipalNameSchema),
    field('transited', 4, TransitedEncodingSchema),
    field('authtime', 5, KerberosTimeSchema),
    optional('starttime', 6, KerberosTimeSchema),
    field('endtime', 7, KerberosTimeSchema),
    optional('renew-till', 8, KerberosTimeSchema),
    optional('caddr', 9, HostAddressesSchema),
    optional('authorization-data', 10, AuthorizationDataSchema),
  ],
  ApplicationTag.EncTicketPart,
);

const ticket = codec<Ticket>(TicketSchema, 'Ticket');
export const encodeTicket = ticket.encode;
export const decodeTicket = ticket.decode;

const encTicketPart = codec<EncTicketPart>(EncTicketPartSchema, 'EncTicketPart');
export const encodeEncTicketPart = encTicketPart.encode;
export const decodeEncTicketPart = encTicketPart.decode;
