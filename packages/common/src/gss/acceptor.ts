/**
 * The AP-REQ acceptor (RFC 4120 §3.2.3), shared by KPOP's sendauth and the
 * GSS-API krb5 mechanism (RFC 4121 §4.1): find the service key in a keytab,
 * decrypt the ticket (usage 2) and the authenticator (usage 11), check that
 * they name the same client, the clock skew, the replay cache and the ticket
 * times, and build the AP-REP (usage 12) when mutual authentication is asked.
 * The order of the checks follows MIT's krb5_rd_req_decoded.
 */
import { decryptData, encryptData } from '../crypto/index.js';
import {
  ApOptions,
  decodeApReq,
  decodeAuthenticator,
  decodeEncTicketPart,
  encodeApRep,
  encodeEncApRepPart,
  ErrorCode,
  formatPrincipal,
  KeyUsage,
  KrbError,
  principalEquals,
  TicketFlags,
  type ApReq,
  type Authenticator,
  type EncTicketPart,
  type EncryptionKey,
  type Principal,
} from '../krb5/index.js';
import type { Keytab, KeytabEntry } from '../keytab/index.js';
import { replayTag, type ReplayCache } from './replay-cache.js';

export interface AcceptApReqOptions {
  keytab: Keytab;
  /** Which server principals this acceptor serves (e.g. any pop/*); default: any in the keytab. */
  acceptService?: (server: Principal) => boolean;
  replayCache?: ReplayCache;
  /** Default: the current time. */
  now?: Date;
  /** Allowed clock skew in seconds; MIT's default is 300. */
  clockSkew?: number;
}

export interface AcceptedApReq {
  apReq: ApReq;
  ticket: EncTicketPart;
  authenticator: Authenticator;
  client: Principal;
  server: Principal;
  sessionKey: EncryptionKey;
  /** ap-options mutual-required (RFC 4120 §5.5.1): the client wants an AP-REP. */
  mutualRequired: boolean;
  keytabEntry: KeytabEntry;
}

function fail(code: number, message: string, cause?: unknown): never {
  throw new KrbError(code, message, cause !== undefined ? { cause } : {});
}

/** The keytab key for the ticket: by server principal (no name type), kvno and enctype. */
function findServiceKey(keytab: Keytab, server: Principal, etype: number, kvno: number | undefined): KeytabEntry {
  const forServer = keytab.entries.filter((e) => principalEquals(e.principal, server));
  const name = formatPrincipal(server);
  if (forServer.length === 0) fail(ErrorCode.KRB_AP_ERR_NOT_US, `No key for ${name} in the keytab`);
  let candidates = forServer;
  if (kvno !== undefined) {
    // Keytabs written by old tools hold only the low 8 bits of the kvno.
    candidates = forServer.filter((e) => e.kvno === kvno || (e.kvno < 256 && e.kvno === (kvno & 0xff)));
    if (candidates.length === 0) fail(ErrorCode.KRB_AP_ERR_BADKEYVER, `No key for ${name} with kvno ${kvno} in the keytab`);
  }
  const withEtype = candidates.filter((e) => e.key.keytype === etype).sort((a, b) => b.kvno - a.kvno);
  if (withEtype.length === 0) fail(ErrorCode.KRB_AP_ERR_NOKEY, `No key for ${name} with enctype ${etype} in the keytab`);
  return withEtype[0]!;
}

export function acceptApReq(bytes: Uint8Array, opts: AcceptApReqOptions): AcceptedApReq {
  let apReq: ApReq;
  try {
    apReq = decodeApReq(bytes);
  } catch (e) {
    if (e instanceof KrbError) throw e;
    fail(ErrorCode.KRB_AP_ERR_MSG_TYPE, `Malformed AP-REQ: ${(e as Error).message}`, e);
  }
  if (apReq.pvno !== 5) fail(ErrorCode.KRB_AP_ERR_BADVERSION, `AP-REQ pvno ${apReq.pvno}`);
  const server: Principal = { realm: apReq.ticket.realm, name: apReq.ticket.sname };
  if (opts.acceptService && !opts.acceptService(server)) {
    fail(ErrorCode.KRB_AP_ERR_NOT_US, `Ticket is for ${formatPrincipal(server)}, not for this service`);
  }
  if (apReq.apOptions & ApOptions.USE_SESSION_KEY) fail(ErrorCode.KRB_AP_ERR_METHOD, 'User-to-user tickets are not accepted');
  const entry = findServiceKey(opts.keytab, server, apReq.ticket.encPart.etype, apReq.ticket.encPart.kvno);

  let ticket: EncTicketPart;
  try {
    ticket = decodeEncTicketPart(decryptData(entry.key, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart));
  } catch (e) {
    if (e instanceof KrbError) throw e;
    fail(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, `Ticket does not decode: ${(e as Error).message}`, e);
  }
  let authenticator: Authenticator;
  try {
    authenticator = decodeAuthenticator(decryptData(ticket.key, KeyUsage.AP_REQ_AUTH, apReq.authenticator));
  } catch (e) {
    if (e instanceof KrbError) throw e;
    fail(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, `Authenticator does not decode: ${(e as Error).message}`, e);
  }
  const client: Principal = { realm: ticket.crealm, name: ticket.cname };
  if (!principalEquals(client, { realm: authenticator.crealm, name: authenticator.cname })) {
    fail(ErrorCode.KRB_AP_ERR_BADMATCH, 'Ticket and authenticator name different clients');
  }

  const now = (opts.now ?? new Date()).getTime();
  const skewMs = (opts.clockSkew ?? 300) * 1000;
  const ctimeMs = authenticator.ctime.getTime() + Math.floor(authenticator.cusec / 1000);
  if (Math.abs(ctimeMs - now) > skewMs) fail(ErrorCode.KRB_AP_ERR_SKEW, 'Clock skew too great');
  const start = (ticket.starttime ?? ticket.authtime).getTime();
  if (start - skewMs > now || ticket.flags & TicketFlags.INVALID) fail(ErrorCode.KRB_AP_ERR_TKT_NYV, 'Ticket not yet valid');
  if (ticket.endtime.getTime() + skewMs < now) fail(ErrorCode.KRB_AP_ERR_TKT_EXPIRED, 'Ticket expired');

  if (opts.replayCache) {
    // Keyed on the authenticator ciphertext alone, as MIT 1.18+ (see
    // replay-cache.ts): two genuine authenticators with the same client and
    // timestamp are both accepted; the same bytes again are a replay. Kept
    // until the skew check alone would refuse them.
    const expires = ctimeMs + skewMs + 1000;
    if (!opts.replayCache.checkAndStore(replayTag(apReq.authenticator.cipher), expires, now)) fail(ErrorCode.KRB_AP_ERR_REPEAT, 'Request is a replay');
  }

  return {
    apReq,
    ticket,
    authenticator,
    client,
    server,
    sessionKey: ticket.key,
    mutualRequired: (apReq.apOptions & ApOptions.MUTUAL_REQUIRED) !== 0,
    keytabEntry: entry,
  };
}

/**
 * The AP-REP (RFC 4120 §5.5.2): ctime and cusec copied from the
 * authenticator (the client checks them), optional subkey and seq-number,
 * encrypted with the ticket session key, usage 12.
 */
export function makeApRep(accepted: AcceptedApReq, extra: { subkey?: EncryptionKey; seqNumber?: number } = {}): Uint8Array {
  const part = encodeEncApRepPart({
    ctime: accepted.authenticator.ctime,
    cusec: accepted.authenticator.cusec,
    ...(extra.subkey ? { subkey: extra.subkey } : {}),
    ...(extra.seqNumber !== undefined ? { seqNumber: extra.seqNumber } : {}),
  });
  return encodeApRep({ pvno: 5, msgType: 15, encPart: encryptData(accepted.sessionKey, KeyUsage.AP_REP_ENCPART, part) });
}
