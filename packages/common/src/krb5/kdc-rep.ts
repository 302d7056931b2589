/** RFC 4120 §5.4.2 KDC-REP (AS-REP, TGS-REP) and EncKDCRepPart. */
import { Int32, KerberosFlagsSchema, KerberosTimeSchema, UInt32, codec, decodeWith, field, optional, seq, Nonce } from '../der/index.js';
import { DerError, tagName } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import {
  EncryptedDataSchema,
  EncryptionKeySchema,
  HostAddressesSchema,
  LastReqSchema,
  MethodDataSchema,
  PrincipalNameSchema,
  RealmSchema,
} from './basic-types.js';
import { TicketSchema } from './ticket.js';
import type { AsRep, EncKdcRepPart, TgsRep } from './types.js';

/**
 *   AS-REP          ::= [APPLICATION 11] KDC-REP
 *   TGS-REP         ::= [APPLICATION 13] KDC-REP
 *
 *   KDC-REP         ::= SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (11 -- AS -- | 13 -- TGS --),
 *           padata          [2] SEQUENCE OF PA-DATA OPTIONAL
 *                                   -- NOTE: not empty --,
 *           crealm          [3] Realm,
 *           cname           [4] PrincipalName,
 *           ticket          [5] Ticket,
 *           enc-part        [6] EncryptedData
 *                                   -- EncASRepPart or EncTGSRepPart,
 *                                   -- as appropriate
 *   }
 */
function kdcRepSchema(name: string, tag: 11 | 13) {
  return seq(
    name,
    [
      field('pvno', 0, Int32),
      field('msg-type', 1, Int32, { equals: tag }),
      optional('padata', 2, MethodDataSchema),
      field('crealm', 3, RealmSchema),
      field('cname', 4, PrincipalNameSchema),
      field('ticket', 5, TicketSchema),
      field('enc-part', 6, EncryptedDataSchema),
    ],
    tag,
  );
}
export const AsRepSchema = kdcRepSchema('AS-REP', ApplicationTag.AS_REP);
export const TgsRepSchema = kdcRepSchema('TGS-REP', ApplicationTag.TGS_REP);

/**
 *   EncASRepPart    ::= [APPLICATION 25] EncKDCRepPart
 *   EncTGSRepPart   ::= [APPLICATION 26] EncKDCRepPart
 *
 *   EncKDCRepPart   ::= SEQUENCE {
 *           key             [0] EncryptionKey,
 *           last-req        [1] LastReq,
 *           nonce           [2] UInt32,
 *           key-expiration  [3] KerberosTime OPTIONAL,
 *           flags           [4] TicketFlags,
 *           authtime        [5] KerberosTime,
 *           starttime       [6] KerberosTime OPTIONAL,
 *           endtime         [7] KerberosTime,
 *           renew-till      [8] KerberosTime OPTIONAL,
 *           srealm          [9] Realm,
 *           sname           [10] PrincipalName,
 *           caddr           [11] HostAddresses OPTIONAL,
 *           encrypted-pa-data [12] SEQUENCE OF PA-DATA OPTIONAL -- RFC 6806 §11
 *   }
 *
 * RFC 4120 §5.4.2 notes that some implementations send EncTGSRepPart in
 * AS replies too; MIT 1.20 does (test/fixtures/mit 04), so the reader takes
 * either tag (decodeEncKdcRepPart).
 */
function encKdcRepPartSchema(name: string, tag: 25 | 26) {
  return seq(
    name,
    [
      field('key', 0, EncryptionKeySchema),
      field('last-req', 1, LastReqSchema),
      field('nonce', 2, Nonce),
      optional('key-expiration', 3, KerberosTimeSchema),
      field('flags', 4, KerberosFlagsSchema),
      field('authtime', 5, KerberosTimeSchema),
      optional('starttime', 6, KerberosTimeSchema),
      field('endtime', 7, KerberosTimeSchema),
      optional('renew-till', 8, KerberosTimeSchema),
      field('srealm', 9, RealmSchema),
      field('sname', 10, PrincipalNameSchema),
      optional('caddr', 11, HostAddressesSchema),
      optional('encrypted-pa-data', 12, MethodDataSchema),
    ],
    tag,
  );
}
export const EncAsRepPartSchema = encKdcRepPartSchema('EncASRepPart', ApplicationTag.EncASRepPart);
export const EncTgsRepPartSchema = encKdcRepPartSchema('EncTGSRepPart', ApplicationTag.EncTGSRepPart);

const asRep = codec<AsRep>(AsRepSchema, 'AS-REP');
export const encodeAsRep = asRep.encode;
export const decodeAsRep = asRep.decode;

const tgsRep = codec<TgsRep>(TgsRepSchema, 'TGS-REP');
export const encodeTgsRep = tgsRep.encode;
export const decodeTgsRep = tgsRep.decode;

const encAsRepPart = codec<EncKdcRepPart>(EncAsRepPartSchema, 'EncASRepPart');
export const encodeEncAsRepPart = encAsRepPart.encode;
export const decodeEncAsRepPart = encAsRepPart.decode;

const encTgsRepPart = codec<EncKdcRepPart>(EncTgsRepPartSchema, 'EncTGSRepPart');
export const encodeEncTgsRepPart = encTgsRepPart.encode;
export const decodeEncTgsRepPart = encTgsRepPart.decode;

/** The decrypted enc-part of an AS-REP or TGS-REP, under either APPLICATION 25 or 26. */
export function decodeEncKdcRepPart(bytes: Uint8Array): EncKdcRepPart {
  if (!(bytes instanceof Uint8Array)) throw new DerError('expected a Uint8Array', 'EncKDCRepPart');
  if (bytes[0] === 0x79) return decodeWith<EncKdcRepPart>(EncAsRepPartSchema, bytes, 'EncASRepPart');
  if (bytes[0] === 0x7a) return decodeWith<EncKdcRepPart>(EncTgsRepPartSchema, bytes, 'EncTGSRepPart');
  throw new DerError(
    bytes.length === 0 ? 'empty input' : `expected [APPLICATION 25] or [APPLICATION 26], found ${tagName(bytes[0]!)}`,
    'EncKDCRepPart',
  );
}
