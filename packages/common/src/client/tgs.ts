/**
 * The TGS exchange (RFC 4120 §3.3): a service ticket, a renewal or a
 * validation, presented with the TGT in PA-TGS-REQ.
 *
 * The authenticator (usage 7, TGT session key) carries a checksum of the
 * req-body (usage 6, §5.5.1: it binds the body to the TGT) and a fresh
 * subkey; the KDC then encrypts its reply under that subkey with usage 9
 * (§5.4.2), so a stolen TGT session key alone does not read the new session
 * key. We fall back to usage 8 under the session key for KDCs that ignore
 * the subkey.
 */
import type { Credential } from '../ccache/index.js';
import { decryptData, encryptData, makeChecksum, randomKeyFor } from '../crypto/index.js';
import {
  decodeEncKdcRepPart,
  decodeTicket,
  encodeApReq,
  encodeAuthenticator,
  encodeKdcReqBody,
  encodeTgsReq,
  krbErrorFromMessage,
} from '../krb5/index.js';
import { KdcOptions, KeyUsage, MsgType, PaDataType, TicketFlags } from '../krb5/constants.js';
import { principalEquals, principalNameEquals } from '../krb5/principal.js';
import type { EncKdcRepPart, KdcReqBody, KrbErrorMessage, Principal, TgsRep, Ticket } from '../krb5/types.js';
import { makeNonce, requestEnctypes, splitTime, type KdcSender } from './as.js';
import type { Krb5Config } from './config.js';
import { ClientError } from './errors.js';
import { credentialFromReply, decodeReply } from './reply.js';
import { sendToKdc } from './transport.js';

/** MIT's KDC_TKT_COMMON_MASK: FORWARDABLE | PROXIABLE | ALLOW_POSTDATE | RENEWABLE (same bits in both flag sets). */
const KDC_TKT_COMMON_MASK = (TicketFlags.FORWARDABLE | TicketFlags.PROXIABLE | TicketFlags.MAY_POSTDATE | TicketFlags.RENEWABLE) >>> 0;

export interface ServiceTicketOptions {
  config: Krb5Config;
  /** The TGT for the service's realm (from the ccache or an AS exchange). */
  tgt: Credential;
  service: Principal;
  /** Extra KDC options (RENEW, VALIDATE, FORWARDABLE, …). */
  kdcOptions?: number;
  /** Seconds; default: until the TGT ends. */
  lifetime?: number;
  etypes?: number[];
  /** Ask the KDC to canonicalize the name (MIT kvno does). */
  canonicalize?: boolean;
  now?: () => Date;
  /** The KDC clock offset saved in the ccache, in seconds. */
  kdcOffsetSeconds?: number;
  send?: KdcSender;
  trace?: (line: string) => void;
}

export interface ServiceTicket {
  credential: Credential;
  ticket: Ticket;
  encPart: EncKdcRepPart;
}

/** One TGS-REQ/TGS-REP round trip, checked. */
export async function getServiceTicket(opts: ServiceTicketOptions): Promise<ServiceTicket> {
  const { config, tgt, service } = opts;
  const clock = opts.now ?? (() => new Date());
  const now = () => new Date(clock().getTime() + (opts.kdcOffsetSeconds ?? 0) * 1000);
  const send = opts.send ?? ((r: string, req: Uint8Array) => sendToKdc(config, r, req, opts.trace ? { trace: opts.trace } : {}));
  // The KDC to ask is the one of the realm the TGT is for: krbtgt/THAT@OURS.
  const realm = tgt.server.name.nameString[0] === 'krbtgt' ? tgt.server.name.nameString[1] ?? tgt.server.realm : tgt.server.realm;
  const renewOrValidate = ((opts.kdcOptions ?? 0) & (KdcOptions.RENEW | KdcOptions.VALIDATE)) !== 0;

  let kdcOptions = (opts.kdcOptions ?? 0) >>> 0;
  if (opts.canonicalize) kdcOptions |= KdcOptions.CANONICALIZE;
  // MIT asks for what the TGT has of forwardable, proxiable, may-postdate and renewable
  // (KDC_TKT_COMMON_MASK), so a renewal keeps them and a service ticket inherits them.
  kdcOptions |= tgt.ticketFlags & KDC_TKT_COMMON_MASK;
  const till = opts.lifetime ? new Date(Math.min(tgt.endtime.getTime(), now().getTime() + opts.lifetime * 1000)) : renewOrValidate ? tgt.renewTill : tgt.endtime;
  const body: KdcReqBody = {
    kdcOptions: kdcOptions >>> 0,
    realm: service.realm,
    sname: service.name,
    till: new Date(Math.floor(till.getTime() / 1000) * 1000),
    nonce: makeNonce(),
    etype: requestEnctypes(config, 'tgs', opts.etypes),
  };
  if (kdcOptions & KdcOptions.RENEWABLE && tgt.renewTill.getTime() > 0) body.rtime = tgt.renewTill;
  const bodyBytes = encodeKdcReqBody(body);
  const subkey = randomKeyFor(tgt.key.keytype);
  const ts = splitTime(now());
  const authenticator = encodeAuthenticator({
    authenticatorVno: 5,
    crealm: tgt.client.realm,
    cname: tgt.client.name,
    cksum: makeChecksum(tgt.key, KeyUsage.TGS_REQ_AUTH_CKSUM, bodyBytes),
    cusec: ts.usec,
    ctime: ts.time,
    subkey,
  });
  const apReq = encodeApReq({
    pvno: 5,
    msgType: MsgType.AP_REQ,
    apOptions: 0,
    ticket: decodeTicket(tgt.ticket),
    authenticator: encryptData(tgt.key, KeyUsage.TGS_REQ_AUTH, authenticator),
  });
  const request = encodeTgsReq({
    pvno: 5,
    msgType: MsgType.TGS_REQ,
    padata: [{ padataType: PaDataType.PA_TGS_REQ, padataValue: apReq }],
    reqBody: body,
  });
  const reply = decodeReply(await send(realm, request));
  if (reply.msgType === MsgType.KRB_ERROR) throw krbErrorFromMessage(reply as KrbErrorMessage);
  if (reply.msgType !== MsgType.TGS_REP) throw new ClientError('KRB5_KDCREP_MODIFIED', `KDC reply did not match expectations (message type ${reply.msgType})`);
  const rep = reply as TgsRep;
  let plain: Uint8Array;
  try {
    plain = decryptData(subkey, KeyUsage.TGS_REP_ENCPART_SUBKEY, rep.encPart);
  } catch {
    plain = decryptData(tgt.key, KeyUsage.TGS_REP_ENCPART_SESSKEY, rep.encPart);
  }
  const encPart = decodeEncKdcRepPart(plain);
  checkTgsReply(body, tgt, rep, encPart, opts.canonicalize ?? false);
  const credential = credentialFromReply(rep, encPart);
  return { credential, ticket: rep.ticket, encPart };
}

/** RFC 4120 §3.3.4: nonce, client, server and times must match the request. */
export function checkTgsReply(req: KdcReqBody, tgt: Credential, rep: TgsRep, enc: EncKdcRepPart, canonicalize: boolean): void {
  const bad = (why: string) => new ClientError('KRB5_KDCREP_MODIFIED', `KDC reply did not match expectations (${why})`);
  if (enc.nonce !== req.nonce) throw bad('nonce');
  if (!principalEquals({ realm: rep.crealm, name: rep.cname }, tgt.client)) throw bad('client name');
  const isTgs = enc.sname.nameString[0] === 'krbtgt';
  if (!canonicalize && !isTgs && (enc.srealm !== req.realm || !principalNameEquals(enc.sname, req.sname!))) throw bad('server name');
  if (rep.ticket.realm !== enc.srealm || !principalNameEquals(rep.ticket.sname, enc.sname)) throw bad('ticket server');
  if (req.till.getTime() !== 0 && enc.endtime.getTime() > req.till.getTime() && !(req.kdcOptions & KdcOptions.RENEW)) throw bad('end time');
}

/** kinit -R: a renewal of a renewable TGT (RFC 4120 §3.3.3 RENEW). */
export async function renewCredentials(opts: Omit<ServiceTicketOptions, 'service' | 'kdcOptions'>): Promise<ServiceTicket> {
  // Like MIT, ask even when the ticket is not renewable: the KDC's answer (KDC_ERR_BADOPTION) is the message users know.
  const { tgt } = opts;
  return getServiceTicket({ ...opts, service: tgt.server, kdcOptions: KdcOptions.RENEW });
}

/** kinit -v: validation of a postdated (invalid) ticket (RFC 4120 §3.3.3 VALIDATE). */
export async function validateCredentials(opts: Omit<ServiceTicketOptions, 'service' | 'kdcOptions'>): Promise<ServiceTicket> {
  return getServiceTicket({ ...opts, service: opts.tgt.server, kdcOptions: KdcOptions.VALIDATE });
}
