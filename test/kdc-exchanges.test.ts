/**
 * The AS and TGS exchanges through the request handler, on a realm from
 * startTestKdc: enctype choice, pre-authentication, lifetimes, options and
 * their bounds, account checks, and each failure's code and status token
 * (RFC 4120 §3.1, §3.3). Interop with MIT's own tools is in
 * kdc-mit-clients.test.ts; these cover the paths MIT's tools don't reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KdcOptions, KeyUsage, PaDataType, TicketFlags, decodeEncTicketPart, decodeEtypeInfo2, decodeKrbErrorMessage, decodeMethodData, getEnctype } from '@kpop/common';
import type { EncKdcRepPart, EncryptionKey, Ticket } from '@kpop/common';
import { buildAsReq, buildTgsReq, handleRequest, openAsRep, openTgsRep, startTestKdc } from '@kpop/kdc';
import type { AsReqSpec, HandlerContext, TestKdc, TgsReqSpec } from '@kpop/kdc';

const REALM = 'EXCH.TEST';
const T0 = new Date('2030-01-01T00:00:00Z');
let kdc: TestKdc;
let ctx: HandlerContext;
const records: Record<string, unknown>[] = [];

function keyOf(name: string[], etype = 18): EncryptionKey {
  const rec = kdc.db.lookup(name)!;
  const k = rec.keys.find((x) => x.kvno === rec.kvno && x.etype === etype)!;
  return { keytype: etype, keyvalue: k.key };
}

function at(now: Date): HandlerContext {
  return { ...ctx, now: () => now };
}

function as(spec: Partial<AsReqSpec> & { user?: string }, c: HandlerContext = ctx): Uint8Array {
  const user = spec.user ?? 'alice';
  const { user: _u, ...rest } = spec;
  return handleRequest(buildAsReq({ realm: REALM, cname: [user], now: c.now(), preauthKey: keyOf([user], (spec.etypes ?? [18])[0]), etypes: [18], ...rest }), c)!;
}

function err(reply: Uint8Array) {
  expect(reply[0]).toBe(0x7e);
  return decodeKrbErrorMessage(reply);
}

interface Tgt {
  ticket: Ticket;
  sessionKey: EncryptionKey;
  part: EncKdcRepPart;
}

function tgt(spec: Partial<AsReqSpec> = {}, c: HandlerContext = ctx): Tgt {
  const etype = (spec.etypes ?? [18])[0]!;
  const { rep, part } = openAsRep(as(spec, c), keyOf([spec.cname?.[0] ?? 'alice'], etype));
  return { ticket: rep.ticket, sessionKey: part.key, part };
}

function tgs(t: Tgt, spec: Partial<TgsReqSpec> = {}, c: HandlerContext = ctx): Uint8Array {
  return handleRequest(buildTgsReq({ realm: REALM, ticket: t.ticket, sessionKey: t.sessionKey, crealm: REALM, cname: { nameType: 1, nameString: ['alice'] }, sname: ['pop', 'localhost'], now: c.now(), ...spec }), c)!;
}

function openTicket(ticket: Ticket, owner: string[]) {
  const k = keyOf(owner, ticket.encPart.etype);
  return decodeEncTicketPart(getEnctype(k.keytype).decrypt(k.keyvalue, KeyUsage.KDC_REP_TICKET, ticket.encPart.cipher));
}

beforeAll(async () => {
  kdc = await startTestKdc({
    realm: REALM,
    principals: {
      alice: 'alice-pw',
      bob: 'bob-pw',
      carol: 'carol-pw',
      dave: 'dave-pw',
      nopre: { password: 'np', requiresPreauth: false },
      'pop/localhost': { randkey: true },
      'sha1only/host': { randkey: true, enctypes: [18, 17] },
      short: { password: 'short-pw', maxLife: 3600, maxRenew: 7200 },
      'brief/host': { randkey: true, maxLife: 600 },
    },
    log: (r) => records.push(r),
  });
  ctx = { ...kdc.server.context, now: () => T0 };
});
afterAll(async () => kdc?.stop());

describe('AS exchange', () => {
  it('PREAUTH_REQUIRED lists ETYPE-INFO2 in the client\'s order, with salts', () => {
    const reply = handleRequest(buildAsReq({ realm: REALM, cname: ['alice'], etypes: [20, 23, 17], now: T0 }), ctx)!;
    const e = err(reply);
    expect(e.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_REQUIRED);
    const info = decodeEtypeInfo2(decodeMethodData(e.eData!).find((p) => p.padataType === PaDataType.PA_ETYPE_INFO2)!.padataValue);
    expect(info.map((x) => x.etype)).toEqual([20, 17]);
    expect(info.every((x) => x.salt === `${REALM}alice`)).toBe(true);
  });

  it.each([17, 18, 19, 20])('etype %i alone: reply key, session key and TGT all in what the client asked', (etype) => {
    const reply = as({ etypes: [etype] });
    const { rep, part } = openAsRep(reply, keyOf(['alice'], etype));
    expect(rep.encPart.etype).toBe(etype);
    expect(part.key.keytype).toBe(etype);
    expect(records.at(-1)).toMatchObject({ status: 'ISSUE', repEtype: etype, sesEtype: etype });
  });

  it('ETYPE_NOSUPP when the client offers nothing we have', () => {
    const e = err(handleRequest(buildAsReq({ realm: REALM, cname: ['alice'], etypes: [23, 16], now: T0 }), ctx)!);
    expect(e.errorCode).toBe(ErrorCode.KDC_ERR_ETYPE_NOSUPP);
    expect(records.at(-1)).toMatchObject({ status: 'ETYPE_NOSUPP' });
  });

  it('S_PRINCIPAL_UNKNOWN for an unknown service, C_PRINCIPAL_UNKNOWN for another realm', () => {
    expect(err(as({ sname: ['nosuch', 'svc'] })).errorCode).toBe(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN);
    expect(err(handleRequest(buildAsReq({ realm: 'OTHER.TEST', cname: ['alice'], now: T0 }), ctx)!).errorCode).toBe(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN);
  });

  it('a principal without requires_preauth gets a ticket without pre-authentication (no PRE_AUTHENT flag)', () => {
    const reply = handleRequest(buildAsReq({ realm: REALM, cname: ['nopre'], etypes: [18], now: T0 }), ctx)!;
    const { part } = openAsRep(reply, keyOf(['nopre']));
    expect(part.flags & TicketFlags.PRE_AUTHENT).toBe(0);
    expect(part.flags & TicketFlags.INITIAL).toBe(TicketFlags.INITIAL);
  });

  it('lifetimes: till clamped to max_life (10 h); RENEWABLE-OK then makes it renewable up to till', () => {
    const till = new Date(T0.getTime() + 3 * 86400_000);
    const { part } = tgt({ till, kdcOptions: KdcOptions.RENEWABLE_OK });
    expect(part.endtime.getTime()).toBe(T0.getTime() + 36000_000);
    expect(part.flags & TicketFlags.RENEWABLE).toBe(TicketFlags.RENEWABLE);
    expect(part.renewTill!.getTime()).toBe(till.getTime());
  });

  it('lifetimes: a principal\'s own max_life and max_renew bound its tickets', () => {
    const { part } = tgt({ cname: ['short'], user: 'short', kdcOptions: KdcOptions.RENEWABLE, rtime: new Date(0) } as Partial<AsReqSpec>);
    expect(part.endtime.getTime()).toBe(T0.getTime() + 3600_000);
    expect(part.renewTill!.getTime()).toBe(T0.getTime() + 7200_000);
  });

  it('lifetimes: RENEWABLE with an infinite rtime is clamped to max_renew (7 d)', () => {
    const { part } = tgt({ kdcOptions: KdcOptions.RENEWABLE, rtime: new Date(0) });
    expect(part.renewTill!.getTime()).toBe(T0.getTime() + 7 * 86400_000);
  });

  it('FORWARDABLE and PROXIABLE are granted when asked; TGS-only options are BADOPTION', () => {
    const { part } = tgt({ kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.PROXIABLE });
    expect(part.flags & (TicketFlags.FORWARDABLE | TicketFlags.PROXIABLE)).toBe(TicketFlags.FORWARDABLE | TicketFlags.PROXIABLE);
    expect(err(as({ kdcOptions: KdcOptions.FORWARDED })).errorCode).toBe(ErrorCode.KDC_ERR_BADOPTION);
    expect(err(as({ kdcOptions: KdcOptions.RENEW })).errorCode).toBe(ErrorCode.KDC_ERR_BADOPTION);
  });

  it('postdating: a future from without POSTDATED is CANNOT_POSTDATE; with it the ticket is POSTDATED and INVALID', () => {
    const from = new Date(T0.getTime() + 3600_000);
    expect(err(as({ from })).errorCode).toBe(ErrorCode.KDC_ERR_CANNOT_POSTDATE);
    const { part } = tgt({ from, kdcOptions: KdcOptions.ALLOW_POSTDATE | KdcOptions.POSTDATED });
    expect(part.starttime!.getTime()).toBe(from.getTime());
    expect(part.flags & (TicketFlags.POSTDATED | TicketFlags.INVALID | TicketFlags.MAY_POSTDATE)).toBe(TicketFlags.POSTDATED | TicketFlags.INVALID | TicketFlags.MAY_POSTDATE);
  });

  it('a till before the start is NEVER_VALID', () => {
    expect(err(as({ till: new Date(T0.getTime() - 3600_000) })).errorCode).toBe(ErrorCode.KDC_ERR_NEVER_VALID);
  });

  it('a wrong timestamp key is PREAUTH_FAILED and counted; a timestamp 10 min off is SKEW', () => {
    const before = kdc.db.lookup(['bob'])!.failCount;
    const e = err(handleRequest(buildAsReq({ realm: REALM, cname: ['bob'], etypes: [18], now: T0, preauthKey: keyOf(['alice']) }), ctx)!);
    expect(e.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_FAILED);
    expect(kdc.db.lookup(['bob'])!.failCount).toBe(before + 1);
    const skewed = handleRequest(buildAsReq({ realm: REALM, cname: ['bob'], etypes: [18], now: new Date(T0.getTime() - 600_000), preauthKey: keyOf(['bob']) }), ctx)!;
    const s = err(skewed);
    expect(s.errorCode).toBe(ErrorCode.KRB_AP_ERR_SKEW);
    expect(s.stime.getTime()).toBe(T0.getTime());
  });

  it('CLIENT_REVOKED for a disabled, an expired or a locked-out client; KEY_EXPIRED for an expired password', () => {
    kdc.db.modifyPrincipal('carol', { attributes: { disallowAllTix: true } });
    expect(err(as({ user: 'carol' })).errorCode).toBe(ErrorCode.KDC_ERR_CLIENT_REVOKED);
    kdc.db.modifyPrincipal('carol', { attributes: { disallowAllTix: false }, expiresAt: new Date(T0.getTime() - 1000) });
    expect(err(as({ user: 'carol' })).errorCode).toBe(ErrorCode.KDC_ERR_CLIENT_REVOKED);
    expect(records.at(-1)).toMatchObject({ status: 'CLIENT_REVOKED', code: 18 });
    kdc.db.modifyPrincipal('carol', { expiresAt: null, pwExpiresAt: new Date(T0.getTime() - 1000) });
    expect(err(as({ user: 'carol' })).errorCode).toBe(ErrorCode.KDC_ERR_KEY_EXPIRED);
    kdc.db.modifyPrincipal('carol', { pwExpiresAt: null });
    expect(as({ user: 'carol' })[0]).toBe(0x6b);

    kdc.db.updateSettings({ lockout: { maxFailures: 2, failureWindow: 600, lockoutDuration: 600 } });
    try {
      for (let i = 0; i < 2; i++) handleRequest(buildAsReq({ realm: REALM, cname: ['dave'], etypes: [18], now: T0, preauthKey: keyOf(['alice']) }), ctx);
      // Even the right key is refused while locked out.
      expect(err(as({ user: 'dave' })).errorCode).toBe(ErrorCode.KDC_ERR_CLIENT_REVOKED);
      expect(as({ user: 'dave' }, at(new Date(T0.getTime() + 700_000)))[0]).toBe(0x6b);
    } finally {
      kdc.db.updateSettings({ lockout: { maxFailures: 0 } });
    }
  });
});

describe('TGS exchange', () => {
  it('a service ticket under the service key; reply in the session key (usage 8) or the subkey (usage 9)', () => {
    const t = tgt({ kdcOptions: KdcOptions.FORWARDABLE });
    const { rep, part } = openTgsRep(tgs(t), t.sessionKey, KeyUsage.TGS_REP_ENCPART_SESSKEY);
    const etp = openTicket(rep.ticket, ['pop', 'localhost']);
    expect(etp.key.keyvalue).toEqual(part.key.keyvalue);
    expect(etp.cname.nameString).toEqual(['alice']);
    expect(part.authtime.getTime()).toBe(t.part.authtime.getTime());
    expect(part.endtime.getTime()).toBeLessThanOrEqual(t.part.endtime.getTime());
    expect(part.flags & TicketFlags.FORWARDABLE).toBe(TicketFlags.FORWARDABLE);
    expect(part.flags & TicketFlags.PRE_AUTHENT).toBe(TicketFlags.PRE_AUTHENT);
    const subkey = { keytype: 18, keyvalue: new Uint8Array(32).fill(7) };
    const viaSub = openTgsRep(tgs(t, { subkey }), subkey, KeyUsage.TGS_REP_ENCPART_SUBKEY);
    expect(viaSub.part.sname.nameString).toEqual(['pop', 'localhost']);
  });

  it('flags bounded by the TGT: no FORWARDABLE from a non-forwardable TGT, FORWARDED refused', () => {
    const t = tgt({ kdcOptions: 0 });
    const { part } = openTgsRep(tgs(t, { kdcOptions: KdcOptions.FORWARDABLE }), t.sessionKey);
    expect(part.flags & TicketFlags.FORWARDABLE).toBe(0);
    expect(err(tgs(t, { kdcOptions: KdcOptions.FORWARDED })).errorCode).toBe(ErrorCode.KDC_ERR_BADOPTION);
    expect(err(tgs(t, { kdcOptions: KdcOptions.RENEW, sname: ['krbtgt', REALM] })).errorCode).toBe(ErrorCode.KDC_ERR_BADOPTION);
  });

  it('a service\'s max_life bounds its tickets', () => {
    const t = tgt();
    const { part } = openTgsRep(tgs(t, { sname: ['brief', 'host'] }), t.sessionKey);
    expect(part.endtime.getTime()).toBe(T0.getTime() + 600_000);
  });

  it('session key etype from the client\'s list that the service has; ETYPE_NOSUPP otherwise', () => {
    const t = tgt();
    expect(openTgsRep(tgs(t, { sname: ['sha1only', 'host'], etypes: [20, 17] }), t.sessionKey).part.key.keytype).toBe(17);
    expect(err(tgs(t, { sname: ['sha1only', 'host'], etypes: [20, 19] })).errorCode).toBe(ErrorCode.KDC_ERR_ETYPE_NOSUPP);
  });

  it('a req-body changed after the checksum is MODIFIED; an unknown service is S_PRINCIPAL_UNKNOWN', () => {
    const t = tgt();
    const e = err(tgs(t, { mutateBody: (b) => void (b.till = new Date(b.till.getTime() + 1000)) }));
    expect(e.errorCode).toBe(ErrorCode.KRB_AP_ERR_MODIFIED);
    expect(records.at(-1)).toMatchObject({ msg: 'TGS_REQ', status: 'MODIFIED', cname: `alice@${REALM}` });
    expect(err(tgs(t, { sname: ['nosuch', 'svc'] })).errorCode).toBe(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN);
  });

  it('an authenticator naming someone else is BADMATCH; one 10 minutes off is SKEW', () => {
    const t = tgt();
    expect(err(tgs(t, { cname: { nameType: 1, nameString: ['bob'] } })).errorCode).toBe(ErrorCode.KRB_AP_ERR_BADMATCH);
    const off = handleRequest(buildTgsReq({ realm: REALM, ticket: t.ticket, sessionKey: t.sessionKey, crealm: REALM, cname: { nameType: 1, nameString: ['alice'] }, sname: ['pop', 'localhost'], now: new Date(T0.getTime() + 600_000) }), ctx)!;
    expect(err(off).errorCode).toBe(ErrorCode.KRB_AP_ERR_SKEW);
  });

  it('an expired TGT is TKT_EXPIRED; a tampered TGT is BAD_INTEGRITY; an unknown kvno is BADKEYVER', () => {
    const t = tgt();
    const later = at(new Date(T0.getTime() + 11 * 3600_000));
    expect(err(tgs(t, {}, later)).errorCode).toBe(ErrorCode.KRB_AP_ERR_TKT_EXPIRED);
    const cipher = Uint8Array.from(t.ticket.encPart.cipher);
    cipher[20]! ^= 1;
    expect(err(tgs({ ...t, ticket: { ...t.ticket, encPart: { ...t.ticket.encPart, cipher } } })).errorCode).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
    expect(err(tgs({ ...t, ticket: { ...t.ticket, encPart: { ...t.ticket.encPart, kvno: 99 } } })).errorCode).toBe(ErrorCode.KRB_AP_ERR_BADKEYVER);
  });

  it('RENEW: a renewable TGT is reissued with new times, the same authtime, not past renew-till', () => {
    const t = tgt({ kdcOptions: KdcOptions.RENEWABLE, rtime: new Date(T0.getTime() + 2 * 86400_000) });
    const later = new Date(T0.getTime() + 5 * 3600_000);
    const { part } = openTgsRep(tgs(t, { kdcOptions: KdcOptions.RENEW, sname: ['krbtgt', REALM], snameType: 2 }, at(later)), t.sessionKey);
    expect(part.authtime.getTime()).toBe(T0.getTime());
    expect(part.starttime!.getTime()).toBe(later.getTime());
    expect(part.endtime.getTime()).toBe(later.getTime() + 36000_000);
    expect(part.renewTill!.getTime()).toBe(T0.getTime() + 2 * 86400_000);
    expect(part.key.keyvalue).not.toEqual(t.sessionKey.keyvalue);
  });

  it('VALIDATE: a postdated TGT is refused before its start, then validated', () => {
    const from = new Date(T0.getTime() + 3600_000);
    const t = tgt({ from, kdcOptions: KdcOptions.ALLOW_POSTDATE | KdcOptions.POSTDATED });
    expect(err(tgs(t)).errorCode).toBe(ErrorCode.KRB_AP_ERR_TKT_NYV);
    const after = at(new Date(from.getTime() + 60_000));
    const { part } = openTgsRep(tgs(t, { kdcOptions: KdcOptions.VALIDATE, sname: ['krbtgt', REALM] }, after), t.sessionKey);
    expect(part.flags & TicketFlags.INVALID).toBe(0);
    expect(part.starttime!.getTime()).toBe(from.getTime());
  });

  it('a key change keeps TGTs issued under the old kvno working', () => {
    const t = tgt();
    const oldKvno = t.ticket.encPart.kvno;
    kdc.db.changePassword(`krbtgt/${REALM}`, { randkey: true });
    const { rep } = openTgsRep(tgs(t), t.sessionKey);
    expect(rep.ticket.sname.nameString).toEqual(['pop', 'localhost']);
    const fresh = tgt();
    expect(fresh.ticket.encPart.kvno).toBe(oldKvno! + 1);
  });
});
