/**
 * The client half of the RFC 4120 §3.2 AP exchange: an AP-REQ from a
 * ticket in the ccache, and the check of the server's AP-REP (§3.2.5: the
 * EncAPRepPart, decrypted with the session key under usage 12, must echo the
 * authenticator's ctime and cusec, which proves the server holds the
 * service key).
 */
import { randomInt } from 'node:crypto';
import {
  ApOptions,
  decodeApRep,
  decodeEncApRepPart,
  decodeMessage,
  decryptData,
  encodeApReq,
  encodeAuthenticator,
  encryptData,
  krbErrorFromMessage,
  KeyUsage,
  decodeTicket,
  type Authenticator,
  type Checksum,
  type Credential,
  type EncApRepPart,
  type EncryptionKey,
} from '@kpop/common';
import { FetchError } from './errors.js';

export interface ApReqOptions {
  mutual: boolean;
  /** Authenticator checksum (the GSS 0x8003 one for GSSAPI; none for sendauth, as MIT's krb5_sendauth without in_data). */
  cksum?: Checksum;
  subkey?: EncryptionKey;
  seqNumber?: number;
  /** The KDC's clock offset stored in the ccache, seconds. */
  kdcOffsetSeconds?: number;
  now?: () => Date;
}

export interface BuiltApReq {
  bytes: Uint8Array;
  authenticator: Authenticator;
}

export function buildApReq(cred: Credential, o: ApReqOptions): BuiltApReq {
  const nowMs = (o.now ?? (() => new Date()))().getTime() + (o.kdcOffsetSeconds ?? 0) * 1000;
  // KerberosTime has whole seconds (§5.2.3); cusec carries the microseconds.
  const ctime = new Date(Math.floor(nowMs / 1000) * 1000);
  const cusec = (nowMs % 1000) * 1000 + randomInt(1000);
  const authenticator: Authenticator = {
    authenticatorVno: 5,
    crealm: cred.client.realm,
    cname: cred.client.name,
    cusec,
    ctime,
    ...(o.cksum ? { cksum: o.cksum } : {}),
    ...(o.subkey ? { subkey: o.subkey } : {}),
    ...(o.seqNumber !== undefined ? { seqNumber: o.seqNumber } : {}),
  };
  const bytes = encodeApReq({
    pvno: 5,
    msgType: 14,
    apOptions: o.mutual ? ApOptions.MUTUAL_REQUIRED : 0,
    ticket: decodeTicket(cred.ticket),
    authenticator: encryptData(cred.key, KeyUsage.AP_REQ_AUTH, encodeAuthenticator(authenticator)),
  });
  return { bytes, authenticator };
}

/** Opens and checks an AP-REP; a KRB-ERROR in its place becomes a FetchError with the server's reason. */
export function verifyApRep(bytes: Uint8Array, sessionKey: EncryptionKey, sent: Authenticator, server: string): EncApRepPart {
  if (bytes[0] === 0x7e) throw serverKrbError(bytes, server);
  let part: EncApRepPart;
  try {
    part = decodeEncApRepPart(decryptData(sessionKey, KeyUsage.AP_REP_ENCPART, decodeApRep(bytes).encPart));
  } catch (e) {
    throw new FetchError('auth', `${server} sent an AP-REP that does not open with our session key (${(e as Error).message}): it is not the server the ticket is for`, { cause: e });
  }
  if (part.ctime.getTime() !== sent.ctime.getTime() || part.cusec !== sent.cusec) {
    throw new FetchError('auth', `${server} sent an AP-REP whose time does not match our authenticator: mutual authentication failed`);
  }
  return part;
}

/** A KRB-ERROR from the server as one line (the RFC 4120 code name and the e-text). */
export function serverKrbError(bytes: Uint8Array, server: string): FetchError {
  try {
    const m = decodeMessage(bytes);
    if (m.msgType === 30) {
      const e = krbErrorFromMessage(m);
      return new FetchError('auth', `${server} rejected our ticket: ${e.message}${hintFor(e.code)}`, { cause: e });
    }
  } catch {
    // Fall through: not even a KRB-ERROR.
  }
  return new FetchError('protocol', `${server} sent an unreadable Kerberos message`);
}

function hintFor(code: number): string {
  switch (code) {
    case 37:
      return ' (clocks differ by more than 5 minutes: fix the clock)';
    case 32:
      return ' (run kinit again)';
    case 44:
    case 45:
    case 31:
      return ' (the server keytab and the KDC disagree: re-export pop/HOST with kdc ktadd, then kdestroy and kinit)';
    case 34:
      return ' (replayed request: try again)';
    default:
      return '';
  }
}
