/** RFC 4120 §5.4.1 KDC-REQ (AS-REQ, TGS-REQ) and KDC-REQ-BODY. */
import { Int32, KerberosFlagsSchema, KerberosTimeSchema, UInt32, codec, field, optional, seq, seqOf, Nonce } from '../der/index.js';
import { ApplicationTag } from './constants.js';
import { EncryptedDataSchema, HostAddressesSchema, MethodDataSchema, PrincipalNameSchema, RealmSchema } from './basic-types.js';
import { TicketsSchema } from './ticket.js';
import type { AsReq, KdcReqBody, TgsReq } from './types.js';

/**
 *   KDC-REQ-BODY    ::= SEQUENCE {
 *           kdc-options             [0] KDCOptions,
 *           cname                   [1] PrincipalName OPTIONAL
 *                                       -- Used only in AS-REQ --,
 *           realm                   [2] Realm
 *                                       -- Server's realm
 *                                       -- Also client's in AS-REQ --,
 *           sname                   [3] PrincipalName OPTIONAL,
 *           from                    [4] KerberosTime OPTIONAL,
 *           till                    [5] KerberosTime,
 *           rtime                   [6] KerberosTime OPTIONAL,
 *           nonce                   [7] UInt32,
 *           etype                   [8] SEQUENCE OF Int32 -- EncryptionType
 *                                       -- in preference order --,
 *           addresses               [9] HostAddresses OPTIONAL,
 *           enc-authorization-data  [10] EncryptedData OPTIONAL
 *                                       -- AuthorizationData --,
 *           additional-tickets      [11] SEQUENCE OF Ticket OPTIONAL
 *                                          -- NOTE: not empty
 *   }
 */
export const KdcReqBodySchema = seq('KDC-REQ-BODY', [
  field('kdc-options', 0, KerberosFlagsSchema),
  optional('cname', 1, PrincipalNameSchema),
  field('realm', 2, RealmSchema),
  optional('sname', 3, PrincipalNameSchema),
  optional('from', 4, KerberosTimeSchema),
  field('till', 5, KerberosTimeSchema),
  optional('rtime', 6, KerberosTimeSchema),
  field('nonce', 7, Nonce),
  field('etype', 8, seqOf(Int32)),
  optional('addresses', 9, HostAddressesSchema),
  optional('enc-authorization-data', 10, EncryptedDataSchema),
  optional('additional-tickets', 11, TicketsSchema),
]);

/**
 *   AS-REQ          ::= [APPLICATION 10] KDC-REQ
 *   TGS-REQ         ::= [APPLICATION 12] KDC-REQ
 *
 *   KDC-REQ         ::= SEQUENCE {
 *           -- NOTE: first tag is [1], not [0]
 *           pvno            [1] INTEGER (5) ,
 *           msg-type        [2] INTEGER (10 -- AS -- | 12 -- TGS --),
 *           padata          [3] SEQUENCE OF PA-DATA OPTIONAL
 *                               -- NOTE: not empty --,
 *           req-body        [4] KDC-REQ-BODY
 *   }
 *
 * The decoder keeps the req-body bytes as received in `reqBodyBytes`: the
 * TGS-REQ authenticator checksum (RFC 4120 §5.5.1, usage 6) and the FAST
 * checksums cover them.
 */
function kdcReqSchema(name: string, tag: 10 | 12) {
  return seq(
    name,
    [
      field('pvno', 1, Int32),
      field('msg-type', 2, Int32, { equals: tag }),
      optional('padata', 3, MethodDataSchema),
      field('req-body', 4, KdcReqBodySchema, { capture: 'reqBodyBytes' }),
    ],
    tag,
  );
}
export const AsReqSchema = kdcReqSchema('AS-REQ', ApplicationTag.AS_REQ);
export const TgsReqSchema = kdcReqSchema('TGS-REQ', ApplicationTag.TGS_REQ);

const kdcReqBody = codec<KdcReqBody>(KdcReqBodySchema, 'KDC-REQ-BODY');
/** The DER a TGS-REQ authenticator checksum covers, for a body being built. */
export const encodeKdcReqBody = kdcReqBody.encode;
export const decodeKdcReqBody = kdcReqBody.decode;

const asReq = codec<AsReq>(AsReqSchema, 'AS-REQ');
export const encodeAsReq = asReq.encode;
export const decodeAsReq = asReq.decode;

const tgsReq = codec<TgsReq>(TgsReqSchema, 'TGS-REQ');
export const encodeTgsReq = tgsReq.encode;
export const decodeTgsReq = tgsReq.decode;

