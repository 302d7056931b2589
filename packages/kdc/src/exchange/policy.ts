/**
 * Ticket flags and lifetimes: pure functions over the request, the
 * principals and the realm settings (RFC 4120 §3.1.3, §3.3.3; MIT's
 * kdc_util.c get_ticket_flags / kdc_get_ticket_endtime / kdc_get_ticket_renewtime).
 */
import { ErrorCode, KdcOptions, TicketFlags } from '@kpop/common';
import type { EncTicketPart, KdcReqBody } from '@kpop/common';
import type { PrincipalRecord, RealmSettings } from '../db/types.js';
import { Status, fail } from './status.js';

export interface IssuedTimes {
  starttime: Date;
  endtime: Date;
  renewTill?: Date;
}

/** RFC 4120 §5.4.1: a till (or rtime) of 19700101000000Z means "as long as allowed". */
export function requestedOrInfinite(t: Date | undefined): number {
  return !t || t.getTime() === 0 ? Number.POSITIVE_INFINITY : t.getTime();
}

function life(seconds: number, realmDefault: number): number {
  return (seconds > 0 ? seconds : realmDefault) * 1000;
}

/** AS options that only make sense in a TGS-REQ (RFC 4120 §3.1.3). */
const AS_FORBIDDEN = KdcOptions.FORWARDED | KdcOptions.PROXY | KdcOptions.RENEW | KdcOptions.VALIDATE | KdcOptions.ENC_TKT_IN_SKEY | KdcOptions.CNAME_IN_ADDL_TKT;

/**
 * Start time: now, unless the client asks for a postdated ticket (RFC 4120
 * §3.1.3: a from in the future without POSTDATED is KDC_ERR_CANNOT_POSTDATE).
 */
function startTime(body: KdcReqBody, now: Date, skewMs: number, mayPostdate: boolean): { start: number; postdated: boolean } {
  const from = body.from?.getTime();
  if (from === undefined || from <= now.getTime() + skewMs) return { start: now.getTime(), postdated: false };
  if (!(body.kdcOptions & KdcOptions.POSTDATED)) fail(ErrorCode.KDC_ERR_CANNOT_POSTDATE, Status.CANNOT_POSTDATE, 'from in the future without POSTDATED');
  if (!mayPostdate) fail(ErrorCode.KDC_ERR_CANNOT_POSTDATE, Status.CANNOT_POSTDATE, 'postdating not allowed');
  return { start: from, postdated: true };
}

/**
 * Lifetimes clamped to the request, the principals' max_life/max_renew and
 * an upper bound (the TGT's endtime and renew-till in a TGS exchange).
 */
function clampTimes(
  body: KdcReqBody,
  start: number,
  maxLifeMs: number,
  maxRenewMs: number,
  bound: { endtime: number; renewTill: number },
  renewAllowed: boolean,
): { times: IssuedTimes; renewable: boolean } {
  const till = requestedOrInfinite(body.till);
  if (till < start) fail(ErrorCode.KDC_ERR_NEVER_VALID, Status.NEVER_VALID, 'till before start');
  const endtime = Math.min(till, start + maxLifeMs, bound.endtime);
  if (endtime <= start) fail(ErrorCode.KDC_ERR_NEVER_VALID, Status.NEVER_VALID, 'no lifetime left');
  let rtill: number | undefined;
  if (renewAllowed) {
    if (body.kdcOptions & KdcOptions.RENEWABLE) rtill = requestedOrInfinite(body.rtime);
    // RENEWABLE-OK: a renewable ticket up to till when till could not be met.
    else if (body.kdcOptions & KdcOptions.RENEWABLE_OK && till > endtime) rtill = till;
  }
  let renewTill: number | undefined;
  if (rtill !== undefined) {
    renewTill = Math.min(rtill, start + maxRenewMs, bound.renewTill);
    // MIT: a renew-till not past the endtime makes the flag pointless.
    if (renewTill <= endtime) renewTill = undefined;
  }
  const times: IssuedTimes = { starttime: new Date(start), endtime: new Date(endtime) };
  if (renewTill !== undefined) times.renewTill = new Date(renewTill);
  return { times, renewable: renewTill !== undefined };
}

/** AS exchange: flags and times of the new TGT or service ticket. */
export function asTicketPolicy(
  body: KdcReqBody,
  client: PrincipalRecord,
  server: PrincipalRecord,
  settings: RealmSettings,
  now: Date,
): { flags: number; times: IssuedTimes } {
  if (body.kdcOptions & AS_FORBIDDEN) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'TGS-only option in AS-REQ');
  const ca = client.attributes;
  const sa = server.attributes;
  const skewMs = settings.clockSkew * 1000;
  const mayPostdate = !ca.disallowPostdated && !sa.disallowPostdated;
  const { start, postdated } = startTime(body, now, skewMs, mayPostdate);
  const maxLife = Math.min(life(client.maxLife, settings.maxLife), life(server.maxLife, settings.maxLife));
  const maxRenew = Math.min(life(client.maxRenew, settings.maxRenew), life(server.maxRenew, settings.maxRenew));
  const renewAllowed = !ca.disallowRenewable && !sa.disallowRenewable && maxRenew > 0;
  const inf = Number.POSITIVE_INFINITY;
  const { times, renewable } = clampTimes(body, start, maxLife, maxRenew, { endtime: inf, renewTill: inf }, renewAllowed);

  let flags = TicketFlags.INITIAL;
  // MIT 1.18+: options the policy forbids are dropped, not refused.
  if (body.kdcOptions & KdcOptions.FORWARDABLE && !ca.disallowForwardable && !sa.disallowForwardable) flags |= TicketFlags.FORWARDABLE;
  if (body.kdcOptions & KdcOptions.PROXIABLE && !ca.disallowProxiable && !sa.disallowProxiable) flags |= TicketFlags.PROXIABLE;
  if (body.kdcOptions & KdcOptions.ALLOW_POSTDATE && mayPostdate) flags |= TicketFlags.MAY_POSTDATE;
  if (postdated) flags |= TicketFlags.POSTDATED | TicketFlags.INVALID;
  if (renewable) flags |= TicketFlags.RENEWABLE;
  return { flags: flags >>> 0, times };
}

export interface TgsPolicyInput {
  body: KdcReqBody;
  tgt: EncTicketPart;
  /** The requested service is a krbtgt (no PROXY for TGTs, RFC 4120 §2.5). */
  serverIsTgs: boolean;
  server: PrincipalRecord;
  settings: RealmSettings;
  now: Date;
}

/**
 * TGS exchange (RFC 4120 §3.3.3): options checked against the TGT's flags,
 * flags and times bounded by the TGT's. RENEW and VALIDATE reissue the
 * presented ticket with new times.
 */
export function tgsTicketPolicy(p: TgsPolicyInput): { flags: number; times: IssuedTimes } {
  const { body, tgt, server, settings, now } = p;
  const opts = body.kdcOptions;
  const tf = tgt.flags;
  const sa = server.attributes;
  const skewMs = settings.clockSkew * 1000;
  if (opts & (KdcOptions.ENC_TKT_IN_SKEY | KdcOptions.CNAME_IN_ADDL_TKT)) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'user-to-user and S4U are not supported');
  if (opts & KdcOptions.RENEW && opts & KdcOptions.VALIDATE) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'RENEW with VALIDATE');
  const tgtStart = (tgt.starttime ?? tgt.authtime).getTime();
  const tgtRenewTill = tgt.renewTill?.getTime() ?? 0;

  if (opts & KdcOptions.RENEW) {
    if (!(tf & TicketFlags.RENEWABLE)) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'ticket not renewable');
    if (tgtRenewTill < now.getTime()) fail(ErrorCode.KRB_AP_ERR_TKT_EXPIRED, Status.TKT_EXPIRED, 'renew-till passed');
    // RFC 4120 §3.3.3.1: same lifetime as before, not past renew-till.
    const oldLife = tgt.endtime.getTime() - tgtStart;
    const start = now.getTime();
    const endtime = Math.min(tgtRenewTill, start + oldLife);
    return { flags: tf >>> 0, times: { starttime: new Date(start), endtime: new Date(endtime), renewTill: new Date(tgtRenewTill) } };
  }
  if (opts & KdcOptions.VALIDATE) {
    if (!(tf & TicketFlags.INVALID)) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'ticket not invalid');
    if (tgtStart > now.getTime() + skewMs) fail(ErrorCode.KRB_AP_ERR_TKT_NYV, Status.TKT_NYV, 'postdated ticket not yet valid');
    const times: IssuedTimes = { starttime: new Date(tgtStart), endtime: tgt.endtime };
    if (tgt.renewTill) times.renewTill = tgt.renewTill;
    return { flags: (tf & ~TicketFlags.INVALID) >>> 0, times };
  }

  if (opts & KdcOptions.FORWARDED && !(tf & TicketFlags.FORWARDABLE)) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'FORWARDED from a non-forwardable ticket');
  if (opts & KdcOptions.PROXY && (!(tf & TicketFlags.PROXIABLE) || p.serverIsTgs)) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'PROXY not allowed');
  if (opts & (KdcOptions.ALLOW_POSTDATE | KdcOptions.POSTDATED) && !(tf & TicketFlags.MAY_POSTDATE)) fail(ErrorCode.KDC_ERR_BADOPTION, Status.BADOPTION, 'ticket may not postdate');

  const mayPostdate = !!(tf & TicketFlags.MAY_POSTDATE) && !sa.disallowPostdated;
  const { start, postdated } = startTime(body, now, skewMs, mayPostdate);
  const maxLife = life(server.maxLife, settings.maxLife);
  const maxRenew = life(server.maxRenew, settings.maxRenew);
  const renewAllowed = !!(tf & TicketFlags.RENEWABLE) && !sa.disallowRenewable;
  const { times, renewable } = clampTimes(body, start, maxLife, maxRenew, { endtime: tgt.endtime.getTime(), renewTill: tgtRenewTill }, renewAllowed);

  // Flags the TGT passes on (RFC 4120 §2.1-2.6); the rest are dropped when
  // the TGT lacks them, as MIT 1.18+ does, rather than refused.
  let flags = tf & (TicketFlags.PRE_AUTHENT | TicketFlags.HW_AUTHENT | TicketFlags.FORWARDED | TicketFlags.PROXY);
  if (opts & KdcOptions.FORWARDABLE && tf & TicketFlags.FORWARDABLE && !sa.disallowForwardable) flags |= TicketFlags.FORWARDABLE;
  if (opts & KdcOptions.FORWARDED) flags |= TicketFlags.FORWARDED;
  if (opts & KdcOptions.PROXIABLE && tf & TicketFlags.PROXIABLE && !sa.disallowProxiable) flags |= TicketFlags.PROXIABLE;
  if (opts & KdcOptions.PROXY) flags |= TicketFlags.PROXY;
  if (opts & KdcOptions.ALLOW_POSTDATE && mayPostdate) flags |= TicketFlags.MAY_POSTDATE;
  if (postdated) flags |= TicketFlags.POSTDATED | TicketFlags.INVALID;
  if (renewable) flags |= TicketFlags.RENEWABLE;
  // A local realm with no transit path: the policy check is trivially done.
  flags |= TicketFlags.TRANSITED_POLICY_CHECKED;
  return { flags: flags >>> 0, times };
}
