/**
 * Genuine MIT krb5 1.20 client requests (test/fixtures/mit) fed to our KDC
 * holding the same keys, its clock pinned to the capture time: the replies
 * must be what an MIT client accepts and must open with the client's keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  KeyUsage,
  PaDataType,
  TicketFlags,
  decodeEncTicketPart,
  decodeEtypeInfo2,
  decodeKrbErrorMessage,
  decodeMethodData,
  decodeTgsReq,
  getEnctype,
} from '@kpop/common';
import { Lookaside, handleRequest, openAsRep, openTgsRep } from '@kpop/kdc';
import type { HandlerContext } from '@kpop/kdc';
import { CAPTURE_TIME, MIT_KEYS, fixture, mitFixtureRealm } from './kdc-helpers.js';

let realm: ReturnType<typeof mitFixtureRealm>;
let ctx: HandlerContext;
const records: Record<string, unknown>[] = [];

beforeAll(() => {
  realm = mitFixtureRealm();
  ctx = { store: realm.db, now: () => CAPTURE_TIME, enctypes: [18, 17, 20, 19], log: (r) => records.push(r) };
});
afterAll(() => realm.cleanup());

function krbError(bytes: Uint8Array | null) {
  expect(bytes).not.toBeNull();
  expect(bytes![0]).toBe(0x7e);
  return decodeKrbErrorMessage(bytes!);
}

describe('MIT 1.20 captured requests against our KDC', () => {
  it('01 (no preauth) → PREAUTH_REQUIRED with ETYPE-INFO2 salt LAB.TESTalice and PA-ENC-TIMESTAMP', () => {
    const err = krbError(handleRequest(fixture('01-alice-AS-REQ.hex'), ctx));
    expect(err.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_REQUIRED);
    expect(err.eText).toBe('NEEDED_PREAUTH');
    expect(err.cname?.nameString).toEqual(['alice']);
    expect(err.stime.toISOString()).toBe('2026-11-29T06:11:57.000Z');
    const md = decodeMethodData(err.eData!);
    const types = md.map((p) => p.padataType);
    expect(types).toContain(PaDataType.PA_ENC_TIMESTAMP);
    expect(types).not.toContain(PaDataType.PA_FX_FAST);
    const info = decodeEtypeInfo2(md.find((p) => p.padataType === PaDataType.PA_ETYPE_INFO2)!.padataValue);
    // Ordered by the client's list (18 17 20 19 ...), only what alice has keys for.
    expect(info.map((e) => e.etype)).toEqual([18, 17]);
    expect(info[0]!.salt).toBe('LAB.TESTalice');
    expect(records.at(-1)).toMatchObject({ msg: 'AS_REQ', status: 'PREAUTH_REQUIRED', code: 25, cname: 'alice@LAB.TEST', sname: 'krbtgt/LAB.TEST@LAB.TEST' });
  });

  it('03 (PA-ENC-TIMESTAMP) → an AS-REP that alice\'s key opens with usage 3, a TGT krbtgt\'s key opens', () => {
    const reply = handleRequest(fixture('03-alice-AS-REQ.hex'), ctx)!;
    expect(reply[0]).toBe(0x6b);
    const { rep, part } = openAsRep(reply, { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 });
    expect(part.nonce).toBe(1246662440);
    expect(part.srealm).toBe('LAB.TEST');
    expect(part.sname.nameString).toEqual(['krbtgt', 'LAB.TEST']);
    expect(part.authtime.toISOString()).toBe('2026-11-29T06:11:57.000Z');
    // till 16:11:57 was within max_life: no renewable flag from renewable-ok.
    expect(part.endtime.toISOString()).toBe('2026-11-29T16:11:57.000Z');
    expect(part.flags & TicketFlags.RENEWABLE).toBe(0);
    expect(part.flags & (TicketFlags.FORWARDABLE | TicketFlags.INITIAL | TicketFlags.PRE_AUTHENT)).toBe(TicketFlags.FORWARDABLE | TicketFlags.INITIAL | TicketFlags.PRE_AUTHENT);
    // PA-ETYPE-INFO2 in the reply, as MIT's client expects.
    const pa = rep.padata!.find((p) => p.padataType === PaDataType.PA_ETYPE_INFO2)!;
    expect(decodeEtypeInfo2(pa.padataValue)).toEqual([{ etype: 18, salt: 'LAB.TESTalice' }]);
    expect(rep.ticket.encPart.kvno).toBe(1);
    const etp = decodeEncTicketPart(getEnctype(18).decrypt(MIT_KEYS.krbtgt.aes256, KeyUsage.KDC_REP_TICKET, rep.ticket.encPart.cipher));
    expect(etp.key.keyvalue).toEqual(part.key.keyvalue);
    expect(etp.cname.nameString).toEqual(['alice']);
    expect(etp.flags).toBe(part.flags);
  });

  it('09 (bench, keytab key) → an AS-REP bench\'s key opens', () => {
    const { part } = openAsRep(handleRequest(fixture('09-bench-AS-REQ.hex'), ctx)!, { keytype: 18, keyvalue: MIT_KEYS.bench.aes256 });
    expect(part.nonce).toBe(691030189);
  });

  it('13 (timestamp under the wrong password) → PREAUTH_FAILED with METHOD-DATA', () => {
    const err = krbError(handleRequest(fixture('13-alice-AS-REQ.hex'), ctx));
    expect(err.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_FAILED);
    expect(err.eText).toBe('PREAUTH_FAILED');
    expect(decodeMethodData(err.eData!).some((p) => p.padataType === PaDataType.PA_ETYPE_INFO2)).toBe(true);
    expect(records.at(-1)).toMatchObject({ status: 'PREAUTH_FAILED', code: 24 });
  });

  it('15 (unknown client) → C_PRINCIPAL_UNKNOWN without e-data', () => {
    const err = krbError(handleRequest(fixture('15-nosuchuser-AS-REQ.hex'), ctx));
    expect(err.errorCode).toBe(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN);
    expect(err.eText).toBe('CLIENT_NOT_FOUND');
    expect(err.eData).toBeUndefined();
    expect(records.at(-1)).toMatchObject({ status: 'C_PRINCIPAL_UNKNOWN', code: 6, cname: 'nosuchuser@LAB.TEST' });
  });

  it('05 (FAST-armoured TGS-REQ for pop/localhost) → a clean TGS-REP under the subkey (FAST ignored)', () => {
    const bytes = fixture('05-alice-TGS-REQ.hex');
    expect(decodeTgsReq(bytes).padata!.map((p) => p.padataType)).toContain(PaDataType.PA_FX_FAST);
    const reply = handleRequest(bytes, ctx)!;
    expect(reply[0]).toBe(0x6d);
    const { rep, part } = openTgsRep(reply, { keytype: 18, keyvalue: MIT_KEYS.tgsSubkey }, KeyUsage.TGS_REP_ENCPART_SUBKEY);
    expect(part.nonce).toBe(288786179);
    expect(part.sname.nameString).toEqual(['pop', 'localhost']);
    expect(rep.cname.nameString).toEqual(['alice']);
    const etp = decodeEncTicketPart(getEnctype(18).decrypt(MIT_KEYS.pop.aes256, KeyUsage.KDC_REP_TICKET, rep.ticket.encPart.cipher));
    expect(etp.key.keyvalue).toEqual(part.key.keyvalue);
    expect(rep.ticket.encPart.kvno).toBe(2);
    // Bounded by the TGT: same authtime, forwardable carried, end no later than the TGT's.
    expect(part.authtime.toISOString()).toBe('2026-11-29T06:11:57.000Z');
    expect(part.endtime.getTime()).toBeLessThanOrEqual(Date.parse('2026-11-29T16:11:57Z'));
    expect(part.flags & TicketFlags.FORWARDABLE).toBe(TicketFlags.FORWARDABLE);
    expect(part.flags & TicketFlags.INITIAL).toBe(0);
  });

  it('05 a day later → ticket expired (KRB_AP_ERR_TKT_EXPIRED / SKEW), never a crash', () => {
    const later = { ...ctx, now: () => new Date(CAPTURE_TIME.getTime() + 86400_000) };
    const err = krbError(handleRequest(fixture('05-alice-TGS-REQ.hex'), later));
    expect([ErrorCode.KRB_AP_ERR_SKEW, ErrorCode.KRB_AP_ERR_TKT_EXPIRED]).toContain(err.errorCode);
    expect(err.stime.getTime()).toBe(Math.floor((CAPTURE_TIME.getTime() + 86400_000) / 1000) * 1000);
  });

  it('03 with the clock 10 minutes off → SKEW with the server time, not a preauth failure', () => {
    const off = { ...ctx, now: () => new Date(CAPTURE_TIME.getTime() + 600_000) };
    const err = krbError(handleRequest(fixture('03-alice-AS-REQ.hex'), off));
    expect(err.errorCode).toBe(ErrorCode.KRB_AP_ERR_SKEW);
    expect(err.stime.toISOString()).toBe('2026-11-29T06:21:57.000Z');
  });

  it('a byte-identical retransmission of 03 gets the same reply from the lookaside cache', () => {
    const lctx: HandlerContext = { ...ctx, lookaside: new Lookaside() };
    const first = handleRequest(fixture('03-alice-AS-REQ.hex'), lctx)!;
    const again = handleRequest(fixture('03-alice-AS-REQ.hex'), lctx)!;
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    expect(lctx.lookaside!.hits).toBe(1);
    // Without the cache a second ticket (a new session key) would be issued.
    const fresh = handleRequest(fixture('03-alice-AS-REQ.hex'), ctx)!;
    expect(Buffer.from(fresh).equals(Buffer.from(first))).toBe(false);
  });
});
