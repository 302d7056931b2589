// The genuine MIT krb5 1.20 captures of test/fixtures/mit: each decodes into
// the fields its tshark .txt lists and re-encodes to the identical bytes. The
// encrypted parts are opened with the keys of the fixtures README and their
// plaintexts decoded and re-encoded too.
import { describe, expect, it } from 'vitest';
import { decryptData, verifyChecksum } from '../crypto/index.js';
import { DerError } from '../der/index.js';
import {
  KrbError,
  decodeAdIfRelevant,
  decodeApReq,
  decodeAsRep,
  decodeAsReq,
  decodeAuthenticator,
  decodeEncAsRepPart,
  decodeEncKdcRepPart,
  decodeEncTicketPart,
  decodeEncryptedData,
  decodeEtypeInfo2,
  decodeKdcReqBody,
  decodeKrbErrorMessage,
  decodeMessage,
  decodeMethodData,
  decodePaEncTsEnc,
  decodeTgsRep,
  decodeTgsReq,
  encodeApReq,
  encodeAuthenticator,
  encodeEncTgsRepPart,
  encodeEncTicketPart,
  encodeEtypeInfo2,
  encodeKdcReqBody,
  encodeKrbErrorMessage,
  encodeMethodData,
  encodePaEncTsEnc,
  krbErrorFromMessage,
  krbErrorToMessage,
  decodePaFxFastRequest,
  decodePaFxFastReply,
  decodeKrbFastReq,
  decodeKrbFastResponse,
  encodePaFxFastRequest,
  encodePaFxFastReply,
  encodeKrbFastReq,
  encodeKrbFastResponse,
  encodeTicket,
} from './index.js';
import type { EncryptionKey } from './types.js';
import { mitCaptureNames, mitFixture, reencode } from './testing/mit-captures.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const aes256 = (h: string): EncryptionKey => ({ keytype: 18, keyvalue: hex(h) });
const keys = {
  alice: aes256('7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a'),
  krbtgt: aes256('cdc4b86fc9fe9bb4c7492b52adf5c63758aae1a1057ee002a0636a57c148f2e1'),
  pop: aes256('38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e'),
  tgtSession: aes256('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a'),
  subkey: aes256('a8cf2f64afa52d76adb4df01419dfa07530406472f3f2477b9d5e86a12d7e157'),
  strengthenedReply: aes256('b4316ddd01d1d484fcb82a3b0d914ec6380ccd96dd632146fc597c3d1fe3b0e9'),
  popSession: aes256('d3d6109819ca7bb974172b00fb0a1e8339b59543c2891f71738e3b2b8b4b255f'),
  armor: aes256('208407e0569ea7adc639e68f71836c81a26bd768942badf4083833ed1b57ecb8'),
  strengthen: aes256('f2d4105272a19a793518405d9e9f52091ec12af12139ca427f273ce94258f2a4'),
};
const at = (iso: string) => new Date(iso);
const authtime = at('2026-11-29T06:11:57Z');
const endtime = at('2026-11-29T16:11:57Z');
const alice = { nameType: 1, nameString: ['alice'] };
const krbtgt = { nameType: 2, nameString: ['krbtgt', 'LAB.TEST'] };
const mitEtypes = [18, 17, 20, 19, 16, 23, 25, 26];

describe('every MIT capture', () => {
  it('has 16 captures to check', () => expect(mitCaptureNames).toHaveLength(16));
  for (const name of mitCaptureNames) {
    it(`${name} decodes and re-encodes to the identical bytes`, () => {
      const bytes = mitFixture(name);
      const m = decodeMessage(bytes);
      expect(m.pvno).toBe(5);
      expect(m.msgType).toBe(bytes[0]! & 0x1f);
      expect(toHex(reencode(m))).toBe(toHex(bytes));
    });
  }
});

describe('01 AS-REQ without preauth', () => {
  const bytes = mitFixture('01-alice-AS-REQ.hex');
  const m = decodeAsReq(bytes);
  it('has the fields tshark lists', () => {
    expect(m.padata).toEqual([
      { padataType: 150, padataValue: new Uint8Array(0) },
      { padataType: 149, padataValue: new Uint8Array(0) },
    ]);
    const { reqBody } = m;
    expect(reqBody.kdcOptions).toBe(0x40000010);
    expect(reqBody.cname).toEqual(alice);
    expect(reqBody.realm).toBe('LAB.TEST');
    expect(reqBody.sname).toEqual(krbtgt);
    expect(reqBody.till).toEqual(endtime);
    expect(reqBody.nonce).toBe(1307434981);
    expect(reqBody.etype).toEqual(mitEtypes);
    for (const absent of ['from', 'rtime', 'addresses', 'encAuthorizationData', 'additionalTickets']) expect(reqBody).not.toHaveProperty(absent);
  });
  it('keeps the req-body bytes as sent', () => {
    const body = m.reqBodyBytes!;
    expect(body[0]).toBe(0x30);
    expect(toHex(bytes)).toContain(toHex(body));
    expect(decodeKdcReqBody(body)).toEqual(m.reqBody);
    expect(toHex(encodeKdcReqBody(m.reqBody))).toBe(toHex(body));
  });
  it('is not a TGS-REQ', () => {
    expect(() => decodeTgsReq(bytes)).toThrow(DerError);
  });
});

describe('02 KRB-ERROR PREAUTH_REQUIRED with METHOD-DATA', () => {
  const m = decodeKrbErrorMessage(mitFixture('02-alice-KRB-ERROR-e25.hex'));
  it('has the fields tshark lists', () => {
    expect(m).toMatchObject({ pvno: 5, msgType: 30, stime: authtime, susec: 445033, errorCode: 25, crealm: 'LAB.TEST', cname: alice, realm: 'LAB.TEST', sname: krbtgt, eText: 'NEEDED_PREAUTH' });
    expect(m).not.toHaveProperty('ctime');
    expect(m).not.toHaveProperty('cusec');
  });
  it('carries METHOD-DATA with the ETYPE-INFO2 salt and the FAST cookie', () => {
    const md = decodeMethodData(m.eData!);
    expect(md.map((p) => p.padataType)).toEqual([136, 19, 2, 133]);
    expect(md[0]!.padataValue).toHaveLength(0);
    expect(Buffer.from(md[3]!.padataValue).toString()).toBe('MIT');
    expect(toHex(md[1]!.padataValue)).toBe('30183016a003020112a10f1b0d4c41422e54455354616c696365');
    const info = decodeEtypeInfo2(md[1]!.padataValue);
    expect(info).toEqual([{ etype: 18, salt: 'LAB.TESTalice' }]);
    expect(toHex(encodeEtypeInfo2(info))).toBe(toHex(md[1]!.padataValue));
    expect(toHex(encodeMethodData(md))).toBe(toHex(m.eData!));
  });
  it('becomes a KrbError with code, e-text, e-data and the server clock', () => {
    const e = krbErrorFromMessage(m);
    expect(e).toBeInstanceOf(KrbError);
    expect(e.code).toBe(25);
    expect(e.codeName).toBe('KDC_ERR_PREAUTH_REQUIRED');
    expect(e.eText).toBe('NEEDED_PREAUTH');
    expect(e.eData).toEqual(m.eData);
    expect(e.serverTime).toEqual(new Date(authtime.getTime() + 445));
  });
  it('is what krbErrorToMessage builds from that KrbError, byte for byte', () => {
    const e = new KrbError(25, 'client must pre-authenticate', { eText: 'NEEDED_PREAUTH', eData: m.eData! });
    const back = krbErrorToMessage(e, { realm: 'LAB.TEST', sname: krbtgt, stime: authtime, susec: 445033, crealm: 'LAB.TEST', cname: alice });
    expect(toHex(encodeKrbErrorMessage(back))).toBe(toHex(mitFixture('02-alice-KRB-ERROR-e25.hex')));
  });
});

describe('14 and 16: the other KRB-ERRORs', () => {
  it('14 is PREAUTH_FAILED with the same METHOD-DATA as 02', () => {
    const m = decodeKrbErrorMessage(mitFixture('14-alice-KRB-ERROR-e24.hex'));
    expect(m.errorCode).toBe(24);
    expect(m.eText).toBe('PREAUTH_FAILED');
    expect(m.eData).toEqual(decodeKrbErrorMessage(mitFixture('02-alice-KRB-ERROR-e25.hex')).eData);
  });
  it('16 is C_PRINCIPAL_UNKNOWN without e-data', () => {
    const m = decodeKrbErrorMessage(mitFixture('16-nosuchuser-KRB-ERROR-e6.hex'));
    expect(m).toMatchObject({ errorCode: 6, eText: 'CLIENT_NOT_FOUND', cname: { nameType: 1, nameString: ['nosuchuser'] } });
    expect(m).not.toHaveProperty('eData');
  });
});

describe('03 AS-REQ with PA-ENC-TIMESTAMP', () => {
  const m = decodeAsReq(mitFixture('03-alice-AS-REQ.hex'));
  it('has the padata and body tshark lists', () => {
    expect(m.padata!.map((p) => p.padataType)).toEqual([133, 2, 150, 149]);
    expect(Buffer.from(m.padata![0]!.padataValue).toString()).toBe('MIT');
    expect(m.reqBody.nonce).toBe(1246662440);
    expect(m.reqBody.etype).toEqual(mitEtypes);
  });
  it('PA-ENC-TIMESTAMP opens with alice\'s key (usage 1) to the README\'s PA-ENC-TS-ENC', () => {
    const encTs = decodeEncryptedData(m.padata![1]!.padataValue);
    expect(encTs.etype).toBe(18);
    expect(encTs.kvno).toBeUndefined();
    const plain = decryptData(keys.alice, 1, encTs);
    expect(toHex(plain)).toBe('301aa011180f32303236313132393036313135375aa105020306ca70');
    const ts = decodePaEncTsEnc(plain);
    expect(ts).toEqual({ patimestamp: authtime, pausec: 445040 });
    expect(toHex(encodePaEncTsEnc(ts))).toBe(toHex(plain));
  });
  it('13\'s PA-ENC-TS-ENC plaintext from the README decodes', () => {
    expect(decodePaEncTsEnc(hex('301aa011180f32303236313132393036313135375aa105020306ca73'))).toEqual({ patimestamp: authtime, pausec: 445043 });
  });
});

describe('04 AS-REP', () => {
  const m = decodeAsRep(mitFixture('04-alice-AS-REP.hex'));
  it('has the fields tshark lists', () => {
    expect(m.padata).toHaveLength(1);
    expect(m.padata![0]!.padataType).toBe(19);
    expect(decodeEtypeInfo2(m.padata![0]!.padataValue)).toEqual([{ etype: 18, salt: 'LAB.TESTalice' }]);
    expect(m.crealm).toBe('LAB.TEST');
    expect(m.cname).toEqual(alice);
    expect(m.ticket).toMatchObject({ tktVno: 5, realm: 'LAB.TEST', sname: krbtgt, encPart: { etype: 18, kvno: 1 } });
    expect(m.encPart.etype).toBe(18);
    expect(m.encPart.kvno).toBeUndefined();
  });
  it('the TGT opens with the krbtgt key (usage 2) to an EncTicketPart that re-encodes identically', () => {
    const plain = decryptData(keys.krbtgt, 2, m.ticket.encPart);
    expect(plain).toHaveLength(290);
    const etp = decodeEncTicketPart(plain);
    expect(etp).toMatchObject({ flags: 0x40610000, key: keys.tgtSession, crealm: 'LAB.TEST', cname: alice, authtime, endtime });
    expect(etp.transited).toEqual({ trType: 1, contents: new Uint8Array(0) });
    for (const absent of ['starttime', 'renewTill', 'caddr']) expect(etp).not.toHaveProperty(absent);
    expect(etp.authorizationData).toHaveLength(1);
    expect(etp.authorizationData![0]!.adType).toBe(1);
    const inner = decodeAdIfRelevant(etp.authorizationData![0]!.adData);
    expect(inner.map((a) => [a.adType, a.adData.length])).toEqual([[128, 112]]);
    expect(toHex(encodeEncTicketPart(etp))).toBe(toHex(plain));
  });
  it('the enc-part opens with alice\'s key (usage 3) to EncTGSRepPart (0x7a), as MIT sends', () => {
    const plain = decryptData(keys.alice, 3, m.encPart);
    expect(plain[0]).toBe(0x7a);
    expect(plain).toHaveLength(230);
    const part = decodeEncKdcRepPart(plain);
    expect(part).toMatchObject({ key: keys.tgtSession, nonce: 1246662440, flags: 0x40610000, authtime, endtime, srealm: 'LAB.TEST', sname: krbtgt });
    expect(part.lastReq).toEqual([{ lrType: 0, lrValue: new Date(0) }]);
    expect(part.encryptedPaData!.map((p) => p.padataType)).toEqual([149, 136]);
    for (const absent of ['keyExpiration', 'starttime', 'renewTill', 'caddr']) expect(part).not.toHaveProperty(absent);
    expect(toHex(encodeEncTgsRepPart(part))).toBe(toHex(plain));
    expect(() => decodeEncAsRepPart(plain)).toThrow(/expected \[APPLICATION 25\]/);
  });
});

describe('05 TGS-REQ (FAST-armoured)', () => {
  const bytes = mitFixture('05-alice-TGS-REQ.hex');
  const m = decodeTgsReq(bytes);
  it('has the padata and body tshark lists', () => {
    expect(m.padata!.map((p) => p.padataType)).toEqual([1, 136]);
    expect(m.reqBody).toMatchObject({ kdcOptions: 0x40010000, realm: 'LAB.TEST', sname: { nameType: 1, nameString: ['pop', 'localhost'] }, till: endtime, nonce: 288786179, etype: mitEtypes });
    expect(m.reqBody).not.toHaveProperty('cname');
    expect(m.reqBodyBytes).toHaveLength(107);
  });
  it('PA-TGS-REQ holds an AP-REQ with the TGT whose authenticator opens with the session key (usage 7)', () => {
    const apReqBytes = m.padata![0]!.padataValue;
    const ap = decodeApReq(apReqBytes);
    expect(ap).toMatchObject({ pvno: 5, msgType: 14, apOptions: 0, ticket: { realm: 'LAB.TEST', sname: krbtgt, encPart: { etype: 18, kvno: 1 } } });
    expect(toHex(encodeApReq(ap))).toBe(toHex(apReqBytes));
    const plain = decryptData(keys.tgtSession, 7, ap.authenticator);
    expect(plain).toHaveLength(139);
    const auth = decodeAuthenticator(plain);
    expect(auth).toMatchObject({ authenticatorVno: 5, crealm: 'LAB.TEST', cname: alice, cusec: 460032, ctime: authtime, subkey: keys.subkey });
    expect(toHex(auth.cksum!.checksum)).toBe('bab39619a416f712d8469a15');
    expect(auth).not.toHaveProperty('seqNumber');
    expect(auth).not.toHaveProperty('authorizationData');
    expect(toHex(encodeAuthenticator(auth))).toBe(toHex(plain));
    // The authenticator checksum (usage 6) covers the req-body bytes the decoder kept.
    expect(verifyChecksum(keys.tgtSession, 6, m.reqBodyBytes!, auth.cksum!)).toBe(true);
  });
});

describe('06 TGS-REP (FAST-armoured)', () => {
  const m = decodeTgsRep(mitFixture('06-alice-TGS-REP.hex'));
  it('has the fields tshark lists', () => {
    expect(m.padata!.map((p) => p.padataType)).toEqual([136]);
    expect(m.cname).toEqual(alice);
    expect(m.ticket).toMatchObject({ realm: 'LAB.TEST', sname: { nameType: 1, nameString: ['pop', 'localhost'] }, encPart: { etype: 18, kvno: 2 } });
  });
  it('the service ticket opens with the pop key to an EncTicketPart', () => {
    const plain = decryptData(keys.pop, 2, m.ticket.encPart);
    const etp = decodeEncTicketPart(plain);
    expect(etp).toMatchObject({ flags: 0x40290000, key: keys.popSession, cname: alice, authtime, endtime });
    expect(toHex(encodeEncTicketPart(etp))).toBe(toHex(plain));
  });
  it('the enc-part opens with the strengthened reply key (usage 9)', () => {
    const plain = decryptData(keys.strengthenedReply, 9, m.encPart);
    const part = decodeEncKdcRepPart(plain);
    expect(part).toMatchObject({ key: keys.popSession, nonce: 288786179, flags: 0x40290000, sname: { nameType: 1, nameString: ['pop', 'localhost'] } });
    expect(toHex(encodeEncTgsRepPart(part))).toBe(toHex(plain));
  });
});

describe('05 and 06: the RFC 6113 FAST parts inside', () => {
  const req = decodeTgsReq(mitFixture('05-alice-TGS-REQ.hex'));
  const rep = decodeTgsRep(mitFixture('06-alice-TGS-REP.hex'));
  it('05 PA-FX-FAST: implicit armor, req-checksum over the PA-TGS-REQ AP-REQ (usage 50), KrbFastReq (usage 51) carrying the outer req-body', () => {
    const value = req.padata![1]!.padataValue;
    const fast = decodePaFxFastRequest(value);
    expect(toHex(encodePaFxFastRequest(fast))).toBe(toHex(value));
    const armored = fast.armoredData;
    // RFC 6113 §5.4.1.1: a TGS-REQ carries no explicit armor; the AP-REQ of PA-TGS-REQ is the armor.
    expect(armored).not.toHaveProperty('armor');
    expect(armored.reqChecksum.cksumtype).toBe(16);
    expect(toHex(armored.reqChecksum.checksum)).toBe('7d6d847239504e0c064a2a88');
    const apReq = req.padata![0]!.padataValue;
    expect(apReq).toHaveLength(615);
    expect(verifyChecksum(keys.armor, 50, apReq, armored.reqChecksum)).toBe(true);
    const plain = decryptData(keys.armor, 51, armored.encFastReq);
    const inner = decodeKrbFastReq(plain);
    expect(inner.fastOptions).toBe(0);
    expect(inner.padata).toEqual([]);
    expect(inner.reqBody).toEqual(req.reqBody);
    expect(toHex(encodeKrbFastReq(inner))).toBe(toHex(plain));
  });
  it('06 PA-FX-FAST: KrbFastResponse (usage 52) with the strengthen-key and KrbFastFinished whose ticket-checksum (usage 53) covers the Ticket', () => {
    const value = rep.padata![0]!.padataValue;
    const fast = decodePaFxFastReply(value);
    expect(toHex(encodePaFxFastReply(fast))).toBe(toHex(value));
    const plain = decryptData(keys.armor, 52, fast.armoredData.encFastRep);
    const resp = decodeKrbFastResponse(plain);
    expect(resp.padata).toEqual([]);
    expect(resp.strengthenKey).toEqual(keys.strengthen);
    expect(resp.nonce).toBe(288786179);
    expect(resp.finished).toMatchObject({ timestamp: authtime, usec: 445034, crealm: 'LAB.TEST', cname: alice });
    expect(toHex(resp.finished!.ticketChecksum.checksum)).toBe('de9d9a00b155637ef44ee7f6');
    expect(verifyChecksum(keys.armor, 53, encodeTicket(rep.ticket), resp.finished!.ticketChecksum)).toBe(true);
    expect(toHex(encodeKrbFastResponse(resp))).toBe(toHex(plain));
  });
});
