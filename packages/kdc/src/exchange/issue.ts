/**
 * What the AS and TGS exchanges share (RFC 4120 §3.1.3, §3.3.3): reading
 * the request into the log record, sealing the new ticket in the service's
 * key, and the EncKdcRepPart that repeats the ticket's contents for the
 * client (§5.4.2).
 */
import { ErrorCode, KeyUsage, encodeEncTicketPart, getEnctype } from '@kpop/common';
import type { EncKdcRepPart, EncTicketPart, KdcReq, PrincipalName, Ticket } from '@kpop/common';
import type { PrincipalKey } from '../db/types.js';
import type { RequestInfo } from './context.js';
import { Status, fail } from './status.js';

/** Record what the log line says about the request; refuse another protocol version (§5.4.1 pvno). */
export function beginExchange(info: RequestInfo, req: KdcReq, msgType: 'AS_REQ' | 'TGS_REQ'): void {
  const body = req.reqBody;
  info.msgType = msgType;
  info.realm = body.realm;
  info.reqEtypes = body.etype;
  if (body.sname) info.sname = body.sname;
  if (req.pvno !== 5) fail(ErrorCode.KDC_ERR_BAD_PVNO, Status.BAD_PVNO);
}

/** §5.3: the ticket, its EncTicketPart sealed in the service's key with usage 2. */
export function sealTicket(realm: string, sname: PrincipalName, tkey: PrincipalKey, etp: EncTicketPart): Ticket {
  return {
    tktVno: 5,
    realm,
    sname,
    encPart: { etype: tkey.etype, kvno: tkey.kvno, cipher: getEnctype(tkey.etype).encrypt(tkey.key, KeyUsage.KDC_REP_TICKET, encodeEncTicketPart(etp)) },
  };
}

/** §5.4.2: the reply part the client reads: the ticket's key, flags and times, and the request's nonce. */
export function replyPart(etp: EncTicketPart, nonce: number, srealm: string, sname: PrincipalName): EncKdcRepPart {
  const part: EncKdcRepPart = {
    key: etp.key,
    // No last-request information is kept (lr-type 0, MIT's answer too).
    lastReq: [{ lrType: 0, lrValue: new Date(0) }],
    nonce,
    flags: etp.flags,
    authtime: etp.authtime,
    endtime: etp.endtime,
    srealm,
    sname,
  };
  if (etp.starttime) part.starttime = etp.starttime;
  if (etp.renewTill) part.renewTill = etp.renewTill;
  if (etp.caddr) part.caddr = etp.caddr;
  return part;
}
