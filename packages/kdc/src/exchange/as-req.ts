/**
 * The AS exchange (RFC 4120 §3.1): gather the principals, check policy and
 * pre-authentication, issue a ticket and the AS-REP.
 */
import { ErrorCode, KdcOptions, KeyUsage, PaDataType, TicketFlags, encodeAsRep, encodeEncAsRepPart, getEnctype } from '@kpop/common';
import type { AsRep, AsReq, EncTicketPart } from '@kpop/common';
import type { KdcContext, RequestInfo } from './context.js';
import { chooseReplyKey, chooseSessionEtype, ticketKey } from './keys.js';
import { beginExchange, replyPart, sealTicket } from './issue.js';
import { asTicketPolicy } from './policy.js';
import { newSessionKey } from './session-key.js';
import { etypeInfo2PaData, findPaData, preauthMethodData, verifyEncTimestamp } from './preauth.js';
import { checkClient, checkServer, isChangePw, isLocalTgs } from './principal-checks.js';
import { KdcFailure, Status, fail } from './status.js';

const EMPTY = new Uint8Array(0);

export function processAsReq(ctx: KdcContext, info: RequestInfo, req: AsReq): Uint8Array {
  const body = req.reqBody;
  // The client's name first: even a refusal of the version echoes it.
  if (body.cname) info.cname = body.cname;
  info.crealm = body.realm;
  beginExchange(info, req, 'AS_REQ');

  // Gather.
  const store = ctx.store;
  const settings = store.settings();
  const now = info.now;
  if (!body.cname) fail(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, Status.C_PRINCIPAL_UNKNOWN, 'no cname');
  if (!body.sname) fail(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, Status.S_PRINCIPAL_UNKNOWN, 'no sname');
  const client = body.realm === store.realm ? store.lookup(body.cname.nameString) : undefined;
  if (!client) return fail(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, Status.C_PRINCIPAL_UNKNOWN);
  const server = store.lookup(body.sname.nameString);
  if (!server) return fail(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, Status.S_PRINCIPAL_UNKNOWN);

  // Check.
  const serverIsTgs = isLocalTgs(body.sname.nameString, store.realm);
  checkClient(client, now, { checkPassword: !isChangePw(body.sname.nameString) });
  checkServer(server, now, serverIsTgs);
  const permitted = ctx.enctypes;
  let replyKey = chooseReplyKey(client, body.etype, permitted);
  const sessionEtype = chooseSessionEtype(server, body.etype, permitted);
  const methodData = (): Uint8Array => preauthMethodData(client, body.etype, permitted);

  let preauthenticated = false;
  const encTs = findPaData(req.padata, PaDataType.PA_ENC_TIMESTAMP);
  if (encTs) {
    try {
      replyKey = verifyEncTimestamp(encTs, client, permitted, now, settings.clockSkew, methodData);
    } catch (e) {
      if (e instanceof KdcFailure && e.status === Status.PREAUTH_FAILED) store.recordFailure(client.canonicalName, now);
      throw e;
    }
    preauthenticated = true;
  } else if (client.attributes.requiresPreauth) {
    // Only the client's flag counts here: on a service (krbtgt included) MIT
    // reads requires_preauth as a TGS-side rule about the presented ticket.
    throw new KdcFailure(ErrorCode.KDC_ERR_PREAUTH_REQUIRED, Status.PREAUTH_REQUIRED, { eData: methodData() });
  }
  const policy = asTicketPolicy(body, client, server, settings, now);
  const flags = (preauthenticated ? policy.flags | TicketFlags.PRE_AUTHENT : policy.flags) >>> 0;
  const { starttime, endtime, renewTill } = policy.times;

  // Issue.
  const session = newSessionKey(sessionEtype);
  const tkey = ticketKey(server, permitted);
  const cname = (body.kdcOptions & KdcOptions.CANONICALIZE ? client.principal.name : body.cname);
  const sname = (body.kdcOptions & KdcOptions.CANONICALIZE ? server.principal.name : body.sname);
  const etp: EncTicketPart = {
    flags,
    key: session,
    crealm: store.realm,
    cname,
    transited: { trType: 1, contents: EMPTY },
    authtime: now,
    endtime,
  };
  // RFC 4120 §5.3: starttime may be omitted when it equals authtime (MIT does).
  if (starttime.getTime() !== now.getTime()) etp.starttime = starttime;
  if (renewTill) etp.renewTill = renewTill;
  if (body.addresses && body.addresses.length) etp.caddr = body.addresses;
  const ticket = sealTicket(store.realm, sname, tkey, etp);
  const part = replyPart(etp, body.nonce, store.realm, sname);
  if (client.pwExpiresAt) part.keyExpiration = client.pwExpiresAt;
  // The reply enc-part travels as EncASRepPart [APPLICATION 25] (RFC 4120 §5.4.2).
  const rep: AsRep = {
    pvno: 5,
    msgType: 11,
    padata: [etypeInfo2PaData([replyKey])],
    crealm: store.realm,
    cname,
    ticket,
    encPart: { etype: replyKey.etype, cipher: getEnctype(replyKey.etype).encrypt(replyKey.key, KeyUsage.AS_REP_ENCPART, encodeEncAsRepPart(part)) },
  };
  if (preauthenticated) store.recordSuccess(client.canonicalName, now);
  info.replyEtype = replyKey.etype;
  info.ticketEtype = tkey.etype;
  info.sessionEtype = sessionEtype;
  info.authtime = now;
  return encodeAsRep(rep);
}
