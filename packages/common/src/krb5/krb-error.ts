/** RFC 4120 §5.9.1 KRB_ERROR, and its conversion to and from KrbError. */
import { Int32, KerberosStringSchema, KerberosTimeSchema, Microseconds, OctetString, codec, field, optional, seq } from '../der/index.js';
import { ApplicationTag, PVNO } from './constants.js';
import { PrincipalNameSchema, RealmSchema } from './basic-types.js';
import { KrbError } from './errors.js';
import type { KrbErrorMessage, PrincipalName } from './types.js';

/**
 *   KRB-ERROR       ::= [APPLICATION 30] SEQUENCE {
 *           pvno            [0] INTEGER (5),
 *           msg-type        [1] INTEGER (30),
 *           ctime           [2] KerberosTime OPTIONAL,
 *           cusec           [3] Microseconds OPTIONAL,
 *           stime           [4] KerberosTime,
 *           susec           [5] Microseconds,
 *           error-code      [6] Int32,
 *           crealm          [7] Realm OPTIONAL,
 *           cname           [8] PrincipalName OPTIONAL,
 *           realm           [9] Realm -- service realm --,
 *           sname           [10] PrincipalName -- service name --,
 *           e-text          [11] KerberosString OPTIONAL,
 *           e-data          [12] OCTET STRING OPTIONAL
 *   }
 */
export const KrbErrorSchema = seq(
  'KRB-ERROR',
  [
    field('pvno', 0, Int32),
    field('msg-type', 1, Int32, { equals: ApplicationTag.KRB_ERROR }),
    optional('ctime', 2, KerberosTimeSchema),
    optional('cusec', 3, Microseconds),
    field('stime', 4, KerberosTimeSchema),
    field('susec', 5, Microseconds),
    field('error-code', 6, Int32),
    optional('crealm', 7, RealmSchema),
    optional('cname', 8, PrincipalNameSchema),
    field('realm', 9, RealmSchema),
    field('sname', 10, PrincipalNameSchema),
    optional('e-text', 11, KerberosStringSchema),
    optional('e-data', 12, OctetString),
  ],
  ApplicationTag.KRB_ERROR,
);

const krbError = codec<KrbErrorMessage>(KrbErrorSchema, 'KRB-ERROR');
export const encodeKrbErrorMessage = krbError.encode;
export const decodeKrbErrorMessage = krbError.decode;

/** A received KRB-ERROR as a KrbError to throw: code, e-text, e-data and the server's clock. */
export function krbErrorFromMessage(m: KrbErrorMessage): KrbError {
  return new KrbError(m.errorCode, undefined, {
    ...(m.eText !== undefined ? { eText: m.eText } : {}),
    ...(m.eData !== undefined ? { eData: m.eData } : {}),
    serverTime: new Date(m.stime.getTime() + Math.floor(m.susec / 1000)),
  });
}

export interface KrbErrorFields {
  /** The realm and name of the service answering (the KDC: krbtgt/REALM). */
  realm: string;
  sname: PrincipalName;
  stime: Date;
  susec: number;
  crealm?: string;
  cname?: PrincipalName;
  ctime?: Date;
  cusec?: number;
}

/**
 * The KRB-ERROR message that reports `e`. Only the error's eText goes on
 * the wire (never its message, which may hold local detail), as MIT's KDC
 * sends its short status token there (e.g. "NEEDED_PREAUTH").
 */
export function krbErrorToMessage(e: KrbError, f: KrbErrorFields): KrbErrorMessage {
  const m: KrbErrorMessage = { pvno: PVNO, msgType: 30, stime: f.stime, susec: f.susec, errorCode: e.code, realm: f.realm, sname: f.sname };
  if (f.ctime !== undefined) m.ctime = f.ctime;
  if (f.cusec !== undefined) m.cusec = f.cusec;
  if (f.crealm !== undefined) m.crealm = f.crealm;
  if (f.cname !== undefined) m.cname = f.cname;
  if (e.eText !== undefined) m.eText = e.eText;
  if (e.eData !== undefined) m.eData = e.eData;
  return m;
}
