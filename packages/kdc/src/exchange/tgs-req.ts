/**
 * The TGS exchange (RFC 4120 §3.3): verify the PA-TGS-REQ AP-REQ (ticket,
 * authenticator, req-body checksum), then issue a service ticket whose flags
 * and times are bounded by the presented ticket's.
 */
import {
  ChecksumType,
  ErrorCode,
  KdcOptions,
  KeyUsage,
  KrbError,
  PaDataType,
  TicketFlags,
  decodeApReq,
  decodeAuthenticator,
  decodeAuthorizationData,
  decodeEncTicketPart,
  encodeEncTgsRepPart,
  encodeTgsRep,
  getEnctype,
  principalNameEquals,
} from '@kpop/common';
import type { ApReq, Authenticator, AuthorizationData, EncTicketPart, EncryptionKey, TgsRep, TgsReq } from '@kpop/common';
import type { KdcContext, RequestInfo } from './context.js';
import { chooseSessionEtype, keyByVersion, ticketKey } from './keys.js';
import { beginExchange, replyPart, sealTicket } from './issue.js';
import { tgsTicketPolicy } from './policy.js';
import { newSessionKey } from './session-key.js';
import { cachedTicket, rememberTicket } from './ticket-cache.js';
import { findPaData } from './preauth.js';
import { checkClient, checkServer, isLocalTgs } from './principal-checks.js';
import { Status, fail, statusForCode } from './status.js';

/** Keyed, collision-proof checksums (RFC 4120 §7.2.2 / MIT: no CRC32 or plain MD5 on a TGS-REQ). */
const KEYED_CHECKSUMS: ReadonlySet<number> = new Set([
  ChecksumType.HMAC_SHA1_96_AES128,
  ChecksumType.HMAC_SHA1_96_AES256,
  ChecksumType.HMAC_SHA256_128_AES128,
  ChecksumType.HMAC_SHA384_192_AES256,
]);

function decryptOr(status: typeof Status.BAD_INTEGRITY, key: EncryptionKey | { etype: number; key: Uint8Array }, usage: number, cipher: Uint8Array, what: string): Uint8Array {
  const etype = 'keytype' in key ? key.keytype : key.etype;
  const bytes = 'keytype' in key ? key.keyvalue : key.key;
  try {
    return getEnctype(etype).decrypt(bytes, usage, cipher);
  } catch (e) {
    const code = e instanceof KrbError ? e.code : ErrorCode.KRB_AP_ERR_BAD_INTEGRITY;
    return fail(code, e instanceof KrbError ? statusForCode(code) : status, `${what} does not decrypt`);
  }
}

function decodeOr<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decode(bytes);
  } catch {
    return fail(ErrorCode.KRB_ERR_GENERIC, Status.GENERIC, `malformed ${what}`);
  }
}

interface VerifiedTgsReq {
  apReq: ApReq;
  tgt: EncTicketPart;
  auth: Authenticator;
  replyKey: EncryptionKey;
  replyUsage: number;
}

/** RFC 4120 §3.3.2 / §3.2.3: the AP-REQ in PA-TGS-REQ, checked step by step. */
function verifyApReq(ctx: KdcContext, info: RequestInfo, req: TgsReq): VerifiedTgsReq {
  const store = ctx.store;
  const skewMs = store.settings().clockSkew * 1000;
  const now = info.now.getTime();
  const opts = req.reqBody.kdcOptions;
  const pa = findPaData(req.padata, PaDataType.PA_TGS_REQ);
  if (!pa) return fail(ErrorCode.KDC_ERR_PADATA_TYPE_NOSUPP, Status.PADATA_NOSUPP, 'no PA-TGS-REQ');
  const apReq = decodeOr(decodeApReq, pa.padataValue, 'AP-REQ');
  if (apReq.pvno !== 5) fail(ErrorCode.KRB_AP_ERR_BADVERSION, Status.BAD_PVNO);
  const ticket = apReq.ticket;
  if (ticket.realm !== store.realm) fail(ErrorCode.KRB_AP_ERR_NOT_US, Status.NOT_US, 'ticket from another realm');
  // The header ticket is a TGT, or, to renew or validate it, the ticket itself.
  const headerIsTgs = isLocalTgs(ticket.sname.nameString, store.realm);
  if (!headerIsTgs && !(opts & (KdcOptions.RENEW | KdcOptions.VALIDATE))) fail(ErrorCode.KRB_AP_ERR_NOT_US, Status.NOT_US, 'header ticket is not a TGT');
  const issuer = store.lookup(ticket.sname.nameString);
  if (!issuer) return fail(ErrorCode.KRB_AP_ERR_NOT_US, Status.NOT_US, 'header ticket service unknown');
  const tkey = keyByVersion(issuer, ticket.encPart.etype, ticket.encPart.kvno);
  if (!tkey) return fail(ErrorCode.KRB_AP_ERR_BADKEYVER, Status.BADKEYVER, 'no key for the ticket kvno/enctype');
  let tgt = cachedTicket(tkey, ticket.encPart.cipher);
  if (!tgt) {
    const opened = decodeOr(decodeEncTicketPart, decryptOr(Status.BAD_INTEGRITY, tkey, KeyUsage.KDC_REP_TICKET, ticket.encPart.cipher, 'ticket'), 'EncTicketPart');
    tgt = rememberTicket(tkey, ticket.encPart.cipher, opened);
  }
  info.cname = tgt.cname;
  info.crealm = tgt.crealm;
  if (apReq.authenticator.etype !== tgt.key.keytype) fail(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, Status.BAD_INTEGRITY, 'authenticator enctype differs from the session key');
  const auth = decodeOr(decodeAuthenticator, decryptOr(Status.BAD_INTEGRITY, tgt.key, KeyUsage.TGS_REQ_AUTH, apReq.authenticator.cipher, 'authenticator'), 'Authenticator');
  if (auth.crealm !== tgt.crealm || !principalNameEquals(auth.cname, tgt.cname)) fail(ErrorCode.KRB_AP_ERR_BADMATCH, Status.BADMATCH, 'authenticator names another client');
  if (Math.abs(auth.ctime.getTime() - now) > skewMs) fail(ErrorCode.KRB_AP_ERR_SKEW, Status.SKEW, 'authenticator outside the clock skew');
  const start = (tgt.starttime ?? tgt.authtime).getTime();
  if (!(opts & KdcOptions.VALIDATE)) {
    if (start > now + skewMs || tgt.flags & TicketFlags.INVALID) fail(ErrorCode.KRB_AP_ERR_TKT_NYV, Status.TKT_NYV, 'ticket not yet valid');
  }
  if (tgt.endtime.getTime() < now - skewMs) fail(ErrorCode.KRB_AP_ERR_TKT_EXPIRED, Status.TKT_EXPIRED, 'ticket expired');

  // RFC 4120 §7.2.2 / §5.5.1: the authenticator checksum covers req-body as sent.
  const ck = auth.cksum;
  if (!ck || !KEYED_CHECKSUMS.has(ck.cksumtype)) return fail(ErrorCode.KRB_AP_ERR_INAPP_CKSUM, Status.INAPP_CKSUM, 'missing or unkeyed req-body checksum');
  if (!req.reqBodyBytes) return fail(ErrorCode.KRB_ERR_GENERIC, Status.GENERIC, 'req-body bytes not kept');
  let ok = false;
  try {
    const et = getEnctype(tgt.key.keytype);
    ok = et.checksumType === ck.cksumtype && et.verifyChecksum(tgt.key.keyvalue, KeyUsage.TGS_REQ_AUTH_CKSUM, req.reqBodyBytes, ck.checksum);
  } catch {
    ok = false;
  }
  if (!ok) fail(ErrorCode.KRB_AP_ERR_MODIFIED, Status.MODIFIED, 'req-body checksum does not verify');

  // RFC 4120 §3.3.3: the reply is sealed in the subkey if one was sent.
  if (auth.subkey) return { apReq, tgt, auth, replyKey: auth.subkey, replyUsage: KeyUsage.TGS_REP_ENCPART_SUBKEY };
  return { apReq, tgt, auth, replyKey: tgt.key, replyUsage: KeyUsage.TGS_REP_ENCPART_SESSKEY };
}

/** RFC 4120 §5.4.1 enc-authorization-data: sealed in the subkey (usage 5) or session key (usage 4). */
function requestAuthData(req: TgsReq, v: VerifiedTgsReq): AuthorizationData {
  const enc = req.reqBody.encAuthorizationData;
  if (!enc) return [];
  const key = v.auth.subkey ?? v.tgt.key;
  const usage = v.auth.subkey ? KeyUsage.TGS_REQ_AD_SUBKEY : KeyUsage.TGS_REQ_AD_SESSKEY;
  if (enc.etype !== key.keytype) fail(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, Status.BAD_INTEGRITY, 'enc-authorization-data enctype');
  return decodeOr(decodeAuthorizationData, decryptOr(Status.BAD_INTEGRITY, key, usage, enc.cipher, 'enc-authorization-data'), 'AuthorizationData');
}

export function processTgsReq(ctx: KdcContext, info: RequestInfo, req: TgsReq): Uint8Array {
  const body = req.reqBody;
  beginExchange(info, req, 'TGS_REQ');
  const store = ctx.store;
  const settings = store.settings();
  const now = info.now;
  const opts = body.kdcOptions;

  // Gather and check.
  const v = verifyApReq(ctx, info, req);
  const { tgt, apReq } = v;
  if (tgt.crealm === store.realm) {
    const client = store.lookup(tgt.cname.nameString);
    // A client deleted since its TGT was issued may keep using it (MIT); one disabled may not.
    if (client) checkClient(client, now, { checkPassword: false });
  }
  if (!body.sname || body.realm !== store.realm) return fail(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, Status.S_PRINCIPAL_UNKNOWN, 'no sname or another realm');
  const server = store.lookup(body.sname.nameString);
  if (!server) return fail(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, Status.S_PRINCIPAL_UNKNOWN);
  const reissue = !!(opts & (KdcOptions.RENEW | KdcOptions.VALIDATE));
  if (reissue && !principalNameEquals(body.sname, apReq.ticket.sname)) fail(ErrorCode.KDC_ERR_SERVER_NOMATCH, Status.BADMATCH, 'renew/validate for another service');
  const serverIsTgs = isLocalTgs(body.sname.nameString, store.realm);
  checkServer(server, now, serverIsTgs);
  const { flags, times } = tgsTicketPolicy({ body, tgt, serverIsTgs, server, settings, now });
  const permitted = ctx.enctypes;
  const sessionEtype = chooseSessionEtype(server, body.etype, permitted);
  const tkey = ticketKey(server, permitted);
  const extraAd = requestAuthData(req, v);

  // Issue.
  const session = newSessionKey(sessionEtype);
  const sname = opts & KdcOptions.CANONICALIZE ? server.principal.name : body.sname;
  const etp: EncTicketPart = {
    flags,
    key: session,
    crealm: tgt.crealm,
    cname: tgt.cname,
    transited: tgt.transited,
    authtime: tgt.authtime,
    endtime: times.endtime,
  };
  if (times.starttime.getTime() !== tgt.authtime.getTime()) etp.starttime = times.starttime;
  if (times.renewTill) etp.renewTill = times.renewTill;
  // RFC 4120 §2.6: FORWARDED/PROXY tickets carry the addresses asked for.
  const caddr = opts & (KdcOptions.FORWARDED | KdcOptions.PROXY) ? body.addresses : tgt.caddr;
  if (caddr && caddr.length) etp.caddr = caddr;
  const ad = [...(tgt.authorizationData ?? []), ...extraAd];
  if (ad.length) etp.authorizationData = ad;
  const ticket = sealTicket(store.realm, sname, tkey, etp);
  const part = replyPart(etp, body.nonce, store.realm, sname);
  const rep: TgsRep = {
    pvno: 5,
    msgType: 13,
    crealm: tgt.crealm,
    cname: tgt.cname,
    ticket,
    encPart: { etype: v.replyKey.keytype, cipher: getEnctype(v.replyKey.keytype).encrypt(v.replyKey.keyvalue, v.replyUsage, encodeEncTgsRepPart(part)) },
  };
  info.replyEtype = v.replyKey.keytype;
  info.ticketEtype = tkey.etype;
  info.sessionEtype = sessionEtype;
  info.authtime = tgt.authtime;
  return encodeTgsRep(rep);
}
